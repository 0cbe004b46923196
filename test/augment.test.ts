/**
 * GPU augmentations (zoom-crop, flip, random erasing) and the sampling of their parameters.
 * Oracle: the float64 CPU reference and finite differences; statistics over 20000 draws for the sampler.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import {
  AUGMENT_DRAWS_PER_SAMPLE,
  augmentImages,
  flipHorizontal,
  identityAugmentParams,
  reference as A,
  sampleAugmentParams,
  uploadU8Images,
  type AugmentParams,
} from '../src/ops/augment.js';
import { reference as RS } from '../src/ops/resample.js';
import type { NdArray } from '../src/tensor/ndarray.js';
import { philoxBlock } from '../src/tensor/random.js';
import { checkGradient, checkHessian, expectClose, expectTensorClose, randomNd, toGpu } from './helpers.js';

/** Deterministic u8 pixels (a Philox stream of its own). */
function randomU8(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => philoxBlock(i >> 2, 5000 + seed)[i & 3] & 0xff);
}

type Shape4 = [number, number, number, number];

/** Runs augmentImages on u8 pixels and on the same images normalized as f32, checks both against the reference. */
async function checkBoth(shape: Shape4, params: AugmentParams, seed: number, what: string): Promise<NdArray> {
  const pixels = randomU8(
    shape.reduce((a, b) => a * b),
    seed,
  );
  const x = A.normalizeU8(pixels, shape);
  const want = A.augmentImages(x, params);
  const [fromU8, fromF32] = E.scope(() => [
    augmentImages(uploadU8Images(pixels, ...shape), params),
    augmentImages(toGpu(x), params),
  ]);
  await expectTensorClose(fromU8, want, 1e-5, 2e-6, `${what} (u8)`);
  await expectTensorClose(fromF32, want, 1e-5, 2e-6, `${what} (f32)`);
  fromU8.dispose();
  fromF32.dispose();
  return want;
}

function params(
  N: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
  p: { flip?: number[]; crop?: number[]; erase?: number[]; eraseValue?: number },
): AugmentParams {
  const id = identityAugmentParams(N, inH, inW, outH, outW);
  return {
    ...id,
    flip: p.flip ? Uint8Array.from(p.flip) : id.flip,
    crop: p.crop ? Int32Array.from(p.crop) : id.crop,
    erase: p.erase ? Int32Array.from(p.erase) : id.erase,
    eraseValue: p.eraseValue ?? 0,
  };
}

