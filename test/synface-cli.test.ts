/**
 * `synface train-recognizer --layout synthetic [--real DIR --real-people M]` end to end, in
 * process, on a synthetic dataset made of the embedded sample's faces (6 "identities" x 3
 * images in synthesize's layout, some rows identity-mixed) with domain mixup against 4 of the
 * sample split's training people: the run trains, logs psi, validates on the sample's held-out
 * pairs, and a run stopped and resumed ends with the same weights; bad data and options are
 * refused naming the file, line or option, before anything is written.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensors } from '../src/io/safetensors.js';
import {
  formatLabel,
  identityFolder,
  imageFileName,
  type SyntheticLabel,
} from '../src/data/synthetic-labels.js';
import { trainRecognizerCommand } from '../tools/train-recognizer.js';
import { runCommand } from './run-command.js';

const SAMPLE = join(__dirname, '..', 'data', 'lfw-sample');
const SOURCES = [
  'Ana_Guevara',
  'Antonio_Banderas',
  'Arnold_Palmer',
  'Bill_Clinton',
  'Bob_Stoops',
  'Barbara_Walters',
];
const IDS = SOURCES.length,
  PER_ID = 3;
let tmp = '';
let syn = '';

/** A dataset in synthesize's layout: identity i's images are SOURCES[i]'s first 3 sample faces; image 1 of each identity is mixed with the next at phi 0.35. */
function makeDataset(dir: string, labels = defaultLabels()): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < IDS; i++) {
    mkdirSync(join(dir, identityFolder(i, IDS)), { recursive: true });
    for (let j = 0; j < PER_ID; j++)
      copyFileSync(
        join(SAMPLE, 'images', SOURCES[i], `${SOURCES[i]}_000${j + 1}.png`),
        join(dir, identityFolder(i, IDS), imageFileName(j, PER_ID)),
      );
  }
  const manifest = {
    format: 'synface-synthetic-v1',
    generator: { file: 'test', sha256: '-', resolution: 64 },
    counts: { identities: IDS, imagesPerIdentity: PER_ID, images: IDS * PER_ID },
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  writeFileSync(join(dir, 'labels.jsonl'), labels.map(formatLabel).join('\n') + '\n');
}

function defaultLabels(): SyntheticLabel[] {
  const out: SyntheticLabel[] = [];
  for (let i = 0; i < IDS; i++)
    for (let j = 0; j < PER_ID; j++) {
      const file = `${identityFolder(i, IDS)}/${imageFileName(j, PER_ID)}`;
      out.push(
        j === 1 ? { file, identity: i, mix: { partner: (i + 1) % IDS, phi: 0.35 } } : { file, identity: i },
      );
    }
  return out;
}

const train = (data: string, out: string, extra: string[] = []) =>
  runCommand(trainRecognizerCommand, [
    '--layout',
    'synthetic',
    '--data',
    data,
    '--split',
    SAMPLE,
    '--val-data',
    SAMPLE,
    '--real',
    SAMPLE,
    '--real-list',
    'people.txt',
    '--real-people',
    '4',
    '--out',
    out,
    '--steps',
    '6',
    '--batch',
    '8',
    '--val-every',
    '6',
    '--ckpt-every',
    '2',
    '--log-every',
    '1',
    '--seed',
    '3',
    ...extra,
  ]);

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'synface-syn-cli-'));
  process.env.SYNFACE_CACHE = join(tmp, 'cache');
  syn = join(tmp, 'syn');
  makeDataset(syn);
});

const records = (dir: string) =>
  readFileSync(join(dir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('synface train-recognizer on a synthetic dataset with domain mixup', () => {
  it('trains (psi logged, 6 + 4 classes, validation on held-out pairs); a stopped and resumed run ends bit-identical', async () => {
    const a = await train(syn, join(tmp, 'a'));
    expect(a.code).toBe(0);
    expect(a.out).toMatch(/synthetic data: 6 identities, 18 images \(6 identity mixes\)/);
    expect(a.out).toMatch(/domain mixup with \d+ real images of 4 people \(classes 6\.\.9\)/);
    const log = records(join(tmp, 'a'));
    const psis = log.filter((r) => r.type === 'train').map((r) => r.psi);
    expect(psis).toHaveLength(6);
    for (const p of psis) expect(Math.round(p * 20) / 20).toBe(p);
    expect(log.filter((r) => r.type === 'val')).toHaveLength(1);
    const report = JSON.parse(readFileSync(join(tmp, 'a', 'report.json'), 'utf8'));
    expect(report.people).toBe(10);
    expect(report.val_pairs).toBe(200);

    expect((await train(syn, join(tmp, 'b'), ['--stop-after', '3'])).code).toBe(0);
    const resumed = await train(syn, join(tmp, 'b'), ['--resume']);
    expect(resumed.code).toBe(0);
    expect(resumed.out).toMatch(/resumed from .* at step \d/);
    const wa = parseSafetensors(readFileSync(join(tmp, 'a', 'recognizer.safetensors'))).tensors;
    const wb = parseSafetensors(readFileSync(join(tmp, 'b', 'recognizer.safetensors'))).tensors;
    for (const k of Object.keys(wa)) expect(Array.from(wb[k].data), k).toEqual(Array.from(wa[k].data));
    expect(
      records(join(tmp, 'b'))
        .filter((r) => r.type === 'train')
        .map((r) => r.psi),
    ).toEqual(psis);
  }, 300_000);

  it('refuses bad data and options by name, writing nothing', async () => {
    const never = join(tmp, 'never');
    const refuse = async (data: string, extra: string[], re: RegExp) => {
      await expect(train(data, never, extra)).rejects.toThrow(re);
      expect(existsSync(join(never, 'checkpoint.safetensors'))).toBe(false);
    };
    // an incomplete dataset (synthesize not finished)
    const partial = join(tmp, 'partial');
    makeDataset(partial);
    rmSync(join(partial, 'labels.jsonl'));
    await refuse(partial, [], /partial is incomplete: no labels\.jsonl/);
    // a label in another identity's folder: file and line
    const moved = join(tmp, 'moved');
    const labels = defaultLabels();
    labels[4] = { ...labels[4], file: labels[0].file };
    makeDataset(moved, labels);
    await refuse(moved, [], /labels\.jsonl:5: id_00000\/00000\.png is not in identity 1's folder/);
    // the paper preset reads 112x96 crops, the dataset holds the generator's 64x64 ones
    await refuse(
      syn,
      ['--preset', 'paper'],
      /manifest\.json: images are aligned as .*112,112.*64,64.*the model needs/,
    );
    await refuse(syn, ['--max-people', '3'], /--max-people .* needs --layout lfw, not synthetic/);
    await expect(
      runCommand(trainRecognizerCommand, [
        '--layout',
        'synthetic',
        '--data',
        syn,
        '--real',
        SAMPLE,
        '--out',
        never,
      ]),
    ).rejects.toThrow(/--real and --real-people go together/);
    await refuse(syn, ['--real-people', '99'], /99 people asked for, only \d+ are eligible/);
  }, 120_000);
});
