/**
 * The factors file `synface analyze` writes: one safetensors file of per-image factors of a
 * dataset, complete or partial (a run stopped between chunks). No Node imports: bytes in, bytes
 * out, so a browser can read it too.
 *
 * Tensors, one row per image (N images, in the order of the metadata's `images`):
 *   descriptor         (N, 128) f32   dlib's identity descriptor
 *   landmarks          (N, 68, 2) f32 x / W, y / H of the 68 points (relative to the image)
 *   pose               (N, 3) f32     yaw, pitch, roll in degrees (src/face/pose.ts)
 *   pose_error         (N) f32        the pose fit's mean reprojection error, pixels of the image
 *   expression_probs   (N, 7) f32     the expression network's softmax (metadata `expressions`)
 *   lighting           (N, 6) f32     the lighting code [a, b, c, d, e, f] (src/face/lighting.ts)
 *   lighting_sh        (N, 9) f32     order-2 spherical-harmonic coefficients of luminance
 *   lighting_residual  (N) f32        RMS residual of the lighting code's fit (luminance in [0, 1])
 *   quality            (N) u32        0, or bits naming what is wrong (metadata `quality_bits`)
 *   expression         (N, k) f32     the expression code (complete files only)
 *   expression_model/mean_shape, /center, /basis, /variances   its PCA (src/face/expression.ts)
 * A value that could not be measured is NaN; the quality bits say why.
 *
 * Metadata (strings): format, complete ('true' | 'false'), done (rows present), total, the
 * data `fingerprint`, `images` (JSON [[person, index or file], ...]: the LFW index for LFW
 * layout, the file inside the person's folder otherwise), `settings` (JSON: what must match to
 * resume: layout, people file, preprocessing, landmark network), `preprocess` (JSON: the crop and
 * the networks' input sizes), `networks` (JSON: package and weight names), `skipped`
 * (JSON: undecodable files, not among the rows), `quality_bits`, `expressions`, `data`, and the
 * expression model's `expression_model/total_variance`.
 */
import { parseSafetensors, serializeSafetensors } from '../io/safetensors.js';
import type { TensorData } from '../tensor/tensor-data.js';
import { expressionModelFromTensors, expressionModelTensors, type ExpressionModel } from './expression.js';

export const FACTORS_FORMAT = 'synface-factors 1';

/** The per-image columns measured chunk by chunk, with their per-image shapes. */
export const COLUMNS = {
  descriptor: [128],
  landmarks: [68, 2],
  pose: [3],
  pose_error: [],
  expression_probs: [7],
  lighting: [6],
  lighting_sh: [9],
  lighting_residual: [],
  quality: [],
} as const satisfies Record<string, readonly number[]>;
export type Column = keyof typeof COLUMNS;

export const rowSize = (c: Column) => (COLUMNS[c] as readonly number[]).reduce((a, b) => a * b, 1);

export interface FactorsTable {
  /** Rows measured; the arrays hold `total` rows, the first `done` of them filled. */
  done: number;
  total: number;
  complete: boolean;
  fingerprint: string;
  /** [person, LFW index or file] of each row. */
  images: [string, number | string][];
  /** JSON-able; compared as text when resuming. */
  settings: Record<string, unknown>;
  /** Everything else for the metadata (networks, skipped, data ...), as strings. */
  info: Record<string, string>;
  columns: { [c in Column]: c extends 'quality' ? Uint32Array : Float32Array };
  /** Complete files: the expression code (total x k) and its model. */
  expression?: { code: Float32Array; model: ExpressionModel };
}

/** Empty arrays for `total` images (NaN, quality 0). */
export function emptyColumns(total: number): FactorsTable['columns'] {
  const f = (c: Column) => new Float32Array(total * rowSize(c)).fill(NaN);
  return {
    descriptor: f('descriptor'),
    landmarks: f('landmarks'),
    pose: f('pose'),
    pose_error: f('pose_error'),
    expression_probs: f('expression_probs'),
    lighting: f('lighting'),
    lighting_sh: f('lighting_sh'),
    lighting_residual: f('lighting_residual'),
    quality: new Uint32Array(total),
  };
}

