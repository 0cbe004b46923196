/**
 * An expression code from 68 landmarks: how the brows, eyes and mouth sit relative to the
 * mean face once pose is removed in 2D, reduced by PCA fitted on a training set.
 *
 *   1. align the 68 points to the mean 2D shape by a similarity (procrustes.ts) fitted on the
 *      rigid points ALIGN_POINTS (nose, eye corners, the jaw's upper ends; not the brows,
 *      lids or lips, which move with expression);
 *   2. residual r = aligned - mean at the brows (17-26), eyes (36-47) and mouth (48-67):
 *      84 numbers, in units of the inter-ocular distance (|p36 - p45|; the mean shape has it 1);
 *   3. subtract a reference: the person's own mean residual when known (it holds the person's
 *      face shape, not their expression), else the training set's mean residual;
 *   4. code = B (r - reference), B the k x 84 leading principal axes.
 *
 * Fitting (fitExpressionModel): the mean shape by generalized Procrustes over the training
 * shapes; residuals centred per person (people with several images) or on the global mean
 * (the others); covariance C = sum d d^T / m; eigenvectors by Jacobi (linalg.ts). k: given, or
 * the smallest k in [5, 10] whose components explain `explained` (default 0.8) of the
 * variance. The model is data: toSafetensors / fromSafetensors store it.
 * Pose out of the image plane (yaw, pitch) is not removed by a 2D similarity: it leaks into
 * the residuals (mostly the mouth and brow positions); the code of a strongly turned face
 * mixes expression and pose.
 */
import type { TensorData } from '../tensor/tensor-data.js';
import { symmetricEigen } from './linalg.js';
import { BROWS, checkLandmarks, EYES, LEFT_EYE_OUTER, MOUTH, range, RIGHT_EYE_OUTER } from './landmarks68.js';
import { alignSimilarity, meanShape } from './procrustes.js';

export const ALIGN_POINTS: readonly number[] = [0, 1, 15, 16, ...range(27, 36), 36, 39, 42, 45];
export const EXPRESSION_POINTS: readonly number[] = [...BROWS, ...EYES, ...MOUTH];
export const EXPRESSION_DIM = 2 * EXPRESSION_POINTS.length; // 84

export interface ExpressionModel {
  /** The mean 2D shape (136), outer eye corners at (-1/2, 0) and (1/2, 0). */
  meanShape: Float64Array;
  /** The training set's mean residual (84): the reference when the person's mean is unknown. */
  center: Float64Array;
  /** k x 84, row-major: principal axes, by decreasing variance. */
  basis: Float64Array;
  /** Variance along each axis (k). */
  variances: Float64Array;
  /** Total variance of the centred residuals (the sum over all 84 axes). */
  totalVariance: number;
}

/** Residuals (84) of one face (68 landmarks, any unit) against the model's mean shape. */
export function expressionResidual(landmarks: ArrayLike<number>, mean: Float64Array): Float64Array {
  checkLandmarks(landmarks, 'expression: landmarks');
  const aligned = alignSimilarity(landmarks, mean, ALIGN_POINTS);
  return Float64Array.from(
    EXPRESSION_POINTS.flatMap((i) => [0, 1].map((k) => aligned[2 * i + k] - mean[2 * i + k])),
  );
}

/** The expression code (k) of one face; `personMean` is the person's mean residual, when known. */
export function expressionCode(
  landmarks: ArrayLike<number>,
  model: ExpressionModel,
  personMean?: ArrayLike<number>,
): Float64Array {
  const r = expressionResidual(landmarks, model.meanShape);
  const ref = personMean ?? model.center;
  if (ref.length !== EXPRESSION_DIM)
    throw new RangeError(
      `expression: the person's mean residual has ${ref.length} values, not ${EXPRESSION_DIM}`,
    );
  const k = model.variances.length;
  const code = new Float64Array(k);
  for (let c = 0; c < k; c++)
    for (let d = 0; d < EXPRESSION_DIM; d++) code[c] += model.basis[c * EXPRESSION_DIM + d] * (r[d] - ref[d]);
  return code;
}

export interface FitExpressionOptions {
  /** The person of each shape (same length as the shapes): residuals are centred per person. */
  people?: readonly (string | number)[];
  /** Number of components; default: the smallest k in [5, 10] reaching `explained`. */
  k?: number;
  /** Fraction of variance the default k must explain (default 0.8). */
  explained?: number;
}

