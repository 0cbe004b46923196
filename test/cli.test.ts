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
import { describeFileError, withPath } from '../src/io/file-errors.js';
import { withoutDawnWarnings } from '../src/gpu/dawn-stderr.js';
import { trainRecognizerCommand } from '../tools/train-recognizer.js';
import { evalCommand } from '../tools/eval.js';
import { runCommand } from './run-command.js';

const SAMPLE = join(__dirname, '..', 'data', 'lfw-sample');
let tmp = '';

const run = runCommand;

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

describe('synface <command> --help', () => {
  it('prints the options without opening a GPU adapter (no adapter line, no Dawn warnings)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tools/synface.ts', 'experiment', '--help'], {
      cwd: join(__dirname, '..'),
      env: { ...process.env, SYNFACE_DEBUG: '1' }, // debug: Dawn's warnings would not be filtered
    });
    let out = '',
      err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(out).toMatch(/usage: synface experiment \[options\]/);
    expect(err).not.toMatch(/adapter|Warning/);
  }, 60_000);
});

describe('bad options are refused before any work, naming the option (issue 14, defect 7)', () => {
  it("--batch 0, --batch 1 (batch norm), --batch '', --steps -1 and 1.5; eval --batch 0", async () => {
    const refuse = (args: string[], re: RegExp) =>
      expect(train(join(tmp, 'never'), args)).rejects.toThrow(re);
    await refuse(
      ['--batch', '0'],
      /--batch needs an integer >= 2 \(batch norm normalizes over the batch.*\), got '0'/,
    );
    await refuse(['--batch', '1'], /--batch needs an integer >= 2 .*got '1'/);
    await refuse(['--batch', ''], /--batch needs an integer >= 2 .*got ''/);
    await refuse(['--batch', '8.5'], /--batch needs an integer >= 2 .*got '8\.5'/);
    await refuse(['--steps', '-1'], /--steps needs an integer >= 1, got '-1'/);
    await refuse(['--steps', '1.5'], /--steps needs an integer >= 1, got '1\.5'/);
    await refuse(['--lr', 'x'], /--lr needs a number >= 0, got 'x'/);
    expect(existsSync(join(tmp, 'never'))).toBe(false);
    await expect(
      run(evalCommand, ['--batch', '0', '--weights', 'w', '--data', SAMPLE, '--pairs', 'p']),
    ).rejects.toThrow(/synface eval: --batch needs an integer >= 1, got '0'/);
  });
});

