/**
 * The small dense linear algebra the factors need, in float64 on the CPU: symmetric
 * positive-definite solves (Cholesky) for least squares by normal equations, and the
 * eigendecomposition of a symmetric matrix (cyclic Jacobi) for PCA. Matrices are row-major
 * Float64Arrays of n x n. Sizes here are at most 84 x 84, where these simple methods are exact
 * enough (float64) and fast (well under a millisecond to a few ms).
 */

/**
 * Solves A x = b for symmetric positive-definite A (n x n) by Cholesky, A = L L^T. Throws
 * `what: ... singular` when a pivot is not positive (relative to the diagonal's scale), which
 * for normal equations means the least-squares problem has no unique solution.
 */
export function solveSpd(A: ArrayLike<number>, b: ArrayLike<number>, n: number, what: string): Float64Array {
  const L = new Float64Array(n * n);
  let diagScale = 0;
  for (let i = 0; i < n; i++) diagScale = Math.max(diagScale, Math.abs(A[i * n + i]));
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j];
    for (let k = 0; k < j; k++) d -= L[j * n + k] * L[j * n + k];
    if (!(d > 1e-12 * diagScale))
      throw new RangeError(
        `${what}: the least-squares system is singular (pivot ${j} is ${d.toExponential(2)})`,
      );
    L[j * n + j] = Math.sqrt(d);
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = s / L[j * n + j];
    }
  }
  const y = new Float64Array(n); // L y = b
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * y[k];
    y[i] = s / L[i * n + i];
  }
  const x = new Float64Array(n); // L^T x = y
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}

/**
 * Least squares min |X c - y|^2 by the normal equations (X^T X) c = X^T y, with X given as
 * `rows` (m rows of n features) and optional weights. Fine for the well-scaled, low-order
 * bases used here (n <= 9).
 */
export function leastSquares(
  rows: Float64Array,
  y: ArrayLike<number>,
  n: number,
  what: string,
): Float64Array {
  const m = y.length;
  const XtX = new Float64Array(n * n);
  const Xty = new Float64Array(n);
  for (let r = 0; r < m; r++) {
    const o = r * n;
    for (let i = 0; i < n; i++) {
      Xty[i] += rows[o + i] * y[r];
      for (let j = 0; j <= i; j++) XtX[i * n + j] += rows[o + i] * rows[o + j];
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) XtX[j * n + i] = XtX[i * n + j];
  return solveSpd(XtX, Xty, n, what);
}

/**
 * Eigendecomposition of a symmetric n x n matrix by cyclic Jacobi rotations: each sweep zeroes
 * every off-diagonal pair (p, q) with a plane rotation J, A <- J^T A J, V <- V J, until the
 * off-diagonal mass is negligible. Returns eigenvalues in decreasing order and the matching
 * unit eigenvectors as the rows of `vectors` (n x n).
 */
export function symmetricEigen(
  S: ArrayLike<number>,
  n: number,
): { values: Float64Array; vectors: Float64Array } {
  const A = Float64Array.from(S as ArrayLike<number>);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += A[i] * A[i];
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q] ** 2;
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q];
        if (apq === 0) continue;
        // the angle that zeroes A[p][q]: tan(2 theta) = 2 apq / (aqq - app)
        const theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          // columns p and q of A
          const akp = A[k * n + p];
          const akq = A[k * n + q];
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          // rows p and q
          const apk = A[p * n + k];
          const aqk = A[q * n + k];
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p];
          const vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => A[b * n + b] - A[a * n + a]);
  const values = Float64Array.from(order, (i) => A[i * n + i]);
  const vectors = new Float64Array(n * n);
  order.forEach((col, row) => {
    for (let k = 0; k < n; k++) vectors[row * n + k] = V[k * n + col];
  });
  return { values, vectors };
}
