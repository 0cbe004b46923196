/**
 * Head pose from 68 landmarks: an affine camera fitted by least squares to the 3D mean face
 * (mean-face-3d.ts), its rows orthonormalised into a rotation, read as yaw, pitch and roll.
 *
 * The camera (Hartley & Zisserman, Multiple View Geometry, 2nd ed., section 7.3, algorithm 7.2,
 * the Gold Standard algorithm for an affine camera): image point x_i = M X_i + t, M a 2x3
 * matrix, for the model points X_i (mm) and the landmarks x_i (px). For an affine camera the
 * geometric image error is linear in the 8 unknowns, so the linear least-squares solution is
 * the maximum-likelihood one under Gaussian landmark noise. With centred points
 * (Xc = X - mean X, xc = x - mean x) the translation separates, t = mean x - M mean X, and
 *
 *     M = xc^T Xc (Xc^T Xc)^{-1}            (2 x n)(n x 3)(3 x 3)
 *
 * H&Z normalise both point sets first (centroid at 0, RMS distance sqrt 2 and sqrt 3); for this
 * affine problem that only improves conditioning, so only the model is scaled (to unit RMS)
 * and the image points are centred. (Xc^T Xc)^{-1} depends on the model alone.
 *
 * Rotation: M = s [r1; r2] for a scaled orthographic camera; a real fit is not exactly that,
 * so the nearest one is taken by the polar decomposition M = P Q, P = (M M^T)^{1/2} symmetric,
 * Q = P^{-1} M with orthonormal rows r1, r2 (the closest such rows to M's in Frobenius norm,
 * treating both rows alike, unlike Gram-Schmidt). For a 2x2 symmetric positive-definite
 * B = M M^T, sqrt(B) = (B + sqrt(det B) I) / sqrt(tr B + 2 sqrt(det B)). r3 = r1 x r2 makes
 * R = [r1; r2; r3] a rotation (det +1), from the model frame to the camera frame (x right,
 * y down, z away from the camera, like the model's).
 *
 * Angles (degrees), R = Rz(roll) Ry(-yaw) Rx(-pitch) with the usual right-handed axis
 * rotations (pitch applied first, in the model frame):
 *   yaw   > 0: the subject turns to their own left (the nose moves to the image's right);
 *   pitch > 0: the subject looks up (the nose moves up in the image);
 *   roll  > 0: the head tilts clockwise in the image (its top towards the image's right, the
 *              subject's left shoulder).
 * A mirror image (x -> W - x, points renumbered by MIRROR) negates yaw and roll and keeps
 * pitch: flipping the camera's and the model's x axes conjugates Rz and Ry into their inverses
 * and leaves Rx alone. Read back: sin(-yaw) = -R[2][0], tan(-pitch) = R[2][1] / R[2][2],
 * tan(roll) = R[1][0] / R[0][0]. Pitch carries the mean face's own tilt (how its eye, nose and
 * mouth depths were set), so over a dataset it has an offset: centre it on the dataset mean.
 *
 * Only the points fitted need be finite (a partial set, e.g. projectMeanFace's, is accepted).
 *
 * Reprojection error: the mean distance (px) between each landmark and the model point
 * projected by the scaled orthographic camera (s, R, t refitted), over the points used.
 */
import { checkLandmarks } from './landmarks68.js';
import { MEAN_FACE_3D } from './mean-face-3d.js';

/** The model points used by default: all of MEAN_FACE_3D but the jaw's silhouette points. */
export const POSE_POINTS: readonly number[] = MEAN_FACE_3D.map(([i]) => i).filter(
  (i) => ![0, 16, 4, 12, 6, 10].includes(i),
);

export interface Pose {
  /** Degrees; conventions in the file header. */
  yaw: number;
  pitch: number;
  roll: number;
  /** Row-major 3x3, model frame -> camera frame. */
  rotation: Float64Array;
  /** Pixels per millimetre of the mean face. */
  scale: number;
  /** Where the model's origin projects (px). */
  translation: [number, number];
  /** The least-squares affine camera, row-major 2x4 [M | t]. */
  camera: Float64Array;
  /** Mean landmark-to-projection distance (px) of the scaled orthographic camera. */
  reprojectionError: number;
}

export interface PoseOptions {
  /** Landmark indices to fit (each must be in MEAN_FACE_3D); default POSE_POINTS. */
  points?: readonly number[];
}

const MODEL = new Map(MEAN_FACE_3D.map(([i, x, y, z]) => [i, [x, y, z] as const]));

