/**
 * Expression, pose and lighting for new images (no GPU, no Node): the empirical prior of the
 * training measurements, and the ranges a requested factor must stay in.
 *
 *   sampleFactors  each image's expression, pose and lighting, each factor copied from its own
 *                  uniformly drawn training image (independent draws: a smile of one image, the
 *                  head pose of another, the light of a third), so every value is one the
 *                  data really shows and the factors' marginals are the data's own
 *   factorRanges   per dimension, the smallest and largest value measured on the training rows:
 *                  the generator has seen nothing outside them
 * The draws come from a seeded Generator's CPU stream (the same numbers on every machine).
 */
import { Generator } from '../../tensor/random.js';
import { factorDims, type FactorRows } from './factors.js';

export type SampledFactor = 'expression' | 'pose' | 'lighting';
export const SAMPLED_FACTORS: readonly SampledFactor[] = ['expression', 'pose', 'lighting'];

/** n rows of raw expression, pose and lighting (n x dim each), drawn from the training rows. */
export function sampleFactors(
  rows: FactorRows,
  n: number,
  gen: Generator,
): Record<SampledFactor, Float32Array> {
  if (rows.count < 1) throw new RangeError('sampleFactors: no training rows to draw from');
  const dims = factorDims(rows);
  const bits = gen.bitsCpu(3 * n);
  const out = {} as Record<SampledFactor, Float32Array>;
  SAMPLED_FACTORS.forEach((k, f) => {
    const d = dims[k];
    const a = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const r = Math.floor((bits[3 * i + f] / 2 ** 32) * rows.count);
      a.set(rows[k].subarray(r * d, (r + 1) * d), i * d);
    }
    out[k] = a;
  });
  return out;
}

export interface FactorRange {
  min: number[];
  max: number[];
}

/** Per dimension, the smallest and the largest training value of each sampled factor. */
export function factorRanges(rows: FactorRows): Record<SampledFactor, FactorRange> {
  const dims = factorDims(rows);
  const out = {} as Record<SampledFactor, FactorRange>;
  for (const k of SAMPLED_FACTORS) {
    const d = dims[k];
    const min = new Array<number>(d).fill(Infinity),
      max = new Array<number>(d).fill(-Infinity);
    for (let r = 0; r < rows.count; r++)
      for (let j = 0; j < d; j++) {
        const v = rows[k][r * d + j];
        if (v < min[j]) min[j] = v;
        if (v > max[j]) max[j] = v;
      }
    out[k] = { min, max };
  }
  return out;
}