export function fitExpressionModel(
  shapes: readonly ArrayLike<number>[],
  options: FitExpressionOptions = {},
): ExpressionModel {
  const m = shapes.length;
  if (m < 2) throw new RangeError(`expression: ${m} training shape(s); PCA needs at least 2`);
  shapes.forEach((s, i) => checkLandmarks(s, `expression: training shape ${i}`));
  if (options.people && options.people.length !== m)
    throw new RangeError(`expression: ${options.people.length} people for ${m} shapes`);
  const mean = meanShape(shapes, ALIGN_POINTS, RIGHT_EYE_OUTER, LEFT_EYE_OUTER);
  const D = EXPRESSION_DIM;
  const res = shapes.map((s) => expressionResidual(s, mean));
  const center = new Float64Array(D);
  for (const r of res) for (let d = 0; d < D; d++) center[d] += r[d] / m;

  // the reference of each residual: its person's mean (2+ images) or the global mean
  const groups = new Map<string | number, number[]>();
  options.people?.forEach((p, i) => groups.set(p, [...(groups.get(p) ?? []), i]));
  const refs = res.map(() => center);
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    const pm = new Float64Array(D);
    for (const i of members) for (let d = 0; d < D; d++) pm[d] += res[i][d] / members.length;
    for (const i of members) refs[i] = pm;
  }
  const C = new Float64Array(D * D);
  res.forEach((r, i) => {
    const dv = r.map((v, d) => v - refs[i][d]);
    for (let a = 0; a < D; a++) for (let b = 0; b <= a; b++) C[a * D + b] += (dv[a] * dv[b]) / m;
  });
  for (let a = 0; a < D; a++) for (let b = 0; b < a; b++) C[b * D + a] = C[a * D + b];
  const { values, vectors } = symmetricEigen(C, D);
  const total = values.reduce((s, v) => s + Math.max(v, 0), 0);
  let k = options.k;
  if (k === undefined) {
    const want = options.explained ?? 0.8;
    let acc = 0;
    k = 10;
    for (let c = 0; c < 10; c++) {
      acc += values[c];
      if (c + 1 >= 5 && acc >= want * total) {
        k = c + 1;
        break;
      }
    }
  }
  if (!(Number.isInteger(k) && k >= 1 && k <= D))
    throw new RangeError(`expression: k = ${k} components; must be an integer in 1..${D}`);
  return {
    meanShape: mean,
    center,
    basis: vectors.slice(0, k * D),
    variances: values.slice(0, k),
    totalVariance: total,
  };
}

/** The fraction of the variance the model's k components explain. */
export function explainedFraction(model: ExpressionModel): number {
  return model.variances.reduce((s, v) => s + v, 0) / model.totalVariance;
}

/** The model as safetensors tensors (float32) and metadata, for io/safetensors.ts. */
export function expressionModelTensors(model: ExpressionModel): {
  tensors: Record<string, TensorData>;
  metadata: Record<string, string>;
} {
  const f32 = (a: Float64Array, shape: number[]): TensorData => ({
    dtype: 'f32',
    shape,
    data: Float32Array.from(a),
  });
  const k = model.variances.length;
  return {
    tensors: {
      mean_shape: f32(model.meanShape, [68, 2]),
      center: f32(model.center, [EXPRESSION_DIM]),
      basis: f32(model.basis, [k, EXPRESSION_DIM]),
      variances: f32(model.variances, [k]),
    },
    metadata: {
      kind: 'synface expression model (src/face/expression.ts)',
      total_variance: String(model.totalVariance),
      points: EXPRESSION_POINTS.join(','),
    },
  };
}

/** The model back from safetensors tensors; `source` names the file in errors. */
export function expressionModelFromTensors(
  tensors: Record<string, TensorData>,
  metadata: Record<string, string>,
  source: string,
): ExpressionModel {
  const need = (name: string, shape: (number | null)[]) => {
    const t = tensors[name];
    if (!t) throw new Error(`${source}: expression model: tensor '${name}' is missing`);
    if (t.shape.length !== shape.length || shape.some((s, i) => s !== null && s !== t.shape[i]))
      throw new Error(
        `${source}: expression model: '${name}' has shape [${t.shape}], expected [${shape.map((s) => s ?? 'k')}]`,
      );
    return Float64Array.from(t.data);
  };
  const variances = need('variances', [null]);
  const k = variances.length;
  const total = Number(metadata.total_variance);
  if (!(total > 0))
    throw new Error(
      `${source}: expression model: metadata total_variance '${metadata.total_variance}' is not a positive number`,
    );
  return {
    meanShape: need('mean_shape', [68, 2]),
    center: need('center', [EXPRESSION_DIM]),
    basis: need('basis', [k, EXPRESSION_DIM]),
    variances,
    totalVariance: total,
  };
}
