/**
 * A lighting code from a face image and its 68 landmarks: the face's luminance fitted by
 * low-order shading, by linear least squares over the face's pixels.
 *
 * Face pixels: inside the polygon of the jaw (0..16) closed by the brows (26..17), tested at
 * pixel centres (x + 1/2, y + 1/2) by the even-odd rule. Luminance: Y = 0.299 R + 0.587 G +
 * 0.114 B (ITU-R BT.601 luma) of [0, 255] pixels, divided by 255; a 1-channel image is its
 * own luminance.
 *
 * The lighting code (`poly`, pose-free): in face-normalised coordinates
 *     u = (p - c) . e_u / d,   v = (p - c) . e_v / d
 * (c the centroid of the eye corners 36, 45 and mouth corners 48, 54; e_u the unit vector from
 * 36 to 45, e_v = e_u turned 90 degrees towards the chin; d = |p45 - p36|), fit
 *     Y = a + b u + c v + d u^2 + e u v + f v^2           poly = [a, b, c, d, e, f]
 * b is the left-right gradient (> 0: brighter towards the image's right), c the top-bottom one.
 * A mirror image negates u at mirrored pixels (e_u still points from the new 36 to the new 45,
 * i.e. image-rightwards), so it negates b and e and keeps a, c, d, f.
 *
 * Spherical harmonics (`sh`, pose-dependent): each face pixel gets a normal from a smooth
 * stand-in for the mean face's surface, an ellipsoid around it (centre (0, 45, 70) mm, semi-axes
 * (80, 105, 70) mm in the frame of mean-face-3d.ts), placed by the fitted pose: the pixel's
 * ray (scaled orthographic camera: X(t) = (a r1 + b r2) + t r3 with (a, b) = (p - T) / s) meets
 * the ellipsoid's front; the normal there is rotated into the camera frame and turned towards
 * the viewer (n = (nx, ny, -nz): +x right, +y down, +z to the camera). Then
 *     Y = sum_j l_j H_j(n),  H = [1, nx, ny, nz, nx ny, nx nz, ny nz, nx^2 - ny^2, 3 nz^2 - 1]
 * (the 9 real spherical harmonics of order <= 2 without their constant factors; Lambertian
 * reflectance times albedo, both folded into l). Pixels whose ray misses the ellipsoid are
 * left out. Order 1 is l_0..l_3. On a face (normals within ~60 degrees of the view) 1, nz and
 * 3 nz^2 - 1 are strongly correlated, so the order-2 fit is poorly conditioned: a small ridge
 * (SH_RIDGE = 1e-6 on all but l_0, relative to the per-pixel normal equations) keeps it
 * stable at a bias of ~2e-3 (test/face-lighting.test.ts; 1e-4 biased l_3 by 0.07). `poly` is the code to condition on;
 * `sh` is DiscoFaceGAN's parametrisation for comparison.
 */
import { leastSquares, solveSpd } from './linalg.js';
import { checkLandmarks, LEFT_EYE_OUTER, RIGHT_EYE_OUTER } from './landmarks68.js';
import type { Pose } from './pose.js';

/** An image: planar channels (CHW), values in [0, 255]. */
export interface FaceImage {
  width: number;
  height: number;
  /** 1 (gray) or 3 (RGB). */
  channels: number;
  data: ArrayLike<number>;
}

export interface Lighting {
  /** [a, b, c, d, e, f] of Y = a + b u + c v + d u^2 + e uv + f v^2 (the lighting code). */
  poly: Float64Array;
  /** 9 order-2 spherical-harmonic coefficients of luminance (when a pose is given). */
  sh?: Float64Array;
  /** Face pixels used, and the RMS residual of the polynomial fit (luminance, [0, 1]). */
  pixels: number;
  residual: number;
}

