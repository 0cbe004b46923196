/**
 * `synface analyze` (src/face/analyze-dataset.ts) on a 10-image subset of the embedded sample
 * (3 people, copied to a temporary LFW-layout folder with the sample's dataset.json): the file's
 * tensors, shapes and metadata; an interrupted run (stopped after its first chunk) resumed to
 * the same file an uninterrupted run writes; a complete file reused; a locked file, changed data
 * and changed settings refused without touching the file; the quality bits; the summary and
 * face-grid images drawn; a file that is not a factors file and the command's option errors
 * named. About 10 s on lavapipe (three networks on 10 images, twice).
 */
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeDataset, type AnalyzeResult } from '../src/face/analyze-dataset.js';
import { decodeFactors, COLUMNS, type FactorsTable } from '../src/face/factors-file.js';
import { factorSummary, summaryNumbers } from '../src/face/factor-summary.js';
import { faceGrid, pickFaces } from '../src/face/face-figure.js';
import { FACE_PREPROCESS, QUALITY, qualityBits, qualityReasons } from '../src/face/measure-faces.js';
import { DLIB_PREPROCESS } from '../src/eval/evaluate-dlib.js';
import { cachedLfw } from '../src/data/lfw-cache.js';
import { serializeSafetensors } from '../src/io/safetensors.js';
import { acquireLock } from '../src/io/lock.js';
import { analyzeCommand } from '../tools/analyze.js';
import { copySampleFolder } from './sample-folder.js';

const PEOPLE: [string, number][] = [
  ['Ana_Guevara', 4],
  ['Antonio_Banderas', 3],
  ['Arnold_Palmer', 3],
];
const N = 10;

let root: string;
let cacheDir: string;
const analyze = (out: string, extra: Partial<Parameters<typeof analyzeDataset>[0]> = {}) =>
  analyzeDataset({
    data: join(root, 'data'),
    people: 'people.txt',
    out: join(root, out),
    batch: 2,
    chunk: 4,
    landmarks: 'tiny',
    cache: { cacheDir },
    ...extra,
  });

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'synface-analyze-'));
  cacheDir = join(root, 'cache');
  const data = join(root, 'data');
  copySampleFolder(data, PEOPLE);
});

/** `a` as measured in memory, `b` as read back from a file. */
function expectSameTables(a: FactorsTable, b: FactorsTable) {
  expect(b.done).toBe(a.done);
  expect(b.fingerprint).toBe(a.fingerprint);
  expect(b.images).toEqual(a.images);
  for (const c of Object.keys(COLUMNS) as (keyof typeof COLUMNS)[])
    expect(b.columns[c]).toEqual(a.columns[c]);
  expect(b.expression!.code).toEqual(a.expression!.code);
  expect(b.expression!.model.basis).toEqual(Float64Array.from(Float32Array.from(a.expression!.model.basis)));
}