describe('augmentImages: GPU vs the float64 reference', () => {
  it('identity params give the normalized input, u8 (odd and multiple-of-4 widths) and f32', async () => {
    for (const [shape, seed] of [
      [[1, 3, 7, 5], 1],
      [[5, 1, 4, 8], 2],
      [[2, 3, 3, 1], 3],
    ] as [Shape4, number][]) {
      const [N, , H, W] = shape;
      const want = await checkBoth(shape, identityAugmentParams(N, H, W), seed, `identity [${shape}]`);
      // the reference itself: exactly (v / 255 - 0.5) / 0.5
      expectClose(
        want.data,
        Array.from(randomU8(want.data.length, seed), (v) => v / 127.5 - 1),
        0,
        1e-12,
        'reference identity',
      );
    }
  });

  it('full-box params are a plain bilinear resize (align_corners = false), down and up', async () => {
    for (const [shape, out] of [
      [
        [2, 3, 7, 5],
        [4, 3],
      ],
      [
        [1, 1, 5, 7],
        [11, 9],
      ],
      [
        [3, 2, 6, 6],
        [1, 1],
      ],
    ] as [Shape4, [number, number]][]) {
      const [N, , H, W] = shape;
      const want = await checkBoth(
        shape,
        identityAugmentParams(N, H, W, ...out),
        4,
        `resize [${shape}] -> ${out}`,
      );
      // independent of the augment reference: normalize, then resample's resize
      const pixels = randomU8(
        shape.reduce((a, b) => a * b),
        4,
      );
      expectClose(
        want.data,
        RS.resizeBilinear(A.normalizeU8(pixels, shape), out).data,
        0,
        1e-12,
        'reference resize',
      );
    }
  });

  it('flips mirror the output and match flipHorizontal of the unflipped result', async () => {
    const shape: Shape4 = [3, 3, 5, 7];
    const p = params(3, 5, 7, 4, 6, { flip: [1, 0, 1] });
    const flipped = await checkBoth(shape, p, 5, 'flip');
    const plain = A.augmentImages(
      A.normalizeU8(randomU8(3 * 3 * 5 * 7, 5), shape),
      identityAugmentParams(3, 5, 7, 4, 6),
    );
    const mirrored = A.flipHorizontal(plain);
    const plane = 3 * 4 * 6;
    for (let n = 0; n < 3; n++) {
      const src = p.flip[n] ? mirrored : plain;
      expectClose(
        flipped.data.subarray(n * plane, (n + 1) * plane),
        src.data.subarray(n * plane, (n + 1) * plane),
        0,
        0,
        `sample ${n}`,
      );
    }
    expect(flipped.data.subarray(0, plane)).not.toEqual(plain.data.subarray(0, plane));
  });

  it('zoom boxes: corners, interior, a single pixel, a thin row; resized up and down', async () => {
    // (top, left, h, w) in a 9 x 8 source
    const crop = [0, 0, 6, 5, 3, 3, 6, 5, 2, 1, 4, 4, 4, 6, 1, 1, 8, 0, 1, 8];
    for (const out of [
      [5, 4],
      [7, 9],
    ] as [number, number][]) {
      const want = await checkBoth(
        [5, 3, 9, 8],
        params(5, 9, 8, ...out, { crop, flip: [0, 1, 0, 1, 1] }),
        6,
        `zoom -> ${out}`,
      );
      // a 1 x 1 box is a constant image
      const size = 3 * out[0] * out[1];
      const single = want.data.subarray(3 * size, 3 * size + out[0] * out[1]);
      expect(single.every((v) => v === single[0])).toBe(true);
    }
  });

  it('erase boxes: the fill value exactly inside, the image outside; empty boxes erase nothing', async () => {
    const shape: Shape4 = [4, 3, 7, 6];
    // (top, left, h, w) in the 7 x 6 output: interior, the whole image but one row, a corner, empty
    const erase = [2, 1, 3, 2, 1, 0, 6, 6, 6, 5, 1, 1, 3, 2, 0, 4];
    for (const eraseValue of [0, -0.25]) {
      const p = params(4, 7, 6, 7, 6, { erase, eraseValue, flip: [1, 1, 0, 0] });
      const got = await checkBoth(shape, p, 7, `erase ${eraseValue}`);
      const plain = A.augmentImages(A.normalizeU8(randomU8(4 * 3 * 7 * 6, 7), shape), {
        ...p,
        erase: new Int32Array(16),
      });
      for (let n = 0; n < 4; n++)
        for (let c = 0; c < 3; c++)
          for (let i = 0; i < 7; i++)
            for (let j = 0; j < 6; j++) {
              const [t, l, h, w] = erase.slice(4 * n, 4 * n + 4);
              const k = ((n * 3 + c) * 7 + i) * 6 + j;
              expect(got.data[k]).toBe(
                i >= t && i < t + h && j >= l && j < l + w ? eraseValue : plain.data[k],
              );
            }
    }
  });

  it('sampled params (defaults, zoom + flip + erase), C = 1 and C = 3, N = 1 and N = 5', async () => {
    const cases: [Shape4, [number, number]][] = [
      [
        [5, 3, 12, 10],
        [8, 7],
      ],
      [
        [5, 1, 11, 9],
        [11, 9],
      ],
      [
        [1, 3, 16, 12],
        [16, 12],
      ],
    ];
    for (const [k, [shape, out]] of cases.entries()) {
      const [N, , H, W] = shape;
      const p = sampleAugmentParams(new E.Generator(40 + k), N, H, W, { out });
      await checkBoth(shape, p, 10 + k, `sampled [${shape}] -> ${out}`);
    }
  });

  it('N = 0 gives an empty batch', async () => {
    const y = E.scope(() =>
      augmentImages(uploadU8Images(new Uint8Array(0), 0, 3, 4, 4), sampleAugmentParams(1, 0, 4, 4)),
    );
    expect([...y.shape]).toEqual([0, 3, 4, 4]);
    y.dispose();
  });
});

/**
 * torchvision's erase acceptance region, integrated numerically on a grid: (area fraction
 * s ~ U[scale], log r ~ U[log ratio]) is accepted when round(sqrt(s H W r)) < H and
 * round(sqrt(s H W / r)) < W. Returns its measure q and the means of s and log r over it (the
 * accepted pairs are uniform on the region, whatever attempt accepts them).
 */