/** The table as safetensors bytes (the first `done` rows of each column). */
export function encodeFactors(t: FactorsTable): Uint8Array {
  const tensors: Record<string, TensorData> = {};
  for (const c of Object.keys(COLUMNS) as Column[]) {
    const data = t.columns[c].subarray(0, t.done * rowSize(c));
    tensors[c] = { dtype: c === 'quality' ? 'u32' : 'f32', shape: [t.done, ...COLUMNS[c]], data };
  }
  const metadata: Record<string, string> = {
    ...t.info,
    format: FACTORS_FORMAT,
    complete: String(t.complete),
    done: String(t.done),
    total: String(t.total),
    fingerprint: t.fingerprint,
    images: JSON.stringify(t.images),
    settings: JSON.stringify(t.settings),
  };
  if (t.expression) {
    const k = t.expression.model.variances.length;
    tensors.expression = { dtype: 'f32', shape: [t.done, k], data: t.expression.code };
    const m = expressionModelTensors(t.expression.model);
    for (const [name, v] of Object.entries(m.tensors)) tensors[`expression_model/${name}`] = v;
    metadata['expression_model/total_variance'] = m.metadata.total_variance;
  }
  return serializeSafetensors(tensors, metadata);
}

/** Reads a factors file (partial or complete); `source` names it in every error. */
export function decodeFactors(bytes: Uint8Array, source: string): FactorsTable {
  const { tensors, metadata } = parseSafetensors(bytes, source);
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (metadata.format !== FACTORS_FORMAT)
    fail(`not a factors file of synface analyze (format '${metadata.format}', expected '${FACTORS_FORMAT}')`);
  const done = Number(metadata.done);
  const total = Number(metadata.total);
  if (!(Number.isInteger(done) && Number.isInteger(total) && done >= 0 && done <= total))
    fail(`metadata done '${metadata.done}' / total '${metadata.total}' are not 0 <= done <= total`);
  const json = <T>(key: string): T => {
    try {
      return JSON.parse(metadata[key]) as T;
    } catch {
      return fail(`metadata '${key}' is not valid JSON`);
    }
  };
  const images = json<[string, number | string][]>('images');
  if (!Array.isArray(images) || images.length !== total)
    fail(`metadata images lists ${Array.isArray(images) ? images.length : 'no'} images, total is ${total}`);
  const columns = emptyColumns(total);
  for (const c of Object.keys(COLUMNS) as Column[]) {
    const t = tensors[c];
    const shape = [done, ...COLUMNS[c]];
    if (!t) fail(`tensor '${c}' is missing`);
    if (t.shape.join() !== shape.join()) fail(`tensor '${c}' has shape [${t.shape}], expected [${shape}]`);
    if (t.dtype !== (c === 'quality' ? 'u32' : 'f32')) fail(`tensor '${c}' has dtype ${t.dtype}`);
    columns[c].set(t.data as Float32Array & Uint32Array);
  }
  const info = { ...metadata };
  for (const k of ['format', 'complete', 'done', 'total', 'fingerprint', 'images', 'settings'])
    delete info[k];
  const table: FactorsTable = {
    done,
    total,
    complete: metadata.complete === 'true',
    fingerprint: metadata.fingerprint ?? '',
    images,
    settings: json<Record<string, unknown>>('settings'),
    info,
    columns,
  };
  if (tensors.expression) {
    const model = expressionModelFromTensors(
      Object.fromEntries(
        Object.entries(tensors)
          .filter(([k]) => k.startsWith('expression_model/'))
          .map(([k, v]) => [k.slice('expression_model/'.length), v]),
      ),
      { total_variance: metadata['expression_model/total_variance'] },
      source,
    );
    const code = tensors.expression;
    if (code.shape.join() !== [done, model.variances.length].join())
      fail(`tensor 'expression' has shape [${code.shape}], expected [${done}, ${model.variances.length}]`);
    table.expression = { code: code.data as Float32Array, model };
  }
  if (table.complete && (done !== total || !table.expression))
    fail(
      `marked complete but holds ${done} of ${total} rows${table.expression ? '' : ' and no expression code'}`,
    );
  return table;
}
