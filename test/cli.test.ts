/**
 * The commands end to end on the embedded sample (data/lfw-sample), in-process: training with
 * validation, checkpoints and an interrupted-then-resumed run that must end with the same
 * weights as an uninterrupted one; evaluation's JSON; clear errors for bad input.
 * Oracle: an uninterrupted run (bit-identical weights), the files' own formats, the expected messages.
 */
import { cpSync, mkdtempSync, readFileSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensors } from '../src/io/safetensors.js';
import { trainRecognizerCommand } from '../tools/train-recognizer.js';
import { evalCommand } from '../tools/eval.js';

const SAMPLE = join(__dirname, '..', 'data', 'lfw-sample');
let tmp = '';

/** Runs a command with console.log captured. */
async function run(
  fn: (args: string[]) => Promise<number>,
  args: string[],
): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  try {
    return { code: await fn(args), out: lines.join('\n') };
  } finally {
    console.log = log;
  }
}

const train = (out: string, extra: string[] = []) =>
  run(trainRecognizerCommand, [
    '--data',
    SAMPLE,
    '--people',
    'people.txt',
    '--split',
    SAMPLE,
    '--out',
    out,
    '--steps',
    '6',
    '--batch',
    '8',
    '--val-every',
    '3',
    '--ckpt-every',
    '2',
    '--log-every',
    '1',
    '--seed',
    '3',
    ...extra,
  ]);

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'synface-cli-'));
  process.env.SYNFACE_CACHE = join(tmp, 'cache');
});