/** Runs `synface <args>` as its own process (tsx tools/synface.ts): exit code, stdout, stderr. */
function synface(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const root = join(__dirname, '..');
  const child = spawn(
    join(root, 'node_modules', '.bin', 'tsx'),
    [join(root, 'tools', 'synface.ts'), ...args],
    {
      cwd: root,
      env: process.env,
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('file-system errors name the path and say what to do (issue 14, defect 7)', () => {
  it('ENOENT and EEXIST through the command line', async () => {
    const missing = await synface(['split', '--data', join(tmp, 'nope'), '--out', join(tmp, 'split-out')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /^synface: .*nope\/peopleDevTrain\.txt: no such file or folder \(ENOENT in open\)$/m,
    );
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    // a people file large enough for 10 folds (split reads no image)
    const data = join(tmp, 'many-people');
    mkdirSync(data, { recursive: true });
    const people = Array.from({ length: 300 }, (_, i) => `P${i}\t${2 + (i % 5)}`);
    writeFileSync(join(data, 'people.txt'), [String(people.length), ...people].join('\n') + '\n');
    const inTheWay = await synface(['split', '--data', data, '--people', 'people.txt', '--out', file]);
    expect(inTheWay.code).toBe(1);
    expect(inTheWay.stderr).toMatch(
      /^synface: .*a-file: already exists: a file is in the way of a folder.*\(EEXIST in mkdir\)$/m,
    );
  }, 60_000);

  it('ENOSPC (a real one, from /dev/full): Node names no file; withPath adds it', () => {
    let error: unknown;
    try {
      writeFileSync('/dev/full', 'x');
    } catch (e) {
      error = e;
    }
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(describeFileError(error)).toBeUndefined(); // no path: the caller adds it
    expect(describeFileError(withPath(error, '/dev/full'))).toBe(
      '/dev/full: the disk is full: free space in /dev (ENOSPC in write)',
    );
  });
});

describe("Dawn's adapter-limit warnings (issue 14, defect 10)", () => {
  it('a command that creates the device prints no "artificially reduced" line, and the rest of stderr', async () => {
    // stderr a shell pipe, as in `synface info 2>&1 | tee log` (a terminal works the same way;
    // Node's own child_process pipes are sockets, which the filter leaves alone: dawn-stderr.ts)
    const root = join(__dirname, '..');
    const tsx = join(root, 'node_modules', '.bin', 'tsx');
    const child = spawn(
      'sh',
      ['-c', '"$0" "$1" info 2>&1 >/dev/null | cat', tsx, join(root, 'tools', 'synface.ts')],
      {
        cwd: root,
        env: process.env,
      },
    );
    let stderr = '';
    child.stdout.on('data', (d) => (stderr += d));
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
    expect(stderr).toMatch(/^synface: adapter /m); // stderr still works after the discovery
    expect(stderr).not.toMatch(/artificially reduced/);
  }, 120_000);

  it('withoutDawnWarnings drops exactly those two lines', () => {
    const dawn = (kind: string) =>
      `Warning: maxDynamic${kind}BuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n`;
    const other = 'Warning: vkCreateInstance: Found no drivers!\n';
    expect(withoutDawnWarnings(`${dawn('Uniform')}${other}${dawn('Storage')}tail`)).toBe(`${other}tail`);
    expect(withoutDawnWarnings(`x ${dawn('Uniform')}`)).toBe(`x ${dawn('Uniform')}`); // only whole lines
  });
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
    // node itself with tsx as a loader: the .bin/tsx wrapper runs the program in a child
    // process, which a SIGKILL of the wrapper would leave running (and holding the run's lock)
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
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

  const sampleArgs = (out: string, more: string[]) => [
    '--data',
    SAMPLE,
    '--people',
    'people.txt',
    '--out',
    out,
    '--batch',
    '8',
    '--seed',
    '3',
    ...more,
  ];
  // the finished 6-step run of the first test, resumed with its own options
  const resumeFinished = (split: string) =>
    run(trainRecognizerCommand, [
      ...sampleArgs(join(tmp, 'a'), ['--split', split, '--steps', '6']),
      '--val-every',
      '3',
      '--ckpt-every',
      '2',
      '--log-every',
      '1',
      '--resume',
    ]);

  it('issue 14 defect 1: a diverged run fails, and writes no non-finite weights or checkpoint', async () => {
    // as reported: the loss of step 2 is computed before its update, so only the weights show it
    const out = join(tmp, 'diverged');
    await expect(
      run(
        trainRecognizerCommand,
        sampleArgs(out, [
          '--split',
          SAMPLE,
          '--lr',
          '1e9',
          '--steps',
          '2',
          '--batch',
          '16',
          '--log-every',
          '1',
          '--ckpt-every',
          '2',
        ]),
      ),
    ).rejects.toThrow(/training diverged at step 2: checkpoint at step 2: \d+ of \d+ values are not finite/);
    expect(existsSync(join(out, 'recognizer.safetensors'))).toBe(false);
    expect(existsSync(join(out, 'checkpoint.safetensors'))).toBe(false);
  }, 60_000);

  it('issue 14 defect 4: resuming on other data (the same people, other validation pairs) is refused, naming what differs', async () => {
    const other = join(tmp, 'other-split');
    mkdirSync(other, { recursive: true });
    cpSync(join(SAMPLE, 'train-people.txt'), join(other, 'train-people.txt'));
    const pairs = readFileSync(join(SAMPLE, 'val-pairs.txt'), 'utf8').split('\n');
    [pairs[1], pairs[2]] = [pairs[2], pairs[1]];
    writeFileSync(join(other, 'val-pairs.txt'), pairs.join('\n'));
    await expect(resumeFinished(other)).rejects.toThrow(/trained on other data: val_pairs \(/);
  }, 60_000);

  it('issue 14 defects 5 and 8: resuming past a torn log line works, and a finished run adds no duplicate records', async () => {
    const logPath = join(tmp, 'a', 'log.jsonl');
    const before = readFileSync(logPath, 'utf8');
    writeFileSync(logPath, before + '{"type":"val","step":6,"val_acc');
    const again = await resumeFinished(SAMPLE);
    expect(again.code).toBe(0);
    const steps = (text: string) =>
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .map((r) => `${r.type} ${r.step}`);
    expect(steps(readFileSync(logPath, 'utf8'))).toEqual(steps(before));
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