describe('synface analyze', () => {
  let full: AnalyzeResult;

  it('uses the images of the sample and of synface eval --model dlib', () => {
    expect(FACE_PREPROCESS).toEqual(DLIB_PREPROCESS);
  });

  it('writes one complete file of per-image factors', async () => {
    full = await analyze('full.safetensors');
    expect(full.status).toBe('finished');
    expect(full.measured).toBe(N);
    const t = decodeFactors(readFileSync(join(root, 'full.safetensors')), 'full');
    expect(t.complete).toBe(true);
    expect([t.done, t.total]).toEqual([N, N]);
    expect(t.images[0]).toEqual(['Ana_Guevara', 1]);
    expect(t.images[N - 1]).toEqual(['Arnold_Palmer', 3]);
    expect(JSON.parse(t.info.networks)).toMatchObject({
      landmarks: 'face_landmark_68_tiny_model',
      descriptor: 'face_recognition_model',
    });
    expect(t.settings).toMatchObject({ layout: 'lfw', preprocess: FACE_PREPROCESS, landmarks: 'tiny' });
    expect(t.fingerprint).toMatch(/^[0-9a-f]{40}$/);
    const c = t.columns;
    // every value measured and finite; the faces are usable
    for (const k of Object.keys(COLUMNS) as (keyof typeof COLUMNS)[])
      expect(c[k].every(Number.isFinite), k).toBe(true);
    expect([...c.quality]).toEqual(new Array(N).fill(0));
    // descriptors: dlib's are about unit length; the same person is closer than others
    const d = (i: number, j: number) =>
      Math.hypot(
        ...Array.from({ length: 128 }, (_, k) => c.descriptor[i * 128 + k] - c.descriptor[j * 128 + k]),
      );
    expect(d(0, 1)).toBeLessThan(0.6);
    expect(d(0, 7)).toBeGreaterThan(0.6);
    // landmarks relative to the image: eyes above the mouth, inside the crop
    for (let r = 0; r < N; r++) {
      const y = (i: number) => c.landmarks[r * 136 + 2 * i + 1];
      expect(y(36)).toBeLessThan(y(48));
      expect(y(36)).toBeGreaterThan(0.2);
    }
    // probabilities sum to 1; pose of near-frontal sample faces; fit error under 3 px at 64 px
    for (let r = 0; r < N; r++) {
      const p = c.expression_probs.subarray(r * 7, r * 7 + 7);
      expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
      expect(Math.abs(c.pose[3 * r])).toBeLessThan(60);
      expect(c.pose_error[r]).toBeLessThan(3);
    }
    // the expression code: k components in 5..10 of the dataset's own PCA
    const k = t.expression!.model.variances.length;
    expect(k).toBeGreaterThanOrEqual(1);
    expect(t.expression!.code.length).toBe(N * k);
    expect(t.expression!.code.every(Number.isFinite)).toBe(true);
  });

  it('flags faces by the quality checks of src/face/quality.ts, one bit per reason', () => {
    const lm = full.table.columns.landmarks.slice(0, 136); // a good face, 64x64
    const err = full.table.columns.pose_error[0];
    expect(qualityBits(lm, 64, 64, err, true, true)).toBe(0);
    expect(
      qualityBits(
        lm.map((v, i) => (i % 2 ? v : v + 0.5)),
        64,
        64,
        err,
        true,
        true,
      ),
    ).toBe(QUALITY.landmarksOutside);
    expect(qualityBits(lm, 64, 64, 20, true, true)).toBe(QUALITY.poorPoseFit);
    expect(
      qualityBits(
        lm.map((v) => 0.5 + (v - 0.5) * 0.2),
        64,
        64,
        0,
        true,
        true,
      ),
    ).toBe(QUALITY.tooSmall);
    expect(qualityBits(lm, 64, 64, NaN, true, true)).toBe(QUALITY.fitFailed);
    expect(qualityBits(lm, 64, 64, err, true, false)).toBe(QUALITY.fitFailed);
    expect(qualityBits(lm, 64, 64, err, false, true)).toBe(QUALITY.notFinite);
    expect(qualityReasons(QUALITY.poorPoseFit | QUALITY.tooSmall)).toEqual(['poorPoseFit', 'tooSmall']);
  });

  it('resumes a run stopped after its first chunk to the same file', async () => {
    const stopped = await analyze('resumed.safetensors', { stopAfterChunks: 1 });
    expect(stopped.status).toBe('stopped');
    const partial = decodeFactors(readFileSync(join(root, 'resumed.safetensors')), 'partial');
    expect([partial.complete, partial.done, partial.total]).toEqual([false, 4, N]);
    expect(partial.expression).toBeUndefined();
    const resumed = await analyze('resumed.safetensors');
    expect(resumed.status).toBe('finished');
    expect(resumed.measured).toBe(N - 4);
    expectSameTables(full.table, decodeFactors(readFileSync(join(root, 'resumed.safetensors')), 'resumed'));
  });

  it('reuses a complete file when the data is unchanged', async () => {
    const logs: string[] = [];
    const again = await analyze('full.safetensors', { log: (s) => logs.push(s) });
    expect(again.status).toBe('reused');
    expect(again.measured).toBe(0);
    expect(logs.join('\n')).toMatch(/complete and the data unchanged .*reused/);
  });

  it('refuses a file another run holds', async () => {
    const lock = acquireLock(join(root, 'full.safetensors'), 'a test holding the factors file');
    try {
      await expect(analyze('full.safetensors')).rejects.toThrow(/full\.safetensors\.lock/);
    } finally {
      lock.release();
    }
  });

  it('refuses other settings or changed data and leaves the file as it was', async () => {
    const path = join(root, 'full.safetensors');
    const before = readFileSync(path);
    await expect(analyze('full.safetensors', { landmarks: 'full' })).rejects.toThrow(
      /made with other settings.*"landmarks":"tiny".*"landmarks":"full"/,
    );
    // one image replaced by another's pixels: same file list, other data
    const img = (n: number) => join(root, 'data/images/Ana_Guevara', `Ana_Guevara_000${n}.png`);
    copyFileSync(img(2), img(1));
    await expect(analyze('full.safetensors')).rejects.toThrow(/full\.safetensors was made from other data/);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('draws the summary and the face grid', () => {
    const t = full.table;
    const s = summaryNumbers(t);
    expect(s.flagged).toBe(0);
    expect(s.yaw[0]).toBeLessThanOrEqual(s.yaw[1]);
    const summary = factorSummary(t);
    expect(summary.width).toBe(4 * 300);
    expect(summary.height).toBe(3 * 190 + 24);
    // the grid: faces sorted by yaw, drawn from the same image cache
    const rows = pickFaces(t, 6);
    expect(rows.length).toBe(6);
    for (let i = 1; i < rows.length; i++)
      expect(t.columns.pose[3 * rows[i]]).toBeGreaterThanOrEqual(t.columns.pose[3 * rows[i - 1]]);
    const lfw = cachedLfw(join(root, 'data'), 'people.txt', FACE_PREPROCESS, { cacheDir });
    const grid = faceGrid({ ...t, total: lfw.cache.count }, lfw.cache, { rows: 2, columns: 3, size: 96 });
    expect(grid.width).toBe(3 * (96 + 4) + 4);
  });

  it('names a file that is not a factors file, and bad options', async () => {
    const other = serializeSafetensors({ w: { dtype: 'f32', shape: [1], data: Float32Array.of(1) } });
    expect(() => decodeFactors(other, 'w.safetensors')).toThrow(
      /w\.safetensors: not a factors file of synface analyze/,
    );
    await expect(analyzeCommand(['--data', 'x'])).rejects.toThrow(/--out is required/);
    await expect(analyzeCommand(['--data', 'x', '--out', 'y', '--landmarks', 'medium'])).rejects.toThrow(
      /--landmarks must be full or tiny, got 'medium'/,
    );
    await expect(analyzeCommand(['--data', 'x', '--out', 'y', '--batch', '0'])).rejects.toThrow(
      /--batch needs an integer >= 1/,
    );
    await expect(analyzeCommand(['--data', 'x', '--out', 'y', '--faces-grid', '4by6'])).rejects.toThrow(
      /--faces-grid needs ROWSxCOLUMNS/,
    );
  });
});