export const FACE_OUTLINE: readonly number[] = [...Array(17).keys(), 26, 25, 24, 23, 22, 21, 20, 19, 18, 17];
export const SH_RIDGE = 1e-6;
const ELLIPSOID = { center: [0, 45, 70], axes: [80, 105, 70] } as const;

/** 1 where the pixel's centre lies in the face polygon (landmarks in pixels). */
export function faceMask(landmarks: ArrayLike<number>, width: number, height: number): Uint8Array {
  const poly = FACE_OUTLINE.map((i) => [landmarks[2 * i], landmarks[2 * i + 1]]);
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const py = y + 0.5;
    // x positions where the polygon's edges cross this row (even-odd rule)
    const xs: number[] = [];
    for (let k = 0; k < poly.length; k++) {
      const [x0, y0] = poly[k];
      const [x1, y1] = poly[(k + 1) % poly.length];
      if (y0 <= py !== y1 <= py) xs.push(x0 + ((py - y0) / (y1 - y0)) * (x1 - x0));
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2)
      for (let x = Math.max(0, Math.ceil(xs[k] - 0.5)); x < width && x + 0.5 < xs[k + 1]; x++)
        mask[y * width + x] = 1;
  }
  return mask;
}

/** Luminance in [0, 1] of a CHW image (BT.601 luma for RGB). */
export function luminance(image: FaceImage): Float64Array {
  const { width, height, channels, data } = image;
  const n = width * height;
  if (!(channels === 1 || channels === 3))
    throw new RangeError(`lighting: images must have 1 or 3 channels, got ${channels}`);
  if (data.length !== channels * n)
    throw new RangeError(
      `lighting: image data has ${data.length} values, expected ${channels}x${height}x${width}`,
    );
  const Y = new Float64Array(n);
  for (let i = 0; i < n; i++)
    Y[i] = (channels === 1 ? data[i] : 0.299 * data[i] + 0.587 * data[n + i] + 0.114 * data[2 * n + i]) / 255;
  return Y;
}

/** The face frame: (u, v) of a pixel centre (header). */
export function faceFrame(landmarks: ArrayLike<number>): (x: number, y: number) => [number, number] {
  const at = (i: number) => [landmarks[2 * i], landmarks[2 * i + 1]];
  const [r, l] = [at(RIGHT_EYE_OUTER), at(LEFT_EYE_OUTER)];
  const corners = [RIGHT_EYE_OUTER, LEFT_EYE_OUTER, 48, 54].map(at);
  const cx = corners.reduce((s, p) => s + p[0], 0) / 4;
  const cy = corners.reduce((s, p) => s + p[1], 0) / 4;
  const d = Math.hypot(l[0] - r[0], l[1] - r[1]);
  if (!(d > 0)) throw new RangeError('lighting: the outer eye corners coincide');
  const [ux, uy] = [(l[0] - r[0]) / d, (l[1] - r[1]) / d];
  // e_v = e_u turned +90 degrees: towards the chin when y points down
  return (x, y) => [((x - cx) * ux + (y - cy) * uy) / d, ((x - cx) * -uy + (y - cy) * ux) / d];
}

/** The polynomial basis [1, u, v, u^2, uv, v^2]. */
export const polyBasis = (u: number, v: number) => [1, u, v, u * u, u * v, v * v];

/** The SH basis (header) of a unit normal in the camera frame turned to the viewer. */
export const shBasis = ([x, y, z]: readonly number[]) => [
  1,
  x,
  y,
  z,
  x * y,
  x * z,
  y * z,
  x * x - y * y,
  3 * z * z - 1,
];

/**
 * The unit normal (camera frame, +z to the viewer) of the ellipsoid stand-in under the pixel
 * centre (x, y), or null when the pixel's ray misses it.
 */
