/**
 * batchNorm (training and eval), l2Normalize, pixelNorm, prelu and dropout.
 * Oracle: the float64 CPU reference (PyTorch's semantics) and finite differences (first and second order).
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { batchNorm, l2Normalize, pixelNorm, reference as R } from '../src/ops/norm.js';
import { dropout, prelu, reference as A } from '../src/ops/activation.js';
import { nd } from '../src/tensor/ndarray.js';
import { checkGradient, checkHessian, expectTensorClose, randomNd, toGpu } from './helpers.js';

const shapes: number[][] = [
  [3, 5],
  [1, 4, 3, 5],
  [3, 2, 7, 9],
  [2, 3, 8, 8], // S % 4 == 0: vec4 paths
  [2, 3, 9, 11], // S >= 64: the strided loop of the reductions
  [5, 2, 1, 1],
];

describe('batchNorm, training mode', () => {
  for (const shape of shapes) {
    it(`forward and gradients (x, weight, bias) for [${shape}]`, async () => {
      const C = shape[1];
      const x = randomNd(shape, -2, 3),
        w = randomNd([C], 0.5, 1.5),
        b = randomNd([C]);
      await checkGradient(
        (xt, wt, bt) => batchNorm(xt, { weight: wt, bias: bt, training: true }),
        (xa, wa, ba) => R.batchNorm(xa, { weight: wa, bias: ba, training: true }).y,
        [x, w, b],
        { rtol: 5e-3, atol: 5e-4 },
      );
    });
  }
  it('without affine parameters', async () => {
    await checkGradient(
      (xt) => batchNorm(xt, { training: true }),
      (xa) => R.batchNorm(xa, { training: true }).y,
      [randomNd([4, 3, 3, 5])],
      { rtol: 5e-3, atol: 5e-4 },
    );
  });
  it('is stable for a large mean and a small spread (two-pass variance)', async () => {
    const x = randomNd([8, 2, 5, 5], -1, 1);
    x.data.forEach((v, i) => (x.data[i] = Math.fround(1000 + 0.01 * v)));
    const y = E.scope(() => batchNorm(toGpu(x), { training: true }));
    // E[x^2] - E[x]^2 in f32 loses every digit here (1e6 with an ulp of 0.06, against a variance
    // of 3e-5); what remains is the f32 rounding of the mean itself (half an ulp of 1000 is 0.5%
    // of the spread), which bounds any f32 implementation
    await expectTensorClose(y, R.batchNorm(x, { training: true }).y, 0, 1.5e-2);
    y.dispose();
  });
  it('updates running statistics in place with the unbiased variance (PyTorch semantics)', async () => {
    const shape = [3, 4, 5, 7];
    const x = randomNd(shape, -1, 2),
      rm = randomNd([4]),
      rv = randomNd([4], 0.5, 2);
    const want = R.batchNorm(x, { runningMean: rm, runningVar: rv, training: true, momentum: 0.3 });
    const runningMean = toGpu(rm),
      runningVar = toGpu(rv);
    const y = E.scope(() => batchNorm(toGpu(x), { runningMean, runningVar, training: true, momentum: 0.3 }));
    await expectTensorClose(y, want.y, 1e-4, 1e-5, 'y');
    await expectTensorClose(runningMean, want.runningMean!, 1e-5, 1e-6, 'running mean');
    await expectTensorClose(runningVar, want.runningVar!, 1e-5, 1e-6, 'running var');
    // a second step moves them again
    const want2 = R.batchNorm(x, {
      runningMean: want.runningMean,
      runningVar: want.runningVar,
      training: true,
      momentum: 0.3,
    });
    E.scope(() => batchNorm(toGpu(x), { runningMean, runningVar, training: true, momentum: 0.3 })).dispose();
    await expectTensorClose(runningVar, want2.runningVar!, 1e-5, 1e-6, 'running var after two steps');
    [y, runningMean, runningVar].forEach((t) => t.dispose());
  });
  it('has second derivatives (createGraph builds the backward from engine ops)', async () => {
    await checkHessian(
      (xt, wt, bt) => batchNorm(xt, { weight: wt, bias: bt, training: true }),
      (xa, wa, ba) => R.batchNorm(xa, { weight: wa, bias: ba, training: true }).y,
      [randomNd([3, 2, 2, 3], -1, 1), randomNd([2], 0.5, 1.5), randomNd([2])],
      { rtol: 2e-2, atol: 2e-3 },
    );
  });
});

describe('batchNorm, eval mode', () => {
  for (const shape of [
    [3, 5],
    [2, 3, 5, 7],
    [1, 2, 4, 4],
  ]) {
    it(`uses running statistics, gradients for [${shape}]`, async () => {
      const C = shape[1];
      const rm = randomNd([C]),
        rv = randomNd([C], 0.5, 2);
      await checkGradient(
        (xt, wt, bt) =>
          batchNorm(xt, {
            weight: wt,
            bias: bt,
            runningMean: toGpu(rm),
            runningVar: toGpu(rv),
            training: false,
          }),
        (xa, wa, ba) =>
          R.batchNorm(xa, { weight: wa, bias: ba, runningMean: rm, runningVar: rv, training: false }).y,
        [randomNd(shape, -2, 2), randomNd([C], 0.5, 1.5), randomNd([C])],
      );
    });
  }
  it('does not change the running statistics', async () => {
    const rm = toGpu(nd([2], [0.5, -1])),
      rv = toGpu(nd([2], [2, 3]));
    E.scope(() =>
      batchNorm(toGpu(randomNd([4, 2])), { runningMean: rm, runningVar: rv, training: false }),
    ).dispose();
    expect([...(await rm.toArray())]).toEqual([0.5, -1]);
    expect([...(await rv.toArray())]).toEqual([2, 3]);
    rm.dispose();
    rv.dispose();
  });
});

describe('batchNorm rejects bad inputs', () => {
  it('with clear messages', () => {
    E.scope(() => {
      const x = E.zeros([4, 3, 2, 2]);
      expect(() => batchNorm(E.zeros([5]), { training: true })).toThrow(
        /batchNorm: expected a tensor of shape \(N, C, \.\.\.\), got \[5\]/,
      );
      expect(() => batchNorm(x, { weight: E.zeros([4]), training: true })).toThrow(
        /batchNorm: weight must have shape \[3\]/,
      );
      expect(() => batchNorm(x, { training: false })).toThrow(
        /eval mode .* needs runningMean and runningVar/,
      );
      expect(() => batchNorm(x, { runningMean: E.zeros([3]), training: true })).toThrow(
        /both runningMean and runningVar/,
      );
      expect(() => batchNorm(E.zeros([1, 3]), { training: true })).toThrow(/more than 1 value per channel/);
    });
  });
});

describe('l2Normalize and pixelNorm (with second derivatives)', () => {
  const l2Cases: [number[], number][] = [
    [[3, 7], -1],
    [[1, 5], 1],
    [[2, 3, 4], 1],
    [[4, 3], 0],
  ];
  for (const [shape, axis] of l2Cases) {
    it(`l2Normalize [${shape}] axis ${axis}`, async () => {
      const x = randomNd(shape, -1, 1);
      await checkGradient(
        (t) => l2Normalize(t, axis),
        (a) => R.l2Normalize(a, axis),
        [x],
      );
      await checkHessian(
        (t) => l2Normalize(t, axis),
        (a) => R.l2Normalize(a, axis),
        [x],
      );
    });
  }
  it('l2Normalize of a zero vector is zero (the norm is clamped to eps), with gradient g / eps', async () => {
    const x = E.zeros([2, 3]);
    x.requiresGrad = true;
    const y = l2Normalize(x, -1, 1e-2);
    expect([...(await y.toArray())]).toEqual([0, 0, 0, 0, 0, 0]);
    const [g] = E.grad([y], [x], { gradOutputs: [E.ones([2, 3])] });
    const got = await g!.toArray();
    for (const v of got) expect(v).toBeCloseTo(100, 3);
    [x, y, g!].forEach((t) => t.dispose());
  });
  for (const shape of [
    [3, 8],
    [2, 5, 3, 3],
    [1, 4, 1, 7],
  ]) {
    it(`pixelNorm [${shape}]`, async () => {
      const x = randomNd(shape, -1, 1);
      await checkGradient(
        (t) => pixelNorm(t),
        (a) => R.pixelNorm(a),
        [x],
      );
      await checkHessian(
        (t) => pixelNorm(t),
        (a) => R.pixelNorm(a),
        [x],
      );
    });
  }
  it('reject bad inputs', () => {
    E.scope(() => {
      expect(() => l2Normalize(E.zeros([2, 3]), 2)).toThrow(/l2Normalize: axis 2 out of range for rank 2/);
      expect(() => pixelNorm(E.zeros([3]))).toThrow(
        /pixelNorm: expected a tensor of shape \(N, C, \.\.\.\), got \[3\]/,
      );
    });
  });
});

describe('IResNet activations: prelu and dropout', () => {
  const cases: [number[], number][] = [
    [[3, 5], 5],
    [[2, 3, 4, 4], 3],
    [[1, 4, 3, 5], 4],
    [[3, 2, 5, 3], 1], // one slope shared by all channels
    [[7], 1],
  ];
  for (const [shape, wSize] of cases) {
    it(`prelu [${shape}] with ${wSize} slope(s): forward, gradients (x, weight), H v`, async () => {
      const x = randomNd(shape, -1, 1);
      x.data.forEach((v, i) => (x.data[i] = Math.abs(v) < 0.02 ? 0.05 : v)); // away from the kink
      const w = randomNd([wSize], 0, 0.5);
      await checkGradient(prelu, A.prelu, [x, w]);
      await checkHessian(
        (a, b) => E.square(prelu(a, b)),
        (a, b) => {
          const y = A.prelu(a, b);
          return { shape: y.shape, data: y.data.map((v) => v * v) };
        },
        [x, w],
      );
    });
  }
  it('prelu rejects a weight of the wrong size', () => {
    E.scope(() => {
      expect(() => prelu(E.zeros([2, 3, 4, 4]), E.zeros([4]))).toThrow(
        /prelu: weight must have shape \[3\] .* or \[1\], got \[4\]/,
      );
    });
  });
  it('dropout: identity in eval, the dropoutMask stream in training, gradient g * mask', async () => {
    const x = randomNd([4, 37]);
    const xt = toGpu(x, true);
    expect(dropout(xt, 0.3, { training: false })).toBe(xt);
    const gen = new E.Generator(7);
    const y = dropout(xt, 0.3, { training: true, generator: gen });
    const mask = E.dropoutMask([4, 37], 0.3, new E.Generator(7)); // the same stream
    const m = await mask.toArray();
    const keep = nd(
      [4, 37],
      Array.from(m, (v) => (v !== 0 ? 1 : 0)),
    );
    await expectTensorClose(y, A.dropout(x, keep, 0.3), 1e-6, 1e-6);
    const dropped = keep.data.filter((v) => v === 0).length;
    expect(dropped).toBeGreaterThan(148 * 0.15);
    expect(dropped).toBeLessThan(148 * 0.45);
    const w = randomNd([4, 37]);
    const [g] = E.grad([y], [xt], { gradOutputs: [toGpu(w)] });
    await expectTensorClose(g!, A.dropout(w, keep, 0.3), 1e-6, 1e-6);
    expect(() => dropout(xt, 1.5, { training: true })).toThrow(/dropout: p must be in \[0, 1\], got 1.5/);
    const z = dropout(xt, 1, { training: true });
    expect([...(await z.toArray())].every((v) => v === 0)).toBe(true);
    [xt, y, mask, g!, z].forEach((t) => t.dispose());
  });
});