/** The model points for `indices`, centred and scaled to unit RMS, and (Xc^T Xc)^{-1}. */
function prepareModel(indices: readonly number[]) {
  const pts = indices.map((i) => {
    const p = MODEL.get(i);
    if (!p) throw new RangeError(`pose: landmark ${i} is not in the 3D mean face (mean-face-3d.ts)`);
    return p;
  });
  const n = pts.length;
  if (n < 4) throw new RangeError(`pose: ${n} points cannot fix an affine camera (need at least 4)`);
  const mean = [0, 1, 2].map((k) => pts.reduce((s, p) => s + p[k], 0) / n);
  let ss = 0;
  for (const p of pts) for (let k = 0; k < 3; k++) ss += (p[k] - mean[k]) ** 2;
  const norm = Math.sqrt(ss / n); // H&Z's normalisation, up to their sqrt 3
  const Xc = new Float64Array(n * 3);
  pts.forEach((p, r) => [0, 1, 2].forEach((k) => (Xc[r * 3 + k] = (p[k] - mean[k]) / norm)));
  const G = new Float64Array(9); // Xc^T Xc
  for (let r = 0; r < n; r++)
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) G[a * 3 + b] += Xc[r * 3 + a] * Xc[r * 3 + b];
  return { n, mean, norm, Xc, Ginv: inverse3(G) };
}

const prepared = new Map<string, ReturnType<typeof prepareModel>>();
function modelFor(indices: readonly number[]) {
  const key = indices.join(',');
  let m = prepared.get(key);
  if (!m) prepared.set(key, (m = prepareModel(indices)));
  return m;
}

/**
 * The pose of a face from its 68 landmarks in pixels (flat x0, y0, ...). Throws, naming the
 * problem, for non-finite values, coinciding or collinear points, or a degenerate camera.
 */
export function estimatePose(landmarks: ArrayLike<number>, options: PoseOptions = {}): Pose {
  const indices = options.points ?? POSE_POINTS;
  const { n, mean, norm, Xc, Ginv } = modelFor(indices);
  checkLandmarks(landmarks, 'pose: landmarks', indices);

  // centred image points, and their spread (for the degeneracy checks)
  const cx = indices.reduce((s, i) => s + landmarks[2 * i], 0) / n;
  const cy = indices.reduce((s, i) => s + landmarks[2 * i + 1], 0) / n;
  const xc = new Float64Array(n * 2);
  indices.forEach((i, r) => {
    xc[2 * r] = landmarks[2 * i] - cx;
    xc[2 * r + 1] = landmarks[2 * i + 1] - cy;
  });
  const [sxx, sxy, syy] = second(xc, n);
  const spread = Math.sqrt(sxx + syy);
  if (!(spread > 1e-9)) throw new RangeError(`pose: the ${n} landmarks coincide (no spread); not a face`);
  const minor = (sxx + syy) / 2 - Math.sqrt(((sxx - syy) / 2) ** 2 + sxy * sxy);
  if (minor / (sxx + syy) < 1e-4)
    throw new RangeError(
      `pose: the landmarks are collinear (minor/major spread ${(minor / (sxx + syy)).toExponential(1)}); not a face`,
    );

  // M (2x3, per unit-RMS model unit) = xc^T Xc Ginv
  const A = new Float64Array(6); // xc^T Xc
  for (let r = 0; r < n; r++)
    for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) A[a * 3 + b] += xc[2 * r + a] * Xc[r * 3 + b];
  const Mn = new Float64Array(6);
  for (let a = 0; a < 2; a++)
    for (let b = 0; b < 3; b++) for (let k = 0; k < 3; k++) Mn[a * 3 + b] += A[a * 3 + k] * Ginv[k * 3 + b];
  const M = Mn.map((v) => v / norm); // per millimetre
  const t0 = cx - (M[0] * mean[0] + M[1] * mean[1] + M[2] * mean[2]);
  const t1 = cy - (M[3] * mean[0] + M[4] * mean[1] + M[5] * mean[2]);
  const camera = Float64Array.of(M[0], M[1], M[2], t0, M[3], M[4], M[5], t1);

  const rotation = rotationFromCamera(M);
  const { yaw, pitch, roll } = anglesFromRotation(rotation);

  // the scaled orthographic camera: best scale for R's rows, translation refitted
  let num = 0;
  let den = 0;
  const proj = new Float64Array(n * 2);
  for (let r = 0; r < n; r++) {
    for (let a = 0; a < 2; a++) {
      let v = 0;
      for (let k = 0; k < 3; k++) v += rotation[a * 3 + k] * Xc[r * 3 + k] * norm;
      proj[2 * r + a] = v;
      num += v * xc[2 * r + a];
      den += v * v;
    }
  }
  const scale = num / den;
  let err = 0;
  for (let r = 0; r < n; r++)
    err += Math.hypot(scale * proj[2 * r] - xc[2 * r], scale * proj[2 * r + 1] - xc[2 * r + 1]);
  const translation: [number, number] = [
    cx - scale * (rotation[0] * mean[0] + rotation[1] * mean[1] + rotation[2] * mean[2]),
    cy - scale * (rotation[3] * mean[0] + rotation[4] * mean[1] + rotation[5] * mean[2]),
  ];
  return { yaw, pitch, roll, rotation, scale, translation, camera, reprojectionError: err / n };
}

