/**
 * `synface analyze`'s work: every image of a dataset measured once (measure-faces.ts) into one
 * factors file (factors-file.ts). Node only (files, locks, the image cache).
 *
 *   1. the images: the dataset's aligned crops (FACE_PREPROCESS) through the image cache
 *      (src/data/lfw-cache.ts), as the generator and the small recognizer read them;
 *   2. the data fingerprint: SHA-1 of the layout, the preprocessing, the rows' paths and labels
 *      and every pixel. Any changed, added or removed image changes it;
 *   3. chunks of `chunk` images (batches of `batch` through the networks); after each chunk the
 *      rows so far are written to `out` (atomically: a kill leaves the previous chunk's file);
 *   4. after the last chunk, the second pass: every row's quality bits recomputed from the stored
 *      values (one definition for the whole file); the expression model (PCA of the landmarks'
 *      Procrustes residuals, centred per person) is fitted on the dataset's own images of
 *      quality 0, every image's expression code computed (against its person's mean residual
 *      when the person has 2+ usable images), and the file written as complete.
 * A run finding a partial file continues after its last chunk; a complete one is reused
 * without measuring anything. Either way the file's fingerprint and settings must match the
 * data and options given; otherwise the run stops with an error naming both and loses nothing.
 * `out` is locked (src/io/lock.ts) for the whole run: one analysis per file at a time.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { batchPixels } from '../data/image-cache.js';
import { cachedIdentityFolders, cachedLfw, type CacheOptions } from '../data/lfw-cache.js';
import { acquireLock } from '../io/lock.js';
import { writeFileAtomic } from '../io/node-files.js';
import { faceApiModelDir, FACE_API_PACKAGE, loadTfjsWeights } from '../io/tfjs-weights-node.js';
import { DlibDescriptor, DLIB_INPUT_SIZE, DLIB_WEIGHTS_NAME } from '../models/face-api/dlib-descriptor.js';
import { LANDMARK_INPUT_SIZE } from '../models/face-api/dense-trunk.js';
import { EXPRESSIONS, EXPRESSION_WEIGHTS_NAME, FaceExpression } from '../models/face-api/expression.js';
import { Landmark68, LANDMARK68_WEIGHTS_NAME } from '../models/face-api/landmark68.js';
import { Landmark68Tiny, LANDMARK68_TINY_WEIGHTS_NAME } from '../models/face-api/landmark68-tiny.js';
import { expressionCode, expressionResidual, fitExpressionModel, EXPRESSION_DIM } from './expression.js';
import { decodeFactors, emptyColumns, encodeFactors, rowSize, type FactorsTable } from './factors-file.js';
import {
  faceFactors,
  FACE_PREPROCESS,
  measureBatch,
  QUALITY,
  qualityBits,
  type FaceNets,
} from './measure-faces.js';

export interface AnalyzeOptions {
  /** The dataset folder. */
  data: string;
  /** 'lfw' (default): a people file; 'folders': a folder per identity. */
  layout?: 'lfw' | 'folders';
  /** Layout lfw: the people file inside `data` (default peopleDevTrain.txt). */
  people?: string;
  /** The factors file (.safetensors). */
  out: string;
  /** Images per forward pass (default 32). */
  batch?: number;
  /** Images per chunk: the file is written after each (default 512). */
  chunk?: number;
  /** The landmark network (default 'full'). */
  landmarks?: 'full' | 'tiny';
  log?: (line: string) => void;
  /** After each batch: images done, total, images per second of this run. */
  onProgress?: (done: number, total: number, perSecond: number) => void;
  /** Stop after this many chunks of this run, leaving a partial file (tests: an interruption). */
  stopAfterChunks?: number;
  cache?: CacheOptions;
}

export interface AnalyzeResult {
  out: string;
  /** 'reused': the file was complete already; 'finished': this run completed it; 'stopped': partial. */
  status: 'reused' | 'finished' | 'stopped';
  table: FactorsTable;
  /** Rows measured by this run. */
  measured: number;
  seconds: number;
}