function acceptance(
  H: number,
  W: number,
  scale: [number, number],
  ratio: [number, number],
  G = 600,
): { q: number; meanS: number; meanLogR: number } {
  let accepted = 0,
    sSum = 0,
    logRSum = 0;
  const [l0, l1] = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let i = 0; i < G; i++)
    for (let j = 0; j < G; j++) {
      const s = scale[0] + ((scale[1] - scale[0]) * (i + 0.5)) / G,
        logR = l0 + ((l1 - l0) * (j + 0.5)) / G;
      const r = Math.exp(logR);
      if (Math.round(Math.sqrt(s * H * W * r)) < H && Math.round(Math.sqrt((s * H * W) / r)) < W) {
        accepted++;
        sSum += s;
        logRSum += logR;
      }
    }
  return { q: accepted / (G * G), meanS: sSum / accepted, meanLogR: logRSum / accepted };
}

describe('sampleAugmentParams', () => {
  it('is deterministic: a seed, a restored generator state, or a batch split in two give the same params', () => {
    const opts = { out: [10, 8] as [number, number] };
    const a = sampleAugmentParams(new E.Generator(9), 7, 12, 10, opts);
    expect(sampleAugmentParams(9, 7, 12, 10, opts)).toEqual(a);
    const g = new E.Generator(9);
    sampleAugmentParams(g, 3, 12, 10, opts);
    const rest = sampleAugmentParams(g, 4, 12, 10, opts);
    // a fixed number of draws per sample, whatever happened: 12 Philox blocks each
    expect(g.offset).toBe((7 * AUGMENT_DRAWS_PER_SAMPLE) / 4);
    expect(rest.flip).toEqual(a.flip.slice(3));
    expect(rest.crop).toEqual(a.crop.slice(12));
    expect(rest.erase).toEqual(a.erase.slice(12));
    // resuming from a saved state
    const saved = new E.Generator(9);
    saved.offset = (3 * AUGMENT_DRAWS_PER_SAMPLE) / 4;
    const resumed = new E.Generator(0);
    resumed.setState(saved.state());
    expect(sampleAugmentParams(resumed, 4, 12, 10, opts)).toEqual(rest);
    // another seed: other params
    expect(sampleAugmentParams(10, 7, 12, 10, opts).crop).not.toEqual(a.crop);
  });

  it('statistics over 20000 samples: flip rate, zoom area and position, erase rate, area and aspect', () => {
    const N = 20000,
      H = 56,
      W = 48;
    const p = sampleAugmentParams(new E.Generator(2024), N, H, W);
    const tol = 4 * Math.sqrt(0.25 / N); // 4 sigma of a rate near 0.5
    const flips = p.flip.reduce((a, b) => a + b, 0) / N;
    expect(Math.abs(flips - 0.5)).toBeLessThan(tol);

    // zoom: area fraction ~ U[0.8, 1] (up to rounding of the sides), boxes inside, positions uniform
    let areaSum = 0,
      minArea = 1,
      maxArea = 0,
      posSum = 0,
      posCount = 0;
    for (let n = 0; n < N; n++) {
      const [t, l, h, w] = p.crop.subarray(4 * n, 4 * n + 4);
      expect(t >= 0 && l >= 0 && t + h <= H && l + w <= W).toBe(true);
      const a = (h * w) / (H * W);
      areaSum += a;
      minArea = Math.min(minArea, a);
      maxArea = Math.max(maxArea, a);
      if (h < H) {
        posSum += t / (H - h);
        posCount++;
      }
    }
    expect(minArea).toBeGreaterThan(0.78);
    expect(minArea).toBeLessThan(0.81);
    expect(maxArea).toBe(1);
    expect(Math.abs(areaSum / N - 0.9)).toBeLessThan(0.003);
    expect(Math.abs(posSum / posCount - 0.5)).toBeLessThan(0.01);

    // erasing, against a numerical integral of torchvision's acceptance region (see acceptance)
    const { q, meanS, meanLogR } = acceptance(H, W, [0.02, 0.33], [0.3, 3.3]);
    const eraseRate = 0.5 * (1 - (1 - q) ** 10);
    let erased = 0,
      fracSum = 0,
      logRatioSum = 0,
      minFrac = 1,
      maxFrac = 0;
    for (let n = 0; n < N; n++) {
      const [t, l, h, w] = p.erase.subarray(4 * n, 4 * n + 4);
      if (h * w === 0) continue;
      expect(t >= 0 && l >= 0 && t + h <= H && l + w <= W && h < H && w < W).toBe(true);
      erased++;
      const f = (h * w) / (H * W);
      fracSum += f;
      logRatioSum += Math.log(h / w);
      minFrac = Math.min(minFrac, f);
      maxFrac = Math.max(maxFrac, f);
    }
    expect(Math.abs(erased / N - eraseRate)).toBeLessThan(tol);
    // rounding each side to an integer moves the area by up to ~ +-15% for the smallest boxes
    expect(minFrac).toBeGreaterThan(0.015);
    expect(minFrac).toBeLessThan(0.025);
    expect(maxFrac).toBeGreaterThan(0.3);
    expect(maxFrac).toBeLessThan(0.36);
    expect(Math.abs(fracSum / erased - meanS)).toBeLessThan(0.004);
    expect(Math.abs(logRatioSum / erased - meanLogR)).toBeLessThan(0.03);
  });

  it('erasing gives up after 10 failed attempts: the erase rate is 1 - (1 - q)^10', () => {
    const N = 20000,
      eraseScale: [number, number] = [0.6, 0.99];
    const p = sampleAugmentParams(new E.Generator(77), N, 20, 20, { eraseProb: 1, eraseScale });
    const { q } = acceptance(20, 20, eraseScale, [0.3, 3.3]);
    let erased = 0;
    for (let n = 0; n < N; n++) if (p.erase[4 * n + 2] * p.erase[4 * n + 3] > 0) erased++;
    const want = 1 - (1 - q) ** 10; // ~ 0.82 (one attempt would give ~ 0.16, five ~ 0.58)
    expect(Math.abs(erased / N - want)).toBeLessThan(4 * Math.sqrt((want * (1 - want)) / N));
    // an impossible box (the whole image) is never erased
    const never = sampleAugmentParams(1, 100, 10, 10, {
      eraseProb: 1,
      eraseScale: [1, 1],
      eraseRatio: [1, 1],
    });
    expect(never.erase.every((v) => v === 0)).toBe(true);
  });

  it('options: probabilities 0 and 1, zoomMin 1, an output of another aspect', () => {
    const none = sampleAugmentParams(3, 50, 12, 10, { flipProb: 0, eraseProb: 0, zoomMin: 1 });
    expect(none).toEqual({ ...identityAugmentParams(50, 12, 10), eraseValue: 0 });
    const all = sampleAugmentParams(3, 50, 40, 40, {
      flipProb: 1,
      eraseProb: 1,
      eraseScale: [0.1, 0.1],
      eraseRatio: [1, 1],
      eraseValue: 0.5,
    });
    expect(all.flip.every((f) => f === 1)).toBe(true);
    expect(all.eraseValue).toBe(0.5);
    for (let n = 0; n < 50; n++) expect([...all.erase.subarray(4 * n + 2, 4 * n + 4)]).toEqual([13, 13]); // round(sqrt(160))
    // a square output from a 12 x 10 source: the base box is 10 x 10, placed anywhere vertically
    const sq = sampleAugmentParams(5, 200, 12, 10, { out: [6, 6], zoomMin: 1 });
    const tops = new Set<number>();
    for (let n = 0; n < 200; n++) {
      expect([...sq.crop.subarray(4 * n + 1, 4 * n + 4)]).toEqual([0, 10, 10]);
      tops.add(sq.crop[4 * n]);
    }
    expect([...tops].sort()).toEqual([0, 1, 2]);
  });
});

