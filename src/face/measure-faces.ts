/**
 * Every factor of a batch of face images, as `synface analyze` stores them per image: the
 * networks' outputs (GPU) and the factors computed from them (CPU). No Node imports.
 *
 * Images: rows of an image cache (u8 CHW, RGB), the aligned crops the generator and the small
 * recognizer use (FACE_PREPROCESS: the 112x112 centre crop of a 250x250 deep-funneled LFW
 * image, resized to 64x64). On the GPU each batch is resized (bilinear, one kernel) to
 *   112x112 for the landmark and expression networks, 150x150 for dlib's descriptor,
 * as src/eval/evaluate-dlib.ts does for `synface eval --model dlib`.
 *
 * Per image (measureBatch):
 *   descriptor   (128)    dlib's identity descriptor
 *   landmarks    (68, 2)  relative to the image: x / W, y / H (the nets' output; the same
 *                         numbers at 112 and at the image's own size)
 *   probs        (7)      the expression network's softmax, in the order of EXPRESSIONS
 * and from those, on the CPU (faceFactors), with landmarks in the image's pixels:
 *   pose         yaw, pitch, roll (degrees, pose.ts) and the fit's reprojection error (px)
 *   lighting     poly (6, the lighting code), sh (9), the fit's RMS residual (lighting.ts)
 *   quality      bits of QUALITY: 0 is a usable face (see `qualityReasons`)
 * The expression code needs a PCA over the whole dataset: analyze-dataset.ts fits it after
 * every image is measured.
 */
import { noGrad } from '../autograd/tape.js';
import type { Preprocess } from '../data/preprocess.js';
import { DlibDescriptor, DLIB_INPUT_SIZE } from '../models/face-api/dlib-descriptor.js';
import { LANDMARK_INPUT_SIZE } from '../models/face-api/dense-trunk.js';
import type { FaceExpression } from '../models/face-api/expression.js';
import type { Landmark68 } from '../models/face-api/landmark68.js';
import type { Landmark68Tiny } from '../models/face-api/landmark68-tiny.js';
import { augmentImages, identityAugmentParams, uploadU8Images } from '../ops/augment.js';
import { affine } from '../ops/index.js';
import { scope } from '../tensor/scope.js';
import { toPixels } from './landmarks68.js';
import { estimateLighting } from './lighting.js';
import { estimatePose } from './pose.js';
import { assessQuality } from './quality.js';

/** The data preparation of the embedded sample and of `synface eval --model dlib` (DLIB_PREPROCESS). */
export const FACE_PREPROCESS: Preprocess = { crop: [112, 112], out: [64, 64] };

/** Whether a network's preprocess reads the same crops as FACE_PREPROCESS (what the generator renders). */
export function readsFaceCrops(p: Preprocess): boolean {
  return JSON.stringify([p.crop, p.out]) === JSON.stringify([FACE_PREPROCESS.crop, FACE_PREPROCESS.out]);
}

export interface FaceNets {
  landmarks: Landmark68 | Landmark68Tiny;
  /** Optional: without it `probs` is NaN (callers that only need identity, pose and lighting). */
  expression?: FaceExpression;
  dlib: DlibDescriptor;
}

/** The networks' outputs for n images, row after row. */
export interface BatchOutputs {
  n: number;
  /** n x 128 */
  descriptors: Float32Array;
  /** n x 136: x0, y0, x1, ... relative to the image */
  landmarks: Float32Array;
  /** n x 7 (NaN without the expression network) */
  probs: Float32Array;
}

/**
 * The three networks on n cache images (`pixels`: n * 3 * H * W bytes, CHW RGB in [0, 255]).
 * No gradients: the analysis only reads.
 */
export async function measureBatch(
  nets: FaceNets,
  pixels: Uint8Array,
  n: number,
  H: number,
  W: number,
): Promise<BatchOutputs> {
  const [lm, pr, de] = noGrad(() =>
    scope(() => {
      const packed = uploadU8Images(pixels, n, 3, H, W);
      // augmentImages gives [-1, 1]; the networks take [0, 255]
      const resized = (s: number) =>
        affine(augmentImages(packed, identityAugmentParams(n, H, W, s, s)), 127.5, 127.5);
      const x112 = resized(LANDMARK_INPUT_SIZE);
      return [
        nets.landmarks.forward(x112),
        nets.expression?.probabilities(x112),
        nets.dlib.forward(resized(DLIB_INPUT_SIZE)),
      ];
    }),
  );
  try {
    return {
      n,
      landmarks: (await lm.toArray()) as Float32Array,
      probs: pr ? ((await pr.toArray()) as Float32Array) : new Float32Array(n * 7).fill(NaN),
      descriptors: (await de!.toArray()) as Float32Array,
    };
  } finally {
    for (const t of [lm, pr, de]) t?.dispose();
  }
}

