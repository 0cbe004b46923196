/**
 * Factors of a face measured from its 68 landmarks (and, for lighting, its pixels): the
 * measuring instruments a DiscoFaceGAN-style generator is conditioned on and judged by.
 * CPU, float64, no GPU and no Node imports.
 *
 *   measureFactors(landmarks, image, options) -> { yaw, pitch, roll, reprojectionError, pose,
 *                                                  expression?, lighting?, quality }
 *     landmarks  136 numbers x0, y0, ... relative to the image, in [0, 1] (the landmark
 *                networks' output, src/models/face-api/landmark68-tiny.ts); converted to
 *                pixels of `image`
 *     image      { width, height } alone (pose, expression, quality), or a FaceImage with
 *                CHW `data` in [0, 255] and 1 or 3 channels (lighting too)
 *     options    expressionModel (fitted by fitExpressionModel, stored as safetensors by the
 *                analysis command), personMean (that person's mean residual), pose points,
 *                quality thresholds
 *
 * The pieces, each in its own file with its math:
 *   pose.ts          estimatePose: affine camera (Hartley & Zisserman's Gold Standard) to the
 *                    3D mean face, polar decomposition -> rotation -> yaw, pitch, roll (degrees;
 *                    yaw > 0 subject turns to their left, pitch > 0 up, roll > 0 clockwise in
 *                    the image), reprojection error; rotationFromAngles, projectMeanFace
 *   mean-face-3d.ts  the 3D mean face (ours, MIT; provenance in its header)
 *   expression.ts    expressionResidual, fitExpressionModel, expressionCode, to/from tensors
 *   procrustes.ts    alignSimilarity, meanShape (generalized Procrustes)
 *   lighting.ts      estimateLighting: poly (the lighting code), sh (order-2 spherical
 *                    harmonics through the pose); faceMask, luminance, faceFrame
 *   quality.ts       assessQuality: outside / reprojection / small, with reasons
 *   landmarks68.ts   the 68-point scheme: groups, MIRROR, mirrorLandmarks, toPixels
 *   linalg.ts        Cholesky solves, least squares, Jacobi eigendecomposition
 * Measured on the embedded sample and the tests' accuracies: see test/face-*.test.ts.
 */
import { expressionCode, type ExpressionModel } from './expression.js';
import { toPixels } from './landmarks68.js';
import { estimateLighting, type FaceImage, type Lighting } from './lighting.js';
import { estimatePose, type Pose, type PoseOptions } from './pose.js';
import { assessQuality, type Quality, type QualityOptions } from './quality.js';

export * from './expression.js';
export * from './landmarks68.js';
export * from './lighting.js';
export * from './pose.js';
export * from './procrustes.js';
export * from './quality.js';
export { MEAN_FACE_3D } from './mean-face-3d.js';

export interface FactorOptions extends PoseOptions {
  expressionModel?: ExpressionModel;
  personMean?: ArrayLike<number>;
  quality?: QualityOptions;
}

export interface Factors {
  yaw: number;
  pitch: number;
  roll: number;
  /** Mean landmark-to-model distance, pixels of the image. */
  reprojectionError: number;
  pose: Pose;
  /** The k-dimensional expression code (with an expression model). */
  expression?: Float64Array;
  /** With image pixels. */
  lighting?: Lighting;
  quality: Quality;
  /** The landmarks in pixels. */
  landmarks: Float64Array;
}

export function measureFactors(
  landmarks: ArrayLike<number>,
  image: FaceImage | { width: number; height: number },
  options: FactorOptions = {},
): Factors {
  const { width, height } = image;
  if (!(width > 0 && height > 0))
    throw new RangeError(`factors: image size ${width}x${height} is not positive`);
  const px = toPixels(landmarks, width, height);
  const pose = estimatePose(px, options);
  const out: Factors = {
    yaw: pose.yaw,
    pitch: pose.pitch,
    roll: pose.roll,
    reprojectionError: pose.reprojectionError,
    pose,
    quality: assessQuality(px, width, height, pose.reprojectionError, options.quality),
    landmarks: px,
  };
  if (options.expressionModel)
    out.expression = expressionCode(px, options.expressionModel, options.personMean);
  if ('data' in image) out.lighting = estimateLighting(image, px, pose);
  return out;
}