describe('flipHorizontal', () => {
  for (const shape of [[2, 3, 4, 5], [7], [1, 1, 1, 1], [3, 2]]) {
    it(`[${shape}]: forward, gradient, H v`, async () => {
      const x = randomNd(shape);
      await checkGradient(flipHorizontal, A.flipHorizontal, [x]);
      await checkHessian(
        (t) => E.square(flipHorizontal(t)),
        (a) => A.flipHorizontal({ shape: a.shape, data: a.data.map((v) => v * v) }),
        [x],
      );
    });
  }
  it('flipping twice is the identity', async () => {
    const x = randomNd([2, 2, 3, 5]);
    const y = E.scope(() => flipHorizontal(flipHorizontal(toGpu(x))));
    await expectTensorClose(y, x, 0, 0);
    y.dispose();
  });
});

describe('bad inputs', () => {
  it('augmentImages names the op and the shapes', () => {
    const p = identityAugmentParams(2, 4, 5);
    E.scope(() => {
      expect(() => augmentImages(E.zeros([2, 3, 4, 6]), p)).toThrow(
        /augmentImages: f32 images of shape \[2,3,4,6\] do not match the params, which expect \(N, C, H, W\) = \[2, C, 4, 5\]/,
      );
      expect(() => augmentImages(E.zeros([3, 3, 4, 5]), p)).toThrow(
        /augmentImages: f32 images of shape \[3,3,4,5\]/,
      );
      expect(() => augmentImages(E.zeros([3, 4, 5]), p)).toThrow(
        /augmentImages: f32 images of shape \[3,4,5\]/,
      );
      expect(() => augmentImages(uploadU8Images(new Uint8Array(2 * 3 * 4 * 9), 2, 3, 4, 9), p)).toThrow(
        /augmentImages: packed u8 images of shape \[2,3,4,3\] do not match the params, which expect .*ceil\(5 \/ 4\) = 2\]/,
      );
      const x = E.zeros([2, 3, 4, 5]);
      x.requiresGrad = true;
      expect(() => augmentImages(x, p)).toThrow(
        /augmentImages: .*no gradient; got an input \[2,3,4,5\] that requires grad/,
      );
      expect(() => augmentImages(E.tensor([0], [1, 1, 1, 1], 'i32'), identityAugmentParams(1, 1, 1))).toThrow(
        /augmentImages: expected f32 images or u32-packed u8 images.*got i32 of shape \[1,1,1,1\]/,
      );
      const y = E.zeros([2, 1, 4, 5]);
      expect(() => augmentImages(y, { ...p, crop: Int32Array.of(0, 0, 4, 5, 1, 1, 4, 4) })).toThrow(
        /augmentImages: crop box \[1, 1, 4, 4\] \(top, left, h, w\) of sample 1 is not a non-empty box inside the 4x5 source/,
      );
      expect(() => augmentImages(y, { ...p, crop: Int32Array.of(0, 0, 4, 5, 0, 0, 0, 5) })).toThrow(
        /crop box \[0, 0, 0, 5\]/,
      );
      expect(() => augmentImages(y, { ...p, erase: Int32Array.of(0, 0, 0, 0, 3, 0, 2, 1) })).toThrow(
        /augmentImages: erase box \[3, 0, 2, 1\] .* of sample 1 is not inside the 4x5 output/,
      );
      expect(() => augmentImages(y, { ...p, flip: Uint8Array.of(0) })).toThrow(
        /augmentImages: params for N = 2 need flip \(N\), crop \(4N\) and erase \(4N\) entries, got 1, 8, 8/,
      );
      expect(() => augmentImages(y, { ...p, flip: Uint8Array.of(0, 2) })).toThrow(
        /flip of sample 1 is 2, expected 0 or 1/,
      );
    });
  });

  it('uploadU8Images, sampleAugmentParams and flipHorizontal reject bad arguments', () => {
    expect(() => uploadU8Images(new Uint8Array(10), 1, 3, 2, 2)).toThrow(
      /uploadU8Images: 10 bytes do not fill \(N, C, H, W\) = \[1, 3, 2, 2\] \(12 bytes\)/,
    );
    expect(() => uploadU8Images(new Uint8Array(0), 1, 0, 2, 2)).toThrow(
      /uploadU8Images: C must be a positive integer, got 0/,
    );
    expect(() => sampleAugmentParams(1, 2, 0, 4)).toThrow(
      /sampleAugmentParams: inH must be a positive integer, got 0/,
    );
    expect(() => sampleAugmentParams(1, 2.5, 4, 4)).toThrow(
      /sampleAugmentParams: N must be a non-negative integer, got 2.5/,
    );
    expect(() => sampleAugmentParams(1, 2, 4, 4, { zoomMin: 0 })).toThrow(
      /sampleAugmentParams: zoomMin must be in \(0, 1\], got 0/,
    );
    expect(() => sampleAugmentParams(1, 2, 4, 4, { flipProb: 1.5 })).toThrow(
      /sampleAugmentParams: flipProb must be in \[0, 1\], got 1.5/,
    );
    expect(() => sampleAugmentParams(1, 2, 4, 4, { eraseScale: [0.3, 0.1] })).toThrow(
      /sampleAugmentParams: eraseScale must be \[min, max\] with 0 < min <= max, got \[0.3,0.1\]/,
    );
    expect(() => sampleAugmentParams(1, 2, 4, 4, { out: [4, 0] })).toThrow(
      /sampleAugmentParams: out width must be a positive integer, got 0/,
    );
    expect(() => sampleAugmentParams(-1, 2, 4, 4)).toThrow(/Generator: seed must be a non-negative integer/);
    E.scope(() => {
      expect(() => flipHorizontal(E.scalar(1))).toThrow(
        /flipHorizontal: expected a tensor with at least one axis, got shape \[\]/,
      );
      expect(() => flipHorizontal(E.tensor([1], [1], 'i32'))).toThrow(
        /flipHorizontal: expected an f32 tensor, got i32 of shape \[1\]/,
      );
    });
  });
});
