/**
 * The factors (src/face) on the embedded sample (data/lfw-sample: 329 aligned 64x64 faces),
 * landmarks from face-api's tiny landmark network on the engine (images upsampled to 112x112,
 * bilinear). Prints the ranges of yaw, pitch and roll, the reprojection error, the fraction
 * flagged by the quality check, the expression PCA's explained variance and the lighting
 * code's spread; checks that the fit is good (mean reprojection under 1 px at 64 px, few
 * faces flagged) and that the 3D mean face's frontal layout (mean-face-3d.ts) is what this
 * sample gives (each point within 1.5 mm).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../src/data/decode-image.js';
import { toUint8CHW } from '../src/data/preprocess.js';
import {
  assessQuality,
  explainedFraction,
  fitExpressionModel,
  interOcular,
  MEAN_FACE_3D,
  measureFactors,
  MIRROR,
} from '../src/face/index.js';
import { loadTfjsWeights } from '../src/io/tfjs-weights-node.js';
import { Landmark68Tiny, LANDMARK68_TINY_WEIGHTS_NAME } from '../src/models/face-api/landmark68-tiny.js';
import { noGrad, resizeBilinear, scope, tensor } from '../src/index.js';

const ROOT = 'data/lfw-sample/images';
const S = 64;

const stats = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(1);
  return `min ${s[0].toFixed(1)}, 5% ${q(0.05)}, median ${q(0.5)}, 95% ${q(0.95)}, max ${s[s.length - 1].toFixed(1)}, mean ${(a.reduce((x, y) => x + y, 0) / a.length).toFixed(2)}`;
};

describe('factors on the embedded sample', () => {
  it('pose, reprojection, quality, expression and lighting of 329 faces', async () => {
    const files = readdirSync(ROOT)
      .sort()
      .flatMap((p) =>
        readdirSync(`${ROOT}/${p}`)
          .sort()
          .map((f) => `${p}/${f}`),
      );
    const images = files.map((f) =>
      toUint8CHW(decodeImage(readFileSync(`${ROOT}/${f}`), f), { crop: [S, S], out: [S, S], channels: 3 }),
    );
    const net = new Landmark68Tiny(loadTfjsWeights(LANDMARK68_TINY_WEIGHTS_NAME));
    const landmarks: Float32Array[] = [];
    for (let start = 0; start < files.length; start += 32) {
      const n = Math.min(32, files.length - start);
      const data = new Float32Array(n * 3 * S * S);
      for (let i = 0; i < n; i++) data.set(images[start + i], i * 3 * S * S);
      const y = noGrad(() =>
        scope(() => net.forward(resizeBilinear(tensor(data, [n, 3, S, S]), [112, 112]))),
      );
      const v = (await y.toArray()) as Float32Array;
      y.dispose();
      for (let i = 0; i < n; i++) landmarks.push(v.slice(i * 136, (i + 1) * 136));
    }
    net.dispose();

    const people = files.map((f) => f.split('/')[0]);
    const factors = landmarks.map((lm, i) =>
      measureFactors(lm, { width: S, height: S, channels: 3, data: images[i] }),
    );
    const model = fitExpressionModel(
      factors.map((f) => f.landmarks),
      { people },
    );
    const flagged = factors.filter((f) => !f.quality.ok);
    const strict = factors.filter(
      (f) => !assessQuality(f.landmarks, S, S, f.reprojectionError, { margin: 0 }).ok,
    ).length;
    const err = factors.map((f) => f.reprojectionError);
    const meanErr = err.reduce((a, b) => a + b, 0) / err.length;
    console.log(
      [
        `sample: ${files.length} faces of ${new Set(people).size} people, ${S}x${S}`,
        `yaw   ${stats(factors.map((f) => f.yaw))}`,
        `pitch ${stats(factors.map((f) => f.pitch))}`,
        `roll  ${stats(factors.map((f) => f.roll))}`,
        `reprojection error (px) ${stats(err)}`,
        `inter-ocular distance (px) ${stats(factors.map((f) => interOcular(f.landmarks)))}`,
        `flagged ${flagged.length} / ${factors.length}: ${flagged
          .map((f, i) => f.quality.reasons.join('; '))
          .slice(0, 3)
          .join(' | ')}`,
        `flagged with margin 0 (any landmark past the border): ${strict} / ${factors.length}`,
        `expression PCA: k = ${model.variances.length}, explained ${(100 * explainedFraction(model)).toFixed(1)}%`,
        `lighting a (mean luminance) ${stats(factors.map((f) => f.lighting!.poly[0]))}`,
        `lighting b (left-right)     ${stats(factors.map((f) => f.lighting!.poly[1]))}`,
        `lighting c (top-bottom)     ${stats(factors.map((f) => f.lighting!.poly[2]))}`,
        `lighting fit residual       ${stats(factors.map((f) => f.lighting!.residual))}`,
      ].join('\n'),
    );
    expect(meanErr).toBeLessThan(1);
    expect(flagged.length / factors.length).toBeLessThan(0.05);
    expect(model.variances.length).toBeGreaterThanOrEqual(5);

    // the mean face's frontal layout, re-measured (mean-face-3d.ts' header says how)
    const mean = new Float64Array(136);
    for (const f of factors) {
      const p = f.landmarks;
      const s = 90 / interOcular(p); // mm per px, outer eye corners 90 mm apart
      const [cx, cy] = [(p[72] + p[90]) / 2, (p[73] + p[91]) / 2];
      for (let i = 0; i < 68; i++) {
        mean[2 * i] += ((p[2 * i] - cx) * s) / factors.length;
        mean[2 * i + 1] += ((p[2 * i + 1] - cy) * s) / factors.length;
      }
    }
    let worst = 0;
    for (const [i, x, y] of MEAN_FACE_3D) {
      const sx = (mean[2 * i] - mean[2 * MIRROR[i]]) / 2;
      const sy = (mean[2 * i + 1] + mean[2 * MIRROR[i] + 1]) / 2;
      worst = Math.max(worst, Math.abs(sx - x), Math.abs(sy - y));
    }
    console.log(`mean face layout: worst difference from the sample's ${worst.toFixed(2)} mm`);
    expect(worst).toBeLessThan(1.5);
  }, 240_000);
});
