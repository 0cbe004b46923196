/**
 * Similarity Procrustes in 2D: the scale, rotation and translation (no reflection) that best
 * map points p onto target points q in least squares, and the generalized version that
 * finds the mean shape of many.
 *
 * In complex numbers, a similarity is q = a p + b (|a| the scale, arg a the rotation). With
 * both sets centred on the aligned points' centroids, the least-squares a is
 *
 *     a = sum conj(p_i) q_i / sum |p_i|^2        (a 1-D complex least-squares problem)
 *
 * and b = mean q - a mean p. Only the points listed in `indices` drive the fit; every point is
 * mapped.
 */

/** Maps all points of `points` (flat x, y) by the similarity that best aligns `indices` of them to `target`. */
export function alignSimilarity(
  points: ArrayLike<number>,
  target: ArrayLike<number>,
  indices: readonly number[],
): Float64Array {
  const n = indices.length;
  let px = 0;
  let py = 0;
  let qx = 0;
  let qy = 0;
  for (const i of indices) {
    px += points[2 * i] / n;
    py += points[2 * i + 1] / n;
    qx += target[2 * i] / n;
    qy += target[2 * i + 1] / n;
  }
  let re = 0; // sum conj(p) q
  let im = 0;
  let pp = 0;
  for (const i of indices) {
    const [x, y] = [points[2 * i] - px, points[2 * i + 1] - py];
    const [u, v] = [target[2 * i] - qx, target[2 * i + 1] - qy];
    re += x * u + y * v;
    im += x * v - y * u;
    pp += x * x + y * y;
  }
  if (!(pp > 0)) throw new RangeError('procrustes: the points to align coincide');
  const [ar, ai] = [re / pp, im / pp];
  const out = new Float64Array(points.length);
  for (let i = 0; i < points.length / 2; i++) {
    const [x, y] = [points[2 * i] - px, points[2 * i + 1] - py];
    out[2 * i] = ar * x - ai * y + qx;
    out[2 * i + 1] = ai * x + ar * y + qy;
  }
  return out;
}

/**
 * Generalized Procrustes analysis: the mean shape of `shapes` up to similarity. Start from the
 * first shape, align every shape to the current mean, average, normalise the mean (centroid
 * of `indices` at 0, points a and b at (-1/2, 0) and (1/2, 0) apart by 1: for faces a = 36,
 * b = 45, the outer eye corners, so the unit is the inter-ocular distance), repeat until it
 * stops moving.
 */
export function meanShape(
  shapes: readonly ArrayLike<number>[],
  indices: readonly number[],
  a: number,
  b: number,
): Float64Array {
  if (shapes.length === 0) throw new RangeError('procrustes: no shapes to average');
  let mean = normalise(Float64Array.from(shapes[0]), indices, a, b);
  for (let iter = 0; iter < 50; iter++) {
    const next = new Float64Array(mean.length);
    for (const s of shapes) {
      const aligned = alignSimilarity(s, mean, indices);
      for (let k = 0; k < next.length; k++) next[k] += aligned[k] / shapes.length;
    }
    const normalised = normalise(next, indices, a, b);
    let change = 0;
    for (let k = 0; k < mean.length; k++) change = Math.max(change, Math.abs(normalised[k] - mean[k]));
    mean = normalised;
    if (change < 1e-12) break;
  }
  return mean;
}

/** The shape moved, turned and scaled so that a -> (-1/2, y) and b -> (1/2, y), centroid of `indices` at 0. */
function normalise(shape: Float64Array, indices: readonly number[], a: number, b: number): Float64Array {
  const dx = shape[2 * b] - shape[2 * a];
  const dy = shape[2 * b + 1] - shape[2 * a + 1];
  const d2 = dx * dx + dy * dy;
  if (!(d2 > 0)) throw new RangeError(`procrustes: points ${a} and ${b} coincide`);
  // rotate by -angle(d) and scale by 1/|d|: multiply by conj(d) / |d|^2
  const [cr, ci] = [dx / d2, -dy / d2];
  const n = indices.length;
  let cx = 0;
  let cy = 0;
  for (const i of indices) {
    cx += shape[2 * i] / n;
    cy += shape[2 * i + 1] / n;
  }
  const out = new Float64Array(shape.length);
  for (let i = 0; i < shape.length / 2; i++) {
    const [x, y] = [shape[2 * i] - cx, shape[2 * i + 1] - cy];
    out[2 * i] = cr * x - ci * y;
    out[2 * i + 1] = ci * x + cr * y;
  }
  return out;
}
