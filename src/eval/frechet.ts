/**
 * The Frechet distance between two sets of vectors (e.g. dlib descriptors of generated and of
 * real faces), each summarized by a Gaussian: its mean mu and covariance S (Heusel et al.,
 * "GANs trained by a two time-scale update rule", the FID's formula in another feature space):
 *
 *   FD = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)
 *
 * The square roots by the symmetric eigendecomposition (src/face/linalg.ts, Jacobi, float64):
 * S1^1/2 = V diag(sqrt l) V^T, then M = S1^1/2 S2 S1^1/2 is symmetric positive semi-definite
 * and tr M^1/2 = sum sqrt(eig M). Eigenvalues a rounding error below 0 are taken as 0 (both
 * matrices are PSD). The covariance is the unbiased one (divided by n - 1, as numpy's cov).
 * The estimate is biased upward by roughly tr(S1)/n1 + tr(S2)/n2: compare FDs of equal sample
 * sizes only. Pure CPU, no Node imports.
 */
import { symmetricEigen } from '../face/linalg.js';

export interface GaussianStats {
  dim: number;
  /** Vectors summarized. */
  count: number;
  mean: Float64Array;
  /** dim x dim, row-major, unbiased (n - 1). */
  cov: Float64Array;
}

/** Mean and covariance of `count` rows of `dim` values (x: rows after rows). */
export function gaussianStats(x: ArrayLike<number>, dim: number, source = 'gaussianStats'): GaussianStats {
  const n = x.length / dim;
  if (!(Number.isInteger(n) && n >= 2))
    throw new RangeError(`${source}: ${x.length} values are not 2 or more rows of ${dim}`);
  const mean = new Float64Array(dim);
  for (let r = 0; r < n; r++) for (let j = 0; j < dim; j++) mean[j] += x[r * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= n;
  for (let i = 0; i < x.length; i++)
    if (!Number.isFinite(x[i]))
      throw new RangeError(`${source}: value ${x[i]} in row ${Math.floor(i / dim)} is not finite`);
  const cov = new Float64Array(dim * dim);
  const d = new Float64Array(dim);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < dim; j++) d[j] = x[r * dim + j] - mean[j];
    for (let a = 0; a < dim; a++) {
      const da = d[a];
      for (let b = 0; b <= a; b++) cov[a * dim + b] += da * d[b];
    }
  }
  for (let a = 0; a < dim; a++)
    for (let b = 0; b <= a; b++) {
      const v = cov[a * dim + b] / (n - 1);
      cov[a * dim + b] = v;
      cov[b * dim + a] = v;
    }
  return { dim, count: n, mean, cov };
}

/** A * B for n x n row-major matrices. */
function matmul(A: Float64Array, B: Float64Array, n: number): Float64Array {
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const a = A[i * n + k];
      if (a === 0) continue;
      for (let j = 0; j < n; j++) C[i * n + j] += a * B[k * n + j];
    }
  return C;
}

/** The PSD square root V diag(sqrt(max(l, 0))) V^T of a symmetric matrix. */
export function sqrtPsd(S: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(S, n); // eigenvectors are the rows of `vectors`
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(values[k], 0));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) {
      const vi = s * vectors[k * n + i];
      for (let j = 0; j < n; j++) out[i * n + j] += vi * vectors[k * n + j];
    }
  }
  return out;
}

/** tr((S1^1/2 S2 S1^1/2)^1/2) = the sum of the square roots of the eigenvalues of S1 S2. */
export function traceSqrtProduct(S1: ArrayLike<number>, S2: ArrayLike<number>, n: number): number {
  const R = sqrtPsd(S1, n);
  const M = matmul(matmul(R, Float64Array.from(S2 as ArrayLike<number>), n), R, n);
  // symmetric up to rounding: symmetrize before the eigen solver, which reads both triangles
  for (let i = 0; i < n; i++)
    for (let j = 0; j < i; j++) M[i * n + j] = M[j * n + i] = (M[i * n + j] + M[j * n + i]) / 2;
  return symmetricEigen(M, n).values.reduce((s, l) => s + Math.sqrt(Math.max(l, 0)), 0);
}

/** The Frechet distance between two Gaussians (see the header). */
export function frechetDistance(a: GaussianStats, b: GaussianStats): number {
  if (a.dim !== b.dim) throw new RangeError(`frechetDistance: dimensions ${a.dim} and ${b.dim} differ`);
  const n = a.dim;
  let d2 = 0,
    tr = 0;
  for (let j = 0; j < n; j++) {
    d2 += (a.mean[j] - b.mean[j]) ** 2;
    tr += a.cov[j * n + j] + b.cov[j * n + j];
  }
  return d2 + tr - 2 * traceSqrtProduct(a.cov, b.cov, n);
}

/** The Frechet distance between two sets of rows of `dim` values. */
export function frechetDistanceOf(x: ArrayLike<number>, y: ArrayLike<number>, dim: number): number {
  return frechetDistance(
    gaussianStats(x, dim, 'frechet: first set'),
    gaussianStats(y, dim, 'frechet: second set'),
  );
}
