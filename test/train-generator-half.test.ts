/**
 * The generator run's compact export in half precision (exportHalf, --export-half): a tiny64 run
 * of 2 steps on 7 images of the embedded sample (3 more held out) exports its networks in F16,
 * and a fresh folder continues the run from that file to the end. About 30 s on a loaded
 * lavapipe (analyze once, two short sessions).
 * Oracle: the run folder's own full checkpoint, rounded to f16 by src/io/half.ts (checked against
 * numpy in test/half.test.ts).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../src/io/checkpoint.js';
import { fromF16, toF16 } from '../src/io/half.js';
import { parseSafetensors } from '../src/io/safetensors.js';
import { trainGenerator, type TrainGeneratorOptions } from '../src/train/generator-run.js';

const PEOPLE: [string, number][] = [
  ['Ana_Guevara', 4],
  ['Antonio_Banderas', 3],
  ['Arnold_Palmer', 3],
];
let root = '';

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'synface-generator-half-'));
  const data = join(root, 'data');
  for (const [name, n] of PEOPLE) {
    mkdirSync(join(data, 'images', name), { recursive: true });
    for (let i = 1; i <= n; i++) {
      const f = `${name}_${String(i).padStart(4, '0')}.png`;
      copyFileSync(join('data/lfw-sample/images', name, f), join(data, 'images', name, f));
    }
  }
  copyFileSync('data/lfw-sample/dataset.json', join(data, 'dataset.json'));
  writeFileSync(
    join(data, 'people.txt'),
    `${PEOPLE.length}\n${PEOPLE.map((p) => p.join('\t')).join('\n')}\n`,
  );
  mkdirSync(join(root, 'split'));
  writeFileSync(join(root, 'split', 'val-people.txt'), '1\nArnold_Palmer\t3\n');
});

const options = (out: string, extra: Partial<TrainGeneratorOptions> = {}): TrainGeneratorOptions => ({
  data: join(root, 'data'),
  people: 'people.txt',
  split: join(root, 'split'),
  factors: join(root, 'factors.safetensors'),
  out: join(root, out),
  preset: 'tiny64',
  steps: 4,
  batch: 4,
  seed: 1,
  logEvery: 1,
  ckptEvery: 2,
  gridEvery: 2,
  gridRows: 2,
  landmarks: 'tiny',
  cacheDir: join(root, 'cache'),
  ...extra,
});

describe('trainGenerator exportHalf', () => {
  it('exports the networks in F16, and a fresh folder continues the run from that file', async () => {
    const exported = join(root, 'export', 'latest.safetensors');
    const lines: string[] = [];
    const first = await trainGenerator(
      options('a', { stopAfter: 2, exportTo: exported, exportHalf: true, log: (l) => lines.push(l) }),
    );
    expect(first.step).toBe(2);
    expect(lines.join('\n')).toMatch(/exported latest\.safetensors \(step 2, no optimizer state, F16\)/);
    const bytes = readFileSync(exported);
    const { stored } = parseSafetensors(bytes, exported);
    expect(Object.keys(stored).length).toBeGreaterThan(10);
    for (const [name, dtype] of Object.entries(stored))
      expect(dtype, name).toBe(name.startsWith('model/') ? 'F16' : 'F32');
    // the export's networks are the session's (its full checkpoint, f32) rounded to f16
    const full = parseCheckpoint(readFileSync(join(root, 'a', 'checkpoint.safetensors')), 'full');
    const half = parseCheckpoint(bytes, exported);
    expect(half.optimizer).toBeNull();
    expect(half.step).toBe(2);
    expect(Object.keys(half.model).sort()).toEqual(Object.keys(full.model).sort());
    for (const [name, t] of Object.entries(full.model))
      expect(half.model[name].data, name).toEqual(
        t.dtype === 'f32' ? fromF16(toF16(t.data as Float32Array)) : t.data,
      );

    // a fresh machine: no checkpoint in the folder, the half export is continued to the end
    const fresh: string[] = [];
    const cont = await trainGenerator(
      options('b', { resume: true, fallback: exported, log: (l) => fresh.push(l) }),
    );
    expect(fresh.join('\n')).toMatch(/continuing the run exported in/);
    expect(cont.status).toBe('finished');
    expect(cont.step).toBe(4);
    const train = readFileSync(join(root, 'b', 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((r) => r.type === 'train');
    expect(train.map((r) => r.step)).toEqual([3, 4]);
    for (const r of train) for (const k of ['loss_d', 'loss_g']) expect(Number.isFinite(r[k])).toBe(true);
  });
});
