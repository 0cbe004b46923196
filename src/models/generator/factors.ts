/**
 * The measured factors of real images as the generator takes them (no GPU, no Node):
 *
 *   FactorRows     raw per-image measurements, row after row: the dlib descriptor, the
 *                  expression code, yaw/pitch/roll in degrees, the lighting code
 *   fitFactorNorm  per-dimension mean and std over the training rows (stored in the config)
 *   standardize    (value - mean) / std of chosen rows, the generator's and D's inputs
 *
 * Standardizing keeps every factor at unit scale whatever its units (degrees, luminance
 * gradients, descriptor components), so no factor dominates the mapping's first layer.
 */
import type { FactorNorm, GeneratorConfig } from './config.js';

export interface FactorRows {
  count: number;
  /** count x descriptorDim */
  descriptor: Float32Array;
  /** count x expDim */
  expression: Float32Array;
  /** count x 3: yaw, pitch, roll (degrees) */
  pose: Float32Array;
  /** count x lightDim */
  lighting: Float32Array;
}

export const FACTOR_NAMES = ['descriptor', 'expression', 'pose', 'lighting'] as const;
export type FactorName = (typeof FACTOR_NAMES)[number];

/** Values per row of each factor. */
export function factorDims(rows: FactorRows): Record<FactorName, number> {
  const d = (a: Float32Array) => (rows.count ? a.length / rows.count : 0);
  return {
    descriptor: d(rows.descriptor),
    expression: d(rows.expression),
    pose: d(rows.pose),
    lighting: d(rows.lighting),
  };
}

/** Throws naming the factor and the row of the first value that is not finite. */
export function checkFactorRows(rows: FactorRows, source: string): void {
  const dims = factorDims(rows);
  for (const k of FACTOR_NAMES) {
    const a = rows[k];
    if (!Number.isInteger(dims[k]) || a.length !== rows.count * dims[k])
      throw new Error(
        `${source}: ${k} holds ${a.length} values, not a whole number per each of ${rows.count} rows`,
      );
    const i = a.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) throw new Error(`${source}: ${k} of row ${Math.floor(i / dims[k])} is ${a[i]} (not finite)`);
  }
}

function columnNorm(a: Float32Array, count: number, dim: number): FactorNorm {
  const mean = new Array<number>(dim).fill(0),
    std = new Array<number>(dim).fill(0);
  for (let r = 0; r < count; r++) for (let j = 0; j < dim; j++) mean[j] += a[r * dim + j] / count;
  for (let r = 0; r < count; r++)
    for (let j = 0; j < dim; j++) std[j] += (a[r * dim + j] - mean[j]) ** 2 / count;
  // a constant column (std 0) is left unscaled
  return { mean, std: std.map((v) => (v > 1e-12 ? Math.sqrt(v) : 1)) };
}

/** Mean and std of every dimension of every factor, over all rows. */
export function fitFactorNorm(rows: FactorRows): GeneratorConfig['norm'] {
  const dims = factorDims(rows);
  return Object.fromEntries(
    FACTOR_NAMES.map((k) => [k, columnNorm(rows[k], rows.count, dims[k])]),
  ) as GeneratorConfig['norm'];
}

/** The standardized factors of `indices` (rows of `rows`), each (indices.length x dim). */
export function standardize(
  rows: FactorRows,
  norm: GeneratorConfig['norm'],
  indices: ArrayLike<number>,
): Record<FactorName, Float32Array> {
  const dims = factorDims(rows);
  const out = {} as Record<FactorName, Float32Array>;
  for (const k of FACTOR_NAMES) {
    const d = dims[k],
      { mean, std } = norm[k];
    if (mean.length !== d)
      throw new RangeError(`standardize: ${k} has ${d} values per row, the model's norm ${mean.length}`);
    const a = new Float32Array(indices.length * d);
    for (let n = 0; n < indices.length; n++) {
      const r = indices[n];
      if (!(Number.isInteger(r) && r >= 0 && r < rows.count))
        throw new RangeError(`standardize: row ${r} is not in 0..${rows.count - 1}`);
      for (let j = 0; j < d; j++) a[n * d + j] = (rows[k][r * d + j] - mean[j]) / std[j];
    }
    out[k] = a;
  }
  return out;
}