export function surfaceNormal(pose: Pose, x: number, y: number): [number, number, number] | null {
  const R = pose.rotation;
  const a = (x - pose.translation[0]) / pose.scale;
  const b = (y - pose.translation[1]) / pose.scale;
  // X(t) = X0 + t d in the model frame (mm)
  const X0 = [0, 1, 2].map((k) => a * R[k] + b * R[3 + k]);
  const d = [R[6], R[7], R[8]];
  // sum ((X0 + t d - C) / A)^2 = 1: a quadratic qa t^2 + qb t + qc = 0
  let qa = 0;
  let qb = 0;
  let qc = -1;
  for (let k = 0; k < 3; k++) {
    const o = (X0[k] - ELLIPSOID.center[k]) / ELLIPSOID.axes[k];
    const e = d[k] / ELLIPSOID.axes[k];
    qa += e * e;
    qb += 2 * o * e;
    qc += o * o;
  }
  const disc = qb * qb - 4 * qa * qc;
  if (disc < 0) return null;
  const t = (-qb - Math.sqrt(disc)) / (2 * qa); // the nearer intersection: the front
  const g = [0, 1, 2].map((k) => (X0[k] + t * d[k] - ELLIPSOID.center[k]) / ELLIPSOID.axes[k] ** 2);
  // model -> camera: n_cam = R g; then flip z to face the viewer
  const n = [0, 1, 2].map((r) => R[3 * r] * g[0] + R[3 * r + 1] * g[1] + R[3 * r + 2] * g[2]);
  const len = Math.hypot(n[0], n[1], n[2]);
  return [n[0] / len, n[1] / len, -n[2] / len];
}

/**
 * The lighting of a face: `landmarks` in pixels of `image`; with `pose` (estimatePose's, same
 * pixels) the SH coefficients too. Throws when the face has fewer than 20 pixels.
 */
export function estimateLighting(image: FaceImage, landmarks: ArrayLike<number>, pose?: Pose): Lighting {
  checkLandmarks(landmarks, 'lighting: landmarks');
  const Y = luminance(image);
  const { width, height } = image;
  const mask = faceMask(landmarks, width, height);
  const frame = faceFrame(landmarks);
  const rows: number[] = [];
  const values: number[] = [];
  const shRows: number[] = [];
  const shValues: number[] = [];
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      const [u, v] = frame(x + 0.5, y + 0.5);
      rows.push(...polyBasis(u, v));
      values.push(Y[y * width + x]);
      if (pose) {
        const n = surfaceNormal(pose, x + 0.5, y + 0.5);
        if (n) {
          shRows.push(...shBasis(n));
          shValues.push(Y[y * width + x]);
        }
      }
    }
  if (values.length < 20)
    throw new RangeError(
      `lighting: the face covers ${values.length} pixels of the ${width}x${height} image; too few to fit`,
    );
  const poly = leastSquares(Float64Array.from(rows), values, 6, 'lighting: polynomial fit');
  let ss = 0;
  values.forEach((val, r) => {
    let f = 0;
    for (let j = 0; j < 6; j++) f += poly[j] * rows[r * 6 + j];
    ss += (val - f) ** 2;
  });
  const out: Lighting = { poly, pixels: values.length, residual: Math.sqrt(ss / values.length) };
  if (pose && shValues.length >= 20) out.sh = ridgeFit(Float64Array.from(shRows), shValues, 9);
  return out;
}

/** min |X l - y|^2 / m + ridge |l[1:]|^2: normal equations with the ridge on the diagonal. */
function ridgeFit(rows: Float64Array, y: number[], n: number): Float64Array {
  const m = y.length;
  const A = new Float64Array(n * n);
  const b = new Float64Array(n);
  for (let r = 0; r < m; r++)
    for (let i = 0; i < n; i++) {
      b[i] += (rows[r * n + i] * y[r]) / m;
      for (let j = 0; j < n; j++) A[i * n + j] += (rows[r * n + i] * rows[r * n + j]) / m;
    }
  for (let i = 1; i < n; i++) A[i * n + i] += SH_RIDGE;
  return solveSpd(A, b, n, 'lighting: spherical-harmonics fit');
}