interface Loaded {
  pixels: Uint8Array;
  count: number;
  H: number;
  W: number;
  labels: Int32Array;
  images: [string, number | string][];
  skipped: { path: string; error: string }[];
}

function loadImages(o: AnalyzeOptions, log: (s: string) => void): Loaded {
  const cache = { log, ...o.cache };
  const c =
    (o.layout ?? 'lfw') === 'lfw'
      ? cachedLfw(o.data, o.people ?? 'peopleDevTrain.txt', FACE_PREPROCESS, cache)
      : cachedIdentityFolders(o.data, FACE_PREPROCESS, cache);
  const paths = c.paths;
  if (c.cache.C !== 3) throw new Error(`analyze: ${c.cachePath} holds ${c.cache.C}-channel images, not RGB`);
  const lfwIndex = (p: string) => /_(\d+)\.[^./]+$/.exec(p);
  const images = paths.map((p): [string, number | string] => {
    const [person, ...rest] = p.split('/');
    const m = o.layout === 'folders' ? null : lfwIndex(p);
    return [person, m ? Number(m[1]) : rest.join('/')];
  });
  return {
    pixels: c.cache.pixels,
    count: c.cache.count,
    H: c.cache.H,
    W: c.cache.W,
    labels: c.cache.labels,
    images,
    skipped: c.bad.map((b) => ({ path: b.path, error: b.error })),
  };
}

function fingerprintOf(d: Loaded, settings: unknown): string {
  const h = createHash('sha1');
  h.update(JSON.stringify([settings, d.H, d.W, d.images]));
  h.update(new Uint8Array(d.labels.buffer, d.labels.byteOffset, d.labels.byteLength));
  h.update(d.pixels);
  return h.digest('hex');
}

/**
 * face-api's networks (Node: read from the installed package) and their names for the file's
 * metadata; `expression: false` leaves the expression network out (see measureBatch).
 */
export function loadFaceNets(
  landmarks: 'full' | 'tiny',
  options: { expression?: boolean } = {},
): { nets: FaceNets; names: Record<string, string> } {
  const lmName = landmarks === 'full' ? LANDMARK68_WEIGHTS_NAME : LANDMARK68_TINY_WEIGHTS_NAME;
  const dir = faceApiModelDir();
  const version = (JSON.parse(readFileSync(join(dir, '..', 'package.json'), 'utf8')) as { version: string })
    .version;
  const nets: FaceNets = {
    landmarks: new (landmarks === 'full' ? Landmark68 : Landmark68Tiny)(loadTfjsWeights(lmName), lmName),
    expression:
      options.expression === false ? undefined : new FaceExpression(loadTfjsWeights(EXPRESSION_WEIGHTS_NAME)),
    dlib: new DlibDescriptor(loadTfjsWeights(DLIB_WEIGHTS_NAME)),
  };
  const names = {
    package: `${FACE_API_PACKAGE}@${version}`,
    landmarks: lmName,
    expression: EXPRESSION_WEIGHTS_NAME,
    descriptor: DLIB_WEIGHTS_NAME,
  };
  return { nets, names };
}

