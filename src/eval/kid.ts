/**
 * The kernel inception distance (Binkowski et al., "Demystifying MMD GANs", 2018), here in
 * any feature space (the dlib descriptor's for faces): the squared maximum mean discrepancy
 * between two sets X (m vectors) and Y (n vectors) under the cubic polynomial kernel
 *
 *   k(x, y) = (x . y / d + 1)^3                         (d the dimension)
 *
 * by its unbiased estimator
 *
 *   MMD^2 = sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (n (n - 1))
 *           - 2 sum_{i, j} k(x_i, y_j) / (m n),
 *
 * averaged, as in the paper, over random subsets of s vectors of each set (drawn without
 * replacement, independently per subset); the std over the subsets comes with it. Unlike the
 * Frechet distance it is unbiased, so sets of different sizes compare fairly, and it can be
 * slightly negative when the two distributions are the same. The Gram matrices are computed
 * once (float64), the subsets only index them. Pure CPU, no Node imports.
 */
import { Generator, randperm } from '../tensor/random.js';

export interface KidOptions {
  /** Subsets averaged (default 100). */
  subsets?: number;
  /** Vectors per subset of each set (default 1000, at most the smaller set). */
  subsetSize?: number;
  /** Seed of the subsets (default 0). */
  seed?: number;
}

export interface KidResult {
  kid: number;
  /** Std of the subsets' estimates (population). */
  std: number;
  subsets: number;
  subsetSize: number;
}

/** The cubic polynomial kernel (x . y / d + 1)^3 of two vectors of length d. */
export function polynomialKernel(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let dot = 0;
  for (let i = 0; i < x.length; i++) dot += x[i] * y[i];
  return (dot / x.length + 1) ** 3;
}

/** k(a_i, b_j) for rows a_i of A (p rows) and b_j of B (q rows), p x q row-major. */
function gram(A: ArrayLike<number>, B: ArrayLike<number>, dim: number): Float64Array {
  const p = A.length / dim,
    q = B.length / dim;
  const out = new Float64Array(p * q);
  for (let i = 0; i < p; i++)
    for (let j = 0; j < q; j++) {
      let dot = 0;
      for (let t = 0; t < dim; t++) dot += A[i * dim + t] * B[j * dim + t];
      out[i * q + j] = (dot / dim + 1) ** 3;
    }
  return out;
}

/** The unbiased MMD^2 of rows `ix` of X against rows `iy` of Y, from the Gram matrices. */
function mmd2(
  kxx: Float64Array,
  kyy: Float64Array,
  kxy: Float64Array,
  nx: number,
  ny: number,
  ix: ArrayLike<number>,
  iy: ArrayLike<number>,
): number {
  const m = ix.length,
    n = iy.length;
  let sxx = 0,
    syy = 0,
    sxy = 0;
  for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) if (a !== b) sxx += kxx[ix[a] * nx + ix[b]];
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) if (a !== b) syy += kyy[iy[a] * ny + iy[b]];
  for (let a = 0; a < m; a++) for (let b = 0; b < n; b++) sxy += kxy[ix[a] * ny + iy[b]];
  return sxx / (m * (m - 1)) + syy / (n * (n - 1)) - (2 * sxy) / (m * n);
}

/** KID of rows of X against rows of Y (`dim` values each); see the header. */
export function kernelInceptionDistance(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  dim: number,
  options: KidOptions = {},
): KidResult {
  const nx = x.length / dim,
    ny = y.length / dim;
  for (const [what, n, a] of [
    ['first', nx, x],
    ['second', ny, y],
  ] as const) {
    if (!(Number.isInteger(n) && n >= 2))
      throw new RangeError(`kid: the ${what} set's ${a.length} values are not 2 or more rows of ${dim}`);
    for (let i = 0; i < a.length; i++)
      if (!Number.isFinite(a[i]))
        throw new RangeError(
          `kid: value ${a[i]} in row ${Math.floor(i / dim)} of the ${what} set is not finite`,
        );
  }
  const subsets = options.subsets ?? 100;
  const s = Math.min(options.subsetSize ?? 1000, nx, ny);
  if (!(Number.isInteger(subsets) && subsets >= 1))
    throw new RangeError(`kid: subsets must be an integer >= 1, got ${subsets}`);
  if (!(Number.isInteger(s) && s >= 2))
    throw new RangeError(`kid: subset size must be an integer >= 2, got ${s}`);
  const kxx = gram(x, x, dim),
    kyy = gram(y, y, dim),
    kxy = gram(x, y, dim);
  const gen = new Generator(options.seed ?? 0);
  const values: number[] = [];
  for (let t = 0; t < subsets; t++) {
    const ix = randperm(nx, gen).subarray(0, s);
    const iy = randperm(ny, gen).subarray(0, s);
    values.push(mmd2(kxx, kyy, kxy, nx, ny, ix, iy));
  }
  const kid = values.reduce((a, b) => a + b, 0) / subsets;
  const std = Math.sqrt(values.reduce((a, v) => a + (v - kid) ** 2, 0) / subsets);
  return { kid, std, subsets, subsetSize: s };
}