describe('synface train-recognizer and eval on the embedded sample', () => {
  it('an interrupted run resumed with --resume ends with the same weights as an uninterrupted one; eval reproduces its accuracy', async () => {
    const straight = await train(join(tmp, 'a'));
    expect(straight.code).toBe(0);
    for (const f of [
      'log.jsonl',
      'curves.png',
      'checkpoint.safetensors',
      'recognizer.safetensors',
      'report.json',
    ])
      expect(existsSync(join(tmp, 'a', f)), f).toBe(true);
    const log = readFileSync(join(tmp, 'a', 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.filter((r) => r.type === 'train').map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(log.filter((r) => r.type === 'val').map((r) => r.step)).toEqual([3, 6]);

    const first = await train(join(tmp, 'b'), ['--stop-after', '4']);
    expect(first.code).toBe(0);
    expect(existsSync(join(tmp, 'b', 'recognizer.safetensors'))).toBe(false);
    const resumed = await train(join(tmp, 'b'), ['--resume']);
    expect(resumed.code).toBe(0);
    expect(resumed.out).toMatch(/resumed from .* at step 4/);
    const a = parseSafetensors(readFileSync(join(tmp, 'a', 'recognizer.safetensors'))).tensors;
    const b = parseSafetensors(readFileSync(join(tmp, 'b', 'recognizer.safetensors'))).tensors;
    expect(Object.keys(b)).toEqual(Object.keys(a));
    for (const k of Object.keys(a)) expect(Array.from(b[k].data), k).toEqual(Array.from(a[k].data));
    const logB = readFileSync(join(tmp, 'b', 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(logB.filter((r) => r.type === 'train').map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);

    const report = JSON.parse(readFileSync(join(tmp, 'a', 'report.json'), 'utf8'));
    const ev = await run(evalCommand, [
      '--weights',
      join(tmp, 'a', 'recognizer.safetensors'),
      '--data',
      SAMPLE,
      '--pairs',
      join(SAMPLE, 'val-pairs.txt'),
      '--json',
      '--roc',
      join(tmp, 'roc.png'),
    ]);
    const summary = JSON.parse(ev.out);
    for (const k of ['accuracy', 'accuracy_std', 'auc', 'tar_at_far_1e-3', 'pairs'])
      expect(typeof summary[k], k).toBe('number');
    expect(summary.pairs).toBe(200);
    expect(summary.accuracy).toBe(report.val_accuracy);
    expect(summary.auc).toBeCloseTo(report.auc, 12);
    expect(existsSync(join(tmp, 'roc.png'))).toBe(true);
  }, 240_000);

  it('a training process killed with SIGKILL resumes from its last checkpoint and ends with the same weights', async () => {
    const out = join(tmp, 'killed');
    const args = [
      'tools/synface.ts',
      'train-recognizer',
      '--data',
      SAMPLE,
      '--people',
      'people.txt',
      '--split',
      SAMPLE,
      '--out',
      out,
      '--steps',
      '6',
      '--batch',
      '8',
      '--val-every',
      '3',
      '--ckpt-every',
      '2',
      '--log-every',
      '1',
      '--seed',
      '3',
    ];
    const root = join(__dirname, '..');
    const child = spawn(join(root, 'node_modules', '.bin', 'tsx'), args, {
      cwd: root,
      env: process.env,
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code, signal) => resolve(signal ? -1 : code)),
    );
    // kill it as soon as the log shows step 3: the checkpoint of step 2 is on disk, step 3+ is lost
    for (;;) {
      const logged = existsSync(join(out, 'log.jsonl')) ? readFileSync(join(out, 'log.jsonl'), 'utf8') : '';
      if (/"step":3,/.test(logged)) break;
      if (child.exitCode !== null) throw new Error('the training process ended before it could be killed');
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    expect(await exited).toBe(-1);
    expect(existsSync(join(out, 'recognizer.safetensors'))).toBe(false);
    const resumed = await run(trainRecognizerCommand, [...args.slice(2), '--resume']);
    expect(resumed.out).toMatch(/resumed from .* at step [2-5]/);
    const a = parseSafetensors(readFileSync(join(tmp, 'a', 'recognizer.safetensors'))).tensors;
    const b = parseSafetensors(readFileSync(join(out, 'recognizer.safetensors'))).tensors;
    for (const k of Object.keys(a)) expect(Array.from(b[k].data), k).toEqual(Array.from(a[k].data));
  }, 180_000);

  it('refuses to resume with other settings, and names missing files and bad options', async () => {
    await expect(train(join(tmp, 'a'), ['--resume', '--lr', '0.5'])).rejects.toThrow(
      /checkpoint was made with other settings \(lr: 0.1 there\)/,
    );
    await expect(train(join(tmp, 'a'))).rejects.toThrow(
      /a holds a checkpoint \(step 6\); continue it with --resume, or start over with --overwrite/,
    );
    await expect(train(join(tmp, 'none'), ['--resume'])).rejects.toThrow(
      /--resume, but .*none\/checkpoint.safetensors does not exist/,
    );
    await expect(train(join(tmp, 'c'), ['--nonsense', '1'])).rejects.toThrow(/unknown option --nonsense/);
    await expect(
      run(evalCommand, [
        '--weights',
        join(tmp, 'missing.safetensors'),
        '--data',
        SAMPLE,
        '--pairs',
        join(SAMPLE, 'val-pairs.txt'),
      ]),
    ).rejects.toThrow(/missing.safetensors/);
  }, 60_000);

  it('--layout folders trains on a folder per identity and validates on LFW-layout pairs elsewhere', async () => {
    const root = join(tmp, 'casia');
    const people = readFileSync(join(SAMPLE, 'train-people.txt'), 'utf8')
      .trim()
      .split('\n')
      .slice(1, 7)
      .map((l) => l.split('\t'));
    people.forEach(([name, count], k) => {
      mkdirSync(join(root, `id${k}`), { recursive: true });
      for (let i = 1; i <= Number(count); i++)
        cpSync(join(SAMPLE, 'images', name, `${name}_000${i}.png`), join(root, `id${k}`, `${i}.png`));
    });
    writeFileSync(join(root, 'dataset.json'), readFileSync(join(SAMPLE, 'dataset.json')));
    const r = await run(trainRecognizerCommand, [
      '--layout',
      'folders',
      '--data',
      root,
      '--val-data',
      SAMPLE,
      '--val-pairs',
      join(SAMPLE, 'val-pairs.txt'),
      '--out',
      join(tmp, 'f'),
      '--steps',
      '2',
      '--batch',
      '8',
      '--val-every',
      '0',
      '--log-every',
      '1',
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\d+ images of 6 people/);
    expect(r.out).toMatch(/entries of .* are not images in identity folders, e.g. dataset.json/);
    const report = JSON.parse(readFileSync(join(tmp, 'f', 'report.json'), 'utf8'));
    expect(report.val_pairs).toBe(200);
    expect(report.val_accuracy).toBeGreaterThan(0.3);
  }, 120_000);

  it('a pairs file naming an image that is not there is an error naming it', async () => {
    const dir = join(tmp, 'pairs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'bad.txt'), '1\nNobody_Here\t1\t2\nA\t1\tB\t1\n');
    await expect(
      run(evalCommand, [
        '--weights',
        join(tmp, 'a', 'recognizer.safetensors'),
        '--data',
        SAMPLE,
        '--pairs',
        join(dir, 'bad.txt'),
      ]),
    ).rejects.toThrow(/names Nobody_Here\/Nobody_Here_0001.png, but .* cannot be read \(ENOENT\)/);
  }, 60_000);
});
