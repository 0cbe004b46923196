/**
 * translate (integer shifts, zeros in) and DiffAugment (color, translation, cutout).
 * Oracles: the float64 CPU references, finite differences (first and second order: R1 takes
 * the gradient of D through the augmentation), and a float64 re-computation of DiffAugment's
 * formulas from its sampled parameters.
 */
import { describe, expect, it } from 'vitest';
import {
  applyDiffAugment,
  diffAugment,
  sampleDiffAugment,
  type DiffAugmentParams,
} from '../src/ops/diff-augment.js';
import { square } from '../src/ops/elementwise.js';
import { reference as T, translate } from '../src/ops/translate.js';
import { Generator } from '../src/tensor/random.js';
import { nd, type NdArray } from '../src/tensor/ndarray.js';
import { checkGradient, checkHessian, expectTensorClose, randomNd, toGpu } from './helpers.js';

describe('translate', () => {
  const shifts = Int32Array.of(1, -2, 0, 0, -3, 4);
  it('moves each image by its own shift with zeros shifted in, as the CPU reference', async () => {
    const x = randomNd([3, 2, 5, 7], -1, 1);
    const y = translate(toGpu(x), shifts);
    await expectTensorClose(y, T.translate(x, shifts), 0, 0, 'translate');
    // a hand-checked value: image 0 moved down 1, left 2 -> out[0, c, 1, 0] = x[0, c, 0, 2]
    const v = await y.toArray();
    expect(v[1 * 7 + 0]).toBe(x.data[2]);
    expect(v[0]).toBe(0); // row 0 came from row -1: outside
    y.dispose();
  });
  it('gradient (its adjoint, the opposite move) against finite differences', async () => {
    await checkGradient(
      (x) => translate(x, shifts),
      (x) => T.translate(x, shifts),
      [randomNd([3, 2, 5, 7], -1, 1)],
    );
  });
  it('names a wrong shape or shift count', () => {
    expect(() => translate(toGpu(randomNd([2, 3, 4], -1, 1)), Int32Array.of(0, 0))).toThrow(
      /translate: expected an \(N, C, H, W\) batch, got shape \[2,3,4\]/,
    );
    expect(() => translate(toGpu(randomNd([2, 1, 4, 4], -1, 1)), Int32Array.of(0, 0))).toThrow(
      /translate: 2 shift values for 2 images/,
    );
  });
});

/** DiffAugment's formulas in float64 from the sampled parameters. */
function diffAugmentRef(x: NdArray, p: DiffAugmentParams): NdArray {
  const [N, C, H, W] = x.shape;
  const y = nd(x.shape, Array.from(x.data));
  const at = (n: number, c: number, i: number) => (n * C + c) * H * W + i;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) y.data[at(n, c, i)] += p.brightness[n];
    for (let i = 0; i < H * W; i++) {
      let m = 0;
      for (let c = 0; c < C; c++) m += y.data[at(n, c, i)] / C;
      for (let c = 0; c < C; c++) y.data[at(n, c, i)] = (y.data[at(n, c, i)] - m) * p.saturation[n] + m;
    }
    let m = 0;
    for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) m += y.data[at(n, c, i)] / (C * H * W);
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H * W; i++) y.data[at(n, c, i)] = (y.data[at(n, c, i)] - m) * p.contrast[n] + m;
  }
  const t = T.translate(y, p.shifts);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) t.data[at(n, c, i)] *= p.keep[n * H * W + i];
  return t;
}

describe('DiffAugment', () => {
  it('samples within the policy: shifts within 1/8 of the side, a half-side square cut out', () => {
    const p = sampleDiffAugment(64, 16, 24, new Generator(5));
    for (let n = 0; n < 64; n++) {
      expect(Math.abs(p.shifts[2 * n])).toBeLessThanOrEqual(2);
      expect(Math.abs(p.shifts[2 * n + 1])).toBeLessThanOrEqual(3);
      expect(p.brightness[n]).toBeGreaterThanOrEqual(-0.5);
      expect(p.saturation[n]).toBeLessThan(2);
      expect(p.contrast[n]).toBeGreaterThanOrEqual(0.5);
      const cut = p.keep.subarray(n * 16 * 24, (n + 1) * 16 * 24).filter((v) => v === 0).length;
      expect(cut).toBeGreaterThan(0);
      expect(cut).toBeLessThanOrEqual(8 * 12);
    }
    expect(new Set(p.shifts).size).toBeGreaterThan(3); // not all the same
    // the same generator state draws the same parameters
    const again = sampleDiffAugment(64, 16, 24, new Generator(5));
    expect(again).toEqual(p);
  });
  it('applies the formulas of its parameters (float64 reference)', async () => {
    const x = randomNd([4, 3, 8, 8], -1, 1);
    const p = sampleDiffAugment(4, 8, 8, new Generator(2));
    const y = applyDiffAugment(toGpu(x), p);
    await expectTensorClose(y, diffAugmentRef(x, p), 1e-5, 1e-5, 'diffAugment');
    y.dispose();
    const g = new Generator(2);
    const z = diffAugment(toGpu(x), g);
    expect(g.state().offset).toBeGreaterThan(0);
    await expectTensorClose(z, diffAugmentRef(x, p), 1e-5, 1e-5, 'diffAugment with its own draw');
    z.dispose();
  });
  it('first and second derivatives against finite differences (R1 differentiates through it)', async () => {
    const p = sampleDiffAugment(2, 6, 6, new Generator(9));
    const x = randomNd([2, 3, 6, 6], -1, 1);
    await checkGradient(
      (t) => applyDiffAugment(t, p),
      (t) => diffAugmentRef(t, p),
      [x],
    );
    await checkHessian(
      (t) => {
        const y = applyDiffAugment(t, p);
        return square(y);
      },
      (t) => {
        const y = diffAugmentRef(t, p);
        return nd(
          y.shape,
          Array.from(y.data, (v) => v * v),
        );
      },
      [x],
    );
  });
});
