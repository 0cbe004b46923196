/**
 * The lighting code (src/face/lighting.ts): images shaded synthetically inside the face of a
 * synthetic 68-point face (test/face-synthetic.ts) with known coefficients, as 8-bit RGB.
 * Checked: the polynomial shading and the spherical-harmonics shading are recovered; a light
 * from the image's right gives a positive horizontal gradient; a mirror image negates the
 * horizontal terms; the mask is the jaw-and-brows polygon; bad input is named. CPU only.
 */
import { describe, expect, it } from 'vitest';
import { mirrorLandmarks } from '../src/face/landmarks68.js';
import {
  estimateLighting,
  faceFrame,
  faceMask,
  polyBasis,
  SH_RIDGE,
  shBasis,
  surfaceNormal,
  type FaceImage,
} from '../src/face/lighting.js';
import { estimatePose } from '../src/face/pose.js';
import { face68In3d, projectFace, rng } from './face-synthetic.js';

const S = 96;
const FACE = face68In3d();

/** A gray 8-bit RGB image: shade(x, y) in [0, 1] inside the face, noise outside. */
function render(landmarks: Float64Array, shade: (x: number, y: number) => number, seed = 1): FaceImage {
  const mask = faceMask(landmarks, S, S);
  const u = rng(seed);
  const data = new Float32Array(3 * S * S);
  for (let i = 0; i < S * S; i++) {
    const y = Math.floor(i / S);
    const x = i % S;
    const g = mask[i] ? Math.round(255 * shade(x + 0.5, y + 0.5)) : Math.floor(256 * u());
    data[i] = data[S * S + i] = data[2 * S * S + i] = Math.max(0, Math.min(255, g));
  }
  return { width: S, height: S, channels: 3, data };
}

function flipImage(img: FaceImage): FaceImage {
  const data = new Float32Array(img.data.length);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++) data[(c * S + y) * S + x] = img.data[(c * S + y) * S + (S - 1 - x)];
  return { ...img, data };
}

const lm = projectFace(FACE, { yaw: 15, pitch: -5, roll: 8 }, 0.45, [48, 40]);

describe('lighting: low-order shading of the face luminance', () => {
  it('the mask is the jaw-and-brows polygon: nose and mouth in, corners of the image out', () => {
    const mask = faceMask(lm, S, S);
    const at = (i: number) => mask[Math.floor(lm[2 * i + 1]) * S + Math.floor(lm[2 * i])];
    expect([30, 33, 51, 62, 39, 42].map(at)).toEqual([1, 1, 1, 1, 1, 1]);
    expect([mask[0], mask[S - 1], mask[S * S - 1]]).toEqual([0, 0, 0]);
    const count = mask.reduce((s, v) => s + v, 0);
    expect(count).toBeGreaterThan(1000);
    expect(count).toBeLessThan((S * S) / 2);
  });

  it('recovers known polynomial shading (8-bit image)', () => {
    const want = [0.55, 0.12, -0.08, -0.05, 0.03, 0.04];
    const frame = faceFrame(lm);
    const shade = (x: number, y: number) => polyBasis(...frame(x, y)).reduce((s, b, j) => s + b * want[j], 0);
    const got = estimateLighting(render(lm, shade), lm);
    const err = Math.max(...want.map((w, j) => Math.abs(got.poly[j] - w)));
    console.log(
      `lighting poly: ${got.pixels} pixels, worst coefficient error ${err.toExponential(2)}, residual ${got.residual.toExponential(2)}`,
    );
    expect(err).toBeLessThan(2e-3); // 8-bit rounding: 1/255 per pixel, averaged over ~2000 pixels
  });

  it('recovers known spherical-harmonics shading through the fitted pose', () => {
    const want = [0.5, 0.15, -0.1, 0.2, 0.03, -0.04, 0.02, 0.05, -0.03];
    const pose = estimatePose(lm);
    const shade = (x: number, y: number) => {
      const n = surfaceNormal(pose, x, y);
      return n ? shBasis(n).reduce((s, b, j) => s + b * want[j], 0) : 0;
    };
    const got = estimateLighting(render(lm, shade), lm, pose).sh!;
    const err1 = Math.max(...want.slice(0, 4).map((w, j) => Math.abs(got[j] - w)));
    const err2 = Math.max(...want.map((w, j) => Math.abs(got[j] - w)));
    console.log(
      `lighting SH: worst order-1 error ${err1.toExponential(2)}, worst of all 9 ${err2.toExponential(2)} (ridge ${SH_RIDGE})`,
    );
    expect(err1).toBeLessThan(5e-3); // 8-bit rounding and the ridge's bias
    expect(err2).toBeLessThan(5e-3);
  });

  it('a light from the image right gives b > 0, from above c < 0', () => {
    const pose = estimatePose(lm);
    const lambert = (dir: number[]) => (x: number, y: number) => {
      const n = surfaceNormal(pose, x, y);
      return n ? 0.2 + 0.6 * Math.max(0, n[0] * dir[0] + n[1] * dir[1] + n[2] * dir[2]) : 0;
    };
    const right = estimateLighting(render(lm, lambert([0.6, 0, 0.8])), lm);
    const above = estimateLighting(render(lm, lambert([0, -0.6, 0.8])), lm);
    expect(right.poly[1]).toBeGreaterThan(0.05);
    expect(above.poly[2]).toBeLessThan(-0.05);
  });

  it('a mirror image negates the horizontal terms (poly b, e; SH nx, nx ny, nx nz)', () => {
    const want = [0.5, 0.1, 0.05, -0.02, 0.04, 0.01];
    const frame = faceFrame(lm);
    const img = render(
      lm,
      (x, y) => polyBasis(...frame(x, y)).reduce((s, b, j) => s + b * want[j], 0) + 0.05 * Math.sin(x / 3),
    );
    const a = estimateLighting(img, lm, estimatePose(lm));
    const mlm = mirrorLandmarks(lm, S);
    const b = estimateLighting(flipImage(img), mlm, estimatePose(mlm));
    const polySign = [1, -1, 1, 1, -1, 1];
    a.poly.forEach((v, j) => expect(b.poly[j]).toBeCloseTo(polySign[j] * v, 9));
    const shSign = [1, -1, 1, 1, -1, -1, 1, 1, 1];
    a.sh!.forEach((v, j) => expect(b.sh![j]).toBeCloseTo(shSign[j] * v, 6));
  });

  it('bad input is an error naming the problem', () => {
    const img = render(lm, () => 0.5);
    expect(() => estimateLighting({ ...img, channels: 2 }, lm)).toThrow(/1 or 3 channels, got 2/);
    expect(() => estimateLighting({ ...img, data: Array.from(img.data).slice(0, 100) }, lm)).toThrow(
      /100 values, expected 3x96x96/,
    );
    const tiny = projectFace(FACE, { yaw: 0, pitch: 0, roll: 0 }, 0.02, [48, 48]);
    expect(() => estimateLighting(img, tiny)).toThrow(/covers \d+ pixels.*too few/);
  });
});