/** The rotation whose first two rows are the polar factor of the 2x3 camera M (header). */
export function rotationFromCamera(M: ArrayLike<number>): Float64Array {
  // B = M M^T (2x2 symmetric)
  const b00 = M[0] * M[0] + M[1] * M[1] + M[2] * M[2];
  const b01 = M[0] * M[3] + M[1] * M[4] + M[2] * M[5];
  const b11 = M[3] * M[3] + M[4] * M[4] + M[5] * M[5];
  const det = b00 * b11 - b01 * b01;
  if (!(det > 1e-12 * (b00 + b11) ** 2))
    throw new RangeError(
      `pose: the fitted camera has rank < 2 (det M M^T = ${det.toExponential(2)}); not a face`,
    );
  // P = sqrt(B), then P^{-1} = adj(P) / det(P)
  const sd = Math.sqrt(det);
  const k = 1 / Math.sqrt(b00 + b11 + 2 * sd);
  const p00 = (b00 + sd) * k;
  const p01 = b01 * k;
  const p11 = (b11 + sd) * k;
  const pdet = p00 * p11 - p01 * p01;
  const i00 = p11 / pdet;
  const i01 = -p01 / pdet;
  const i11 = p00 / pdet;
  const R = new Float64Array(9);
  for (let c = 0; c < 3; c++) {
    R[c] = i00 * M[c] + i01 * M[3 + c];
    R[3 + c] = i01 * M[c] + i11 * M[3 + c];
  }
  // r3 = r1 x r2
  R[6] = R[1] * R[5] - R[2] * R[4];
  R[7] = R[2] * R[3] - R[0] * R[5];
  R[8] = R[0] * R[4] - R[1] * R[3];
  return R;
}

const DEG = 180 / Math.PI;

/** yaw, pitch, roll (degrees) of R = Rz(roll) Ry(-yaw) Rx(-pitch) (header). */
export function anglesFromRotation(R: ArrayLike<number>): { yaw: number; pitch: number; roll: number } {
  const beta = Math.asin(Math.max(-1, Math.min(1, -R[6])));
  const alpha = Math.atan2(R[7], R[8]);
  const gamma = Math.atan2(R[3], R[0]);
  return { yaw: -beta * DEG, pitch: -alpha * DEG, roll: gamma * DEG };
}

/** R = Rz(roll) Ry(-yaw) Rx(-pitch), row-major, from degrees: the inverse of anglesFromRotation. */
export function rotationFromAngles(yaw: number, pitch: number, roll: number): Float64Array {
  const [a, b, g] = [-pitch / DEG, -yaw / DEG, roll / DEG];
  const Rx = [1, 0, 0, 0, Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a)];
  const Ry = [Math.cos(b), 0, Math.sin(b), 0, 1, 0, -Math.sin(b), 0, Math.cos(b)];
  const Rz = [Math.cos(g), -Math.sin(g), 0, Math.sin(g), Math.cos(g), 0, 0, 0, 1];
  return mul3(Rz, mul3(Ry, Rx));
}

/**
 * The mean face's points projected by a scaled orthographic camera: x = s R[0:2] X + t, as a
 * flat 136-array with NaN for the points the model lacks. For tests and drawings.
 */
export function projectMeanFace(
  R: ArrayLike<number>,
  scale: number,
  t: readonly [number, number],
): Float64Array {
  const out = new Float64Array(136).fill(NaN);
  for (const [i, x, y, z] of MEAN_FACE_3D) {
    out[2 * i] = scale * (R[0] * x + R[1] * y + R[2] * z) + t[0];
    out[2 * i + 1] = scale * (R[3] * x + R[4] * y + R[5] * z) + t[1];
  }
  return out;
}

function mul3(A: ArrayLike<number>, B: ArrayLike<number>): Float64Array {
  const C = new Float64Array(9);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) C[i * 3 + j] += A[i * 3 + k] * B[k * 3 + j];
  return C;
}

function inverse3(G: Float64Array): Float64Array {
  const [a, b, c, d, e, f, g, h, i] = G;
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (!(Math.abs(det) > 1e-12))
    throw new RangeError('pose: the chosen model points are coplanar; pick others');
  return Float64Array.of(
    A,
    -(b * i - c * h),
    b * f - c * e,
    B,
    a * i - c * g,
    -(a * f - c * d),
    C,
    -(a * h - b * g),
    a * e - b * d,
  ).map((v) => v / det);
}

/** Second moments (sxx, sxy, syy) of n centred 2D points. */
function second(xc: Float64Array, n: number): [number, number, number] {
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let r = 0; r < n; r++) {
    sxx += xc[2 * r] ** 2;
    sxy += xc[2 * r] * xc[2 * r + 1];
    syy += xc[2 * r + 1] ** 2;
  }
  return [sxx / n, sxy / n, syy / n];
}