/** Measures rows [from, to) into the table's columns; `after(r)` when rows before r are done. */
async function measureRows(
  nets: FaceNets,
  d: Loaded,
  t: FactorsTable,
  [from, to]: [number, number],
  batch: number,
  after: (done: number) => void,
) {
  const { H, W } = d;
  const size = 3 * H * W;
  const c = t.columns;
  for (let start = from; start < to; start += batch) {
    const n = Math.min(batch, to - start);
    const rows = Array.from({ length: n }, (_, k) => start + k);
    const u8 = batchPixels(
      { count: d.count, C: 3, H, W, labels: d.labels, pixels: d.pixels },
      rows,
      'analyze',
    );
    const out = await measureBatch(nets, u8, n, H, W);
    for (let k = 0; k < n; k++) {
      const r = start + k;
      const lm = out.landmarks.subarray(k * 136, (k + 1) * 136);
      const desc = out.descriptors.subarray(k * 128, (k + 1) * 128);
      const probs = out.probs.subarray(k * 7, (k + 1) * 7);
      const finite = [lm, desc, probs].every((a) => a.every(Number.isFinite));
      const f = faceFactors(u8.subarray(k * size, (k + 1) * size), H, W, lm, finite);
      c.descriptor.set(desc, r * 128);
      c.landmarks.set(lm, r * 136);
      c.expression_probs.set(probs, r * 7);
      c.pose.set([f.yaw, f.pitch, f.roll], r * 3);
      c.pose_error[r] = f.poseError;
      c.lighting.set(f.lighting, r * rowSize('lighting'));
      c.lighting_sh.set(f.lightingSh, r * rowSize('lighting_sh'));
      c.lighting_residual[r] = f.lightingResidual;
      c.quality[r] = f.quality;
    }
    after(start + n);
  }
}

/**
 * Every row's quality bits again from the stored values (qualityBits), so that a file whose
 * chunks were measured by different versions of this code carries one definition of quality.
 */
export function recomputeQuality(t: FactorsTable, H: number, W: number): void {
  const c = t.columns;
  const row = (a: Float32Array, w: number, r: number) => a.subarray(r * w, (r + 1) * w);
  for (let r = 0; r < t.done; r++) {
    const lm = row(c.landmarks, 136, r);
    const finite = [lm, row(c.descriptor, 128, r), row(c.expression_probs, 7, r)].every((a) =>
      a.every(Number.isFinite),
    );
    c.quality[r] = qualityBits(lm, W, H, c.pose_error[r], finite, Number.isFinite(c.lighting_residual[r]));
  }
}

/**
 * The second pass: the expression model fitted on the usable images (quality 0), people's
 * residuals centred on their own mean; the code of every image with landmarks (NaN otherwise).
 */
export function fitExpression(t: FactorsTable): NonNullable<FactorsTable['expression']> {
  const lm = (r: number) => t.columns.landmarks.subarray(r * 136, (r + 1) * 136);
  const usable = Array.from({ length: t.done }, (_, r) => r).filter((r) => t.columns.quality[r] === 0);
  if (usable.length < 2)
    throw new Error(
      `analyze: ${usable.length} usable face(s) of ${t.done}: too few to fit the expression PCA`,
    );
  const person = (r: number) => t.images[r][0];
  const model = fitExpressionModel(usable.map(lm), { people: usable.map(person) });
  // each person's mean residual over their usable images (the identity's face shape)
  const sums = new Map<string, { sum: Float64Array; n: number }>();
  for (const r of usable) {
    const res = expressionResidual(lm(r), model.meanShape);
    const s = sums.get(person(r)) ?? { sum: new Float64Array(EXPRESSION_DIM), n: 0 };
    for (let i = 0; i < EXPRESSION_DIM; i++) s.sum[i] += res[i];
    s.n++;
    sums.set(person(r), s);
  }
  const k = model.variances.length;
  const code = new Float32Array(t.done * k).fill(NaN);
  for (let r = 0; r < t.done; r++) {
    if (t.columns.quality[r] & QUALITY.notFinite) continue;
    const s = sums.get(person(r));
    const mean = s && s.n >= 2 ? s.sum.map((v) => v / s.n) : undefined;
    code.set(expressionCode(lm(r), model, mean), r * k);
  }
  return { code, model };
}

