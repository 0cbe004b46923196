/**
 * Synthetic faces for the factor tests (src/face): all 68 landmarks in 3D, built from the 3D
 * mean face's 30 points (src/face/mean-face-3d.ts) by interpolating the others along the jaw,
 * brows, eyelids and lips, then projected through a known pose (scaled orthographic camera).
 * Not a face model of the library: only a plausible, exactly known input.
 */
import { MEAN_FACE_3D } from '../src/face/mean-face-3d.js';
import { rotationFromAngles } from '../src/face/pose.js';

type P3 = [number, number, number];

export function rng(seed: number): () => number {
  // mulberry32
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample (Box-Muller) from a uniform source. */
export function gaussian(u: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** All 68 points of a synthetic face in the mean face's frame (mm). */
export function face68In3d(): P3[] {
  const p: (P3 | undefined)[] = new Array(68);
  for (const [i, x, y, z] of MEAN_FACE_3D) p[i] = [x, y, z];
  const lerp = (a: number, b: number, t: number, dy = 0): P3 => {
    const [A, B] = [p[a]!, p[b]!];
    return [A[0] + (B[0] - A[0]) * t, A[1] + (B[1] - A[1]) * t + dy, A[2] + (B[2] - A[2]) * t];
  };
  [1, 2, 3].forEach((i) => (p[i] = lerp(0, 4, i / 4)));
  [13, 14, 15].forEach((i) => (p[i] = lerp(12, 16, (i - 12) / 4)));
  p[5] = lerp(4, 6, 0.5);
  p[7] = lerp(6, 8, 0.5);
  p[9] = lerp(8, 10, 0.5);
  p[11] = lerp(10, 12, 0.5);
  p[18] = lerp(17, 19, 0.5, -3);
  p[20] = lerp(19, 21, 0.5, -2);
  p[23] = lerp(22, 24, 0.5, -2);
  p[25] = lerp(24, 26, 0.5, -3);
  p[32] = lerp(31, 33, 0.5, 1);
  p[34] = lerp(33, 35, 0.5, 1);
  // eyelids: right eye 36 (outer) -> 39 (inner); left eye 42 (inner) -> 45 (outer)
  p[37] = lerp(36, 39, 1 / 3, -4);
  p[38] = lerp(36, 39, 2 / 3, -4);
  p[40] = lerp(36, 39, 2 / 3, 3);
  p[41] = lerp(36, 39, 1 / 3, 3);
  p[43] = lerp(42, 45, 1 / 3, -4);
  p[44] = lerp(42, 45, 2 / 3, -4);
  p[46] = lerp(42, 45, 2 / 3, 3);
  p[47] = lerp(42, 45, 1 / 3, 3);
  // outer lip: 48 (right corner) .. 51 (top) .. 54 (left corner) .. 57 (bottom) .. 59
  p[49] = lerp(48, 51, 1 / 3, -3);
  p[50] = lerp(48, 51, 2 / 3, -1);
  p[52] = lerp(51, 54, 1 / 3, -1);
  p[53] = lerp(51, 54, 2 / 3, -3);
  p[55] = lerp(54, 57, 1 / 3, 4);
  p[56] = lerp(54, 57, 2 / 3, 2);
  p[58] = lerp(57, 48, 1 / 3, 2);
  p[59] = lerp(57, 48, 2 / 3, 4);
  // inner lip: 60 (right) 61 62 63 64 (left) 65 66 67
  p[60] = lerp(48, 54, 0.08);
  p[64] = lerp(48, 54, 0.92);
  p[61] = lerp(60, 62, 0.5, -1);
  p[63] = lerp(62, 64, 0.5, -1);
  p[65] = lerp(64, 66, 0.5, 1);
  p[67] = lerp(66, 60, 0.5, 1);
  return p.map((q, i) => {
    if (!q) throw new Error(`face68In3d: point ${i} missing`);
    return q;
  });
}

/** The 68 points projected (flat x0, y0, ...): x = s R[0:2] X + t, plus Gaussian noise (px). */
export function projectFace(
  points: P3[],
  angles: { yaw: number; pitch: number; roll: number },
  scale: number,
  t: [number, number],
  noise = 0,
  u: () => number = rng(1),
): Float64Array {
  const R = rotationFromAngles(angles.yaw, angles.pitch, angles.roll);
  const out = new Float64Array(2 * points.length);
  points.forEach(([x, y, z], i) => {
    out[2 * i] = scale * (R[0] * x + R[1] * y + R[2] * z) + t[0] + noise * gaussian(u);
    out[2 * i + 1] = scale * (R[3] * x + R[4] * y + R[5] * z) + t[1] + noise * gaussian(u);
  });
  return out;
}
