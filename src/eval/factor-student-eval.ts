/**
 * How well the factor student reproduces its teachers on images it did not train on (no Node
 * imports): the student's raw predictions against the measured factors of the same images.
 *
 *   pose, expression, lighting   per component: Pearson r of predicted vs measured, mean
 *                                absolute error in raw units (degrees for pose), and the MAE of
 *                                always answering the training mean (what r = 0 costs)
 *   descriptor                   mean Euclidean distance |predicted - measured| (dlib units;
 *                                dlib calls two faces the same person below ~0.6), the same for
 *                                the training mean descriptor, and the mean per-dimension r
 *   verification (optional)      pairs scored by minus the Euclidean distance of descriptors
 *                                (dlib's rule), 10 balanced folds: predicted descriptors
 *                                against the measured ones on the same pairs
 */
import { noGrad } from '../autograd/tape.js';
import { tensor } from '../tensor/create.js';
import { scope } from '../tensor/scope.js';
import type { ImageCache } from '../data/image-cache.js';
import { FactorStudent, unstandardize } from '../models/factor-student.js';
import type { FactorRows } from '../models/generator/factors.js';
import { pearson } from './generator-metrics.js';
import { balancedFolds, euclideanDistance, thresholdGrid, verificationReport } from './verification.js';

/** The student's raw factor predictions for cache rows (eval mode, batches of `batch`). */
export async function predictFactors(
  student: FactorStudent,
  cache: ImageCache,
  rows: ArrayLike<number>,
  batch = 64,
): Promise<FactorRows> {
  const [H, W] = student.config.backbone.input;
  if (cache.C !== 3 || cache.H !== H || cache.W !== W)
    throw new Error(
      `predictFactors: the images are ${cache.C}x${cache.H}x${cache.W}, the student takes 3x${H}x${W}`,
    );
  const size = 3 * H * W,
    D = student.dim;
  const out = new Float32Array(rows.length * D);
  const was = student.training;
  student.eval();
  try {
    for (let start = 0; start < rows.length; start += batch) {
      const n = Math.min(batch, rows.length - start);
      const x = new Float32Array(n * size);
      for (let i = 0; i < n; i++) {
        const src = cache.pixels.subarray(rows[start + i] * size, (rows[start + i] + 1) * size);
        for (let j = 0; j < size; j++) x[i * size + j] = src[j] / 127.5 - 1;
      }
      const y = scope(() => noGrad(() => student.forward(tensor(x, [n, 3, H, W]))));
      out.set((await y.toArray()) as Float32Array, start * D);
      y.dispose();
    }
  } finally {
    if (was) student.train();
  }
  return unstandardize(out, student.config.norm);
}

export interface ComponentMetrics {
  name: string;
  pearson: number;
  mae: number;
  /** MAE of predicting the training mean. */
  maeOfMean: number;
}

export interface StudentMetrics {
  images: number;
  pose: ComponentMetrics[];
  expression: ComponentMetrics[];
  lighting: ComponentMetrics[];
  descriptor: { meanDistance: number; meanDistanceOfMean: number; meanPearson: number };
}

/** Pearson's r, with a constant series (no correlation to measure) counted as 0, not NaN. */
const pearsonOr0 = (a: ArrayLike<number>, b: ArrayLike<number>) => pearson(a, b) || 0;

const column = (a: Float32Array, d: number, j: number) =>
  Float64Array.from({ length: a.length / d }, (_, n) => a[n * d + j]);

function components(
  pred: Float32Array,
  meas: Float32Array,
  d: number,
  trainMean: number[],
  names: (j: number) => string,
): ComponentMetrics[] {
  return Array.from({ length: d }, (_, j) => {
    const p = column(pred, d, j),
      m = column(meas, d, j);
    let mae = 0,
      maeOfMean = 0;
    for (let i = 0; i < m.length; i++) {
      mae += Math.abs(p[i] - m[i]) / m.length;
      maeOfMean += Math.abs(trainMean[j] - m[i]) / m.length;
    }
    return { name: names(j), pearson: pearsonOr0(p, m), mae, maeOfMean };
  });
}

/** Predicted against measured factors of the same images; `trainMean`: the student's norm means. */
export function compareFactors(
  pred: FactorRows,
  meas: FactorRows,
  trainMean: { descriptor: number[]; expression: number[]; pose: number[]; lighting: number[] },
): StudentMetrics {
  if (pred.count !== meas.count)
    throw new Error(`compareFactors: ${pred.count} predicted rows, ${meas.count} measured`);
  const n = meas.count;
  const k = meas.expression.length / n,
    l = meas.lighting.length / n,
    dd = meas.descriptor.length / n;
  const pose = components(pred.pose, meas.pose, 3, trainMean.pose, (j) => ['yaw', 'pitch', 'roll'][j]);
  const expression = components(pred.expression, meas.expression, k, trainMean.expression, (j) => `exp${j}`);
  const lighting = components(
    pred.lighting,
    meas.lighting,
    l,
    trainMean.lighting,
    (j) => 'abcdef'[j] ?? `l${j}`,
  );
  let dist = 0,
    distMean = 0;
  for (let i = 0; i < n; i++) {
    const m = meas.descriptor.subarray(i * dd, (i + 1) * dd);
    dist += euclideanDistance(pred.descriptor.subarray(i * dd, (i + 1) * dd), m) / n;
    distMean += euclideanDistance(trainMean.descriptor, m) / n;
  }
  let r = 0;
  for (let j = 0; j < dd; j++)
    r += pearsonOr0(column(pred.descriptor, dd, j), column(meas.descriptor, dd, j)) / dd;
  return {
    images: n,
    pose,
    expression,
    lighting,
    descriptor: { meanDistance: dist, meanDistanceOfMean: distMean, meanPearson: r },
  };
}

/**
 * Verification accuracy of descriptors on pairs (a, b: indices into `descriptors`, rows of
 * `dim`), scored by minus the Euclidean distance, 10 folds balanced by label.
 */
export function descriptorVerification(
  descriptors: Float32Array,
  dim: number,
  pairs: readonly { a: number; b: number; same: boolean }[],
): { accuracy: number; std: number; auc: number } {
  const vec = (i: number) => descriptors.subarray(i * dim, (i + 1) * dim);
  const scores = Float64Array.from(pairs, (p) => -euclideanDistance(vec(p.a), vec(p.b)));
  const same = pairs.map((p) => p.same);
  const r = verificationReport(scores, same, {
    folds: balancedFolds(same),
    thresholds: thresholdGrid(-4, 0, 0.005),
  });
  return { accuracy: r.accuracy, std: r.std, auc: r.auc };
}