export async function analyzeDataset(o: AnalyzeOptions): Promise<AnalyzeResult> {
  const log = o.log ?? (() => {});
  const batch = o.batch ?? 32;
  const chunk = o.chunk ?? 512;
  for (const [k, v] of Object.entries({ batch, chunk }))
    if (!(Number.isInteger(v) && v >= 1))
      throw new RangeError(`analyze: ${k} must be an integer >= 1, got ${v}`);
  const t0 = performance.now();
  const dir = dirname(o.out);
  if (dir) mkdirSync(dir, { recursive: true });
  const lock = acquireLock(o.out, `the factors file ${o.out}`, { log });
  try {
    const data = loadImages(o, log);
    const settings = {
      layout: o.layout ?? 'lfw',
      people: (o.layout ?? 'lfw') === 'lfw' ? (o.people ?? 'peopleDevTrain.txt') : null,
      preprocess: FACE_PREPROCESS,
      landmarks: o.landmarks ?? 'full',
    };
    const fingerprint = fingerprintOf(data, settings);
    let table: FactorsTable;
    if (existsSync(o.out)) {
      table = decodeFactors(readFileSync(o.out), o.out);
      if (JSON.stringify(table.settings) !== JSON.stringify(settings))
        throw new Error(
          `analyze: ${o.out} was made with other settings (${JSON.stringify(table.settings)}; now ${JSON.stringify(settings)}): ` +
            'delete it or choose another --out',
        );
      if (table.fingerprint !== fingerprint)
        throw new Error(
          `analyze: ${o.out} was made from other data (fingerprint ${table.fingerprint.slice(0, 12)}, ` +
            `${o.data} now gives ${fingerprint.slice(0, 12)}: images changed, added or removed): ` +
            'delete it or choose another --out',
        );
      if (table.complete) {
        log(`analyze: ${o.out} is complete and the data unchanged (${table.total} images): reused`);
        return { out: o.out, status: 'reused', table, measured: 0, seconds: (performance.now() - t0) / 1000 };
      }
      log(`analyze: resuming ${o.out} after ${table.done} of ${table.total} images`);
    } else {
      table = {
        done: 0,
        total: data.count,
        complete: false,
        fingerprint,
        images: data.images,
        settings,
        info: {},
        columns: emptyColumns(data.count),
      };
    }
    const { nets, names } = loadFaceNets(settings.landmarks as 'full' | 'tiny');
    table.info = {
      data: o.data,
      preprocess: JSON.stringify({
        ...FACE_PREPROCESS,
        note: 'centre crop of the dataset image (or pre-aligned as its dataset.json says), resized; then bilinear to each input',
        inputs: {
          landmarks: LANDMARK_INPUT_SIZE,
          expression: LANDMARK_INPUT_SIZE,
          descriptor: DLIB_INPUT_SIZE,
        },
      }),
      networks: JSON.stringify(names),
      networks_note:
        "face-api's networks (MIT) and dlib's descriptor (public domain), trained on real web-collected faces, run on this engine",
      skipped: JSON.stringify(data.skipped),
      expressions: JSON.stringify(EXPRESSIONS),
      quality_bits: JSON.stringify(QUALITY),
      image_size: JSON.stringify([data.H, data.W]),
    };
    const start = table.done;
    const tMeasure = performance.now();
    let chunks = 0;
    try {
      while (table.done < table.total) {
        if (o.stopAfterChunks !== undefined && chunks >= o.stopAfterChunks) {
          log(
            `analyze: stopped after ${chunks} chunk(s), ${table.done} of ${table.total} images in ${o.out}`,
          );
          return {
            out: o.out,
            status: 'stopped',
            table,
            measured: table.done - start,
            seconds: (performance.now() - t0) / 1000,
          };
        }
        const to = Math.min(table.total, table.done + chunk);
        await measureRows(nets, data, table, [table.done, to], batch, (done) =>
          o.onProgress?.(done, table.total, (done - start) / ((performance.now() - tMeasure) / 1000)),
        );
        table.done = to;
        chunks++;
        writeFileAtomic(o.out, encodeFactors(table));
      }
    } finally {
      for (const n of Object.values(nets)) n?.dispose();
    }
    recomputeQuality(table, data.H, data.W);
    table.expression = fitExpression(table);
    table.complete = true;
    writeFileAtomic(o.out, encodeFactors(table));
    return {
      out: o.out,
      status: 'finished',
      table,
      measured: table.done - start,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    lock.release();
  }
}