/**
 * Quality bits: why a face's factors should not be trusted. The landmark checks are the factor
 * module's own (quality.ts assessQuality, with its defaults: a point outside the image by more
 * than 0.1 of the inter-ocular distance, a reprojection error above 0.08 of it, an inter-ocular
 * distance under 10 px); its sentences become bits here, so that a file holds one number per
 * face (assessQuality on the stored landmarks gives the sentences again).
 */
export const QUALITY = {
  /** A network gave a non-finite value (NaN or infinite). */
  notFinite: 1,
  /** A landmark lies outside the image (assessQuality's `outside`). */
  landmarksOutside: 2,
  /** The pose fit's reprojection error is too large for a rigid face (`reprojection`). */
  poorPoseFit: 4,
  /** The pose or the lighting could not be fitted at all (degenerate landmarks, too few face pixels). */
  fitFailed: 8,
  /** The face is too small (`small`). */
  tooSmall: 16,
} as const;

/** The names of the bits set in `quality`, e.g. ['landmarksOutside']. */
export function qualityReasons(quality: number): string[] {
  return Object.entries(QUALITY)
    .filter(([, bit]) => quality & bit)
    .map(([name]) => name);
}

/**
 * The quality bits of one face from what the file stores: its landmarks (relative), the pose
 * fit's error (px; NaN when the fit failed), whether the networks' outputs were finite and
 * whether the lighting was fitted. A pure function of stored values, so a whole file's flags can
 * be recomputed alike (analyze-dataset.ts does, after the last chunk).
 */
export function qualityBits(
  relative: ArrayLike<number>,
  W: number,
  H: number,
  poseError: number,
  finite: boolean,
  lit: boolean,
): number {
  if (!finite) return QUALITY.notFinite;
  if (!Number.isFinite(poseError) || !lit) return QUALITY.fitFailed;
  let bits = 0;
  for (const reason of assessQuality(toPixels(relative, W, H), W, H, poseError).reasons) {
    if (/outside the/.test(reason)) bits |= QUALITY.landmarksOutside;
    else if (/reprojection error/.test(reason)) bits |= QUALITY.poorPoseFit;
    else if (/too small/.test(reason)) bits |= QUALITY.tooSmall;
    else throw new Error(`analyze: assessQuality gave a reason this file has no bit for: ${reason}`);
  }
  return bits;
}

export interface FaceFactors {
  yaw: number;
  pitch: number;
  roll: number;
  /** Pixels of the image. */
  poseError: number;
  /** The rotation (row-major 3x3, model -> camera), for drawing the axes. */
  rotation: Float64Array;
  lighting: Float64Array; // 6
  lightingSh: Float64Array; // 9
  lightingResidual: number;
  quality: number;
}

/**
 * Pose, lighting and quality of image `i` of a batch: `pixels` its CHW bytes (3 x H x W),
 * `relative` its 136 landmark numbers, `finite` whether the networks' outputs for it are finite.
 * Values that could not be measured are NaN and the quality says why.
 */
export function faceFactors(
  pixels: Uint8Array,
  H: number,
  W: number,
  relative: ArrayLike<number>,
  finite: boolean,
): FaceFactors {
  const out: FaceFactors = {
    yaw: NaN,
    pitch: NaN,
    roll: NaN,
    poseError: NaN,
    rotation: new Float64Array(9).fill(NaN),
    lighting: new Float64Array(6).fill(NaN),
    lightingSh: new Float64Array(9).fill(NaN),
    lightingResidual: NaN,
    quality: 0,
  };
  if (!finite) {
    out.quality = QUALITY.notFinite;
    return out;
  }
  try {
    const pose = estimatePose(toPixels(relative, W, H));
    Object.assign(out, { yaw: pose.yaw, pitch: pose.pitch, roll: pose.roll, rotation: pose.rotation });
    out.poseError = pose.reprojectionError;
    const light = estimateLighting(
      { width: W, height: H, channels: 3, data: pixels },
      toPixels(relative, W, H),
      pose,
    );
    out.lighting = light.poly;
    if (light.sh) out.lightingSh = light.sh;
    out.lightingResidual = light.residual;
  } catch (e) {
    if (!(e instanceof RangeError)) throw e; // a bug, not a hard face
    // degenerate landmarks or too few face pixels: the numbers stay NaN, the bits say so
  }
  out.quality = qualityBits(relative, W, H, out.poseError, true, Number.isFinite(out.lightingResidual));
  return out;
}
