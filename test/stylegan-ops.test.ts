/**
 * StyleGAN2 ops: minibatchStd, noiseInjection, biasAct.
 * Oracle: the float64 CPU reference of StyleGAN2's definitions, finite differences (first and second order).
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import {
  biasAct,
  minibatchStd,
  noiseInjection,
  reference as R,
  type BiasActOptions,
} from '../src/ops/stylegan.js';
import { nd } from '../src/tensor/ndarray.js';
import { checkGradient, checkHessian, expectTensorClose, randomNd, toGpu } from './helpers.js';

describe('minibatchStd (StyleGAN2 MinibatchStdLayer)', () => {
  const cases: [number[], number, number][] = [
    [[4, 3, 2, 3], 4, 1],
    [[8, 4, 3, 3], 4, 2], // two groups of four, two channel groups
    [[3, 2, 3, 1], 4, 1], // G = min(4, N) = 3
    [[6, 2, 1, 2], 2, 1],
    [[1, 3, 2, 2], 4, 3], // a single sample: the std is sqrt(1e-8)
  ];
  for (const [shape, G, F] of cases) {
    it(`[${shape}] group ${G}, ${F} channel(s): forward, gradient, H v`, async () => {
      const x = randomNd(shape);
      await checkGradient(
        (t) => minibatchStd(t, G, F),
        (a) => R.minibatchStd(a, G, F),
        [x],
      );
      if (shape[0] > 1)
        await checkHessian(
          (t) => minibatchStd(t, G, F),
          (a) => R.minibatchStd(a, G, F),
          [x],
          { rtol: 2e-2, atol: 2e-3 },
        );
    });
  }
  it('appends the same statistic to every member of a group (sample g n + j is in group j)', async () => {
    const x = randomNd([4, 1, 1, 1]);
    const y = E.scope(() => minibatchStd(toGpu(x), 2));
    const v = await y.toArray();
    const std = (a: number, b: number) => Math.sqrt(((a - b) / 2) ** 2 + 1e-8);
    expect(v[1]).toBeCloseTo(std(x.data[0], x.data[2]), 5);
    expect(v[3]).toBeCloseTo(std(x.data[1], x.data[3]), 5);
    expect(v[5]).toBeCloseTo(v[1], 6);
    expect(v[7]).toBeCloseTo(v[3], 6);
    y.dispose();
  });
  it('rejects bad inputs', () => {
    E.scope(() => {
      expect(() => minibatchStd(E.zeros([6, 2, 2, 2]), 4)).toThrow(
        /batch size 6 must be divisible by the group size 4/,
      );
      expect(() => minibatchStd(E.zeros([4, 3, 2, 2]), 4, 2)).toThrow(
        /numChannels 2 must be a positive divisor of the 3 channels/,
      );
      expect(() => minibatchStd(E.zeros([4, 3, 2]), 4)).toThrow(
        /minibatchStd: expected an input of shape \(N, C, H, W\)/,
      );
    });
  });
});

describe('noiseInjection', () => {
  for (const noiseBatch of [3, 1]) {
    it(`x + strength * noise, noise of batch ${noiseBatch}: gradients for x, noise and strength; H v`, async () => {
      const x = randomNd([3, 4, 3, 5]),
        noise = randomNd([noiseBatch, 1, 3, 5]),
        s = randomNd([1]);
      await checkGradient(noiseInjection, R.noiseInjection, [x, noise, s]);
      await checkHessian(noiseInjection, R.noiseInjection, [x, noise, s]);
    });
  }
  it('accepts a number or a scalar tensor as strength', async () => {
    const x = randomNd([1, 2, 2, 3]),
      noise = randomNd([1, 1, 2, 3]);
    const want = R.noiseInjection(x, noise, nd([1], [0.5]));
    const [a, b] = E.scope(() => [
      noiseInjection(toGpu(x), toGpu(noise), 0.5),
      noiseInjection(toGpu(x), toGpu(noise), E.scalar(0.5)),
    ]);
    await expectTensorClose(a, want);
    await expectTensorClose(b, want);
    a.dispose();
    b.dispose();
  });
  it('rejects bad inputs', () => {
    E.scope(() => {
      expect(() => noiseInjection(E.zeros([2, 3, 4, 4]), E.zeros([2, 3, 4, 4]), 1)).toThrow(
        /noise must have shape \[2, 1, 4, 4\] or \[1, 1, 4, 4\]/,
      );
      expect(() => noiseInjection(E.zeros([2, 3, 4, 4]), E.zeros([2, 1, 4, 4]), E.zeros([2]))).toThrow(
        /strength must have one element/,
      );
    });
  });
});

describe('biasAct (StyleGAN2 bias_act)', () => {
  const cases: [number[], BiasActOptions][] = [
    [[3, 5], { act: 'lrelu' }],
    [[2, 3, 4, 4], { act: 'lrelu' }],
    [[1, 4, 3, 5], { act: 'linear' }],
    [[3, 2, 5, 3], { act: 'lrelu', clamp: 0.6 }],
    [[2, 3, 2, 2], { act: 'lrelu', slope: 0.1, gain: 0.5 }],
    [[2, 2, 7, 11], { act: 'linear', gain: 3, clamp: 1.5 }],
  ];
  for (const [shape, o] of cases) {
    it(`[${shape}] ${JSON.stringify(o)}: forward, gradients (x, bias), H v`, async () => {
      // keep x + b away from the kinks (0 and +-clamp) where finite differences are meaningless
      const b = randomNd([shape[1]], -0.3, 0.3);
      const x = randomNd(shape, -1.5, 1.5);
      const S = x.data.length / shape[0] / shape[1];
      x.data.forEach((v, i) => {
        const z = v + b.data[Math.floor(i / S) % shape[1]];
        const gain = o.gain ?? (o.act === 'lrelu' ? Math.SQRT2 : 1);
        const y = (z > 0 ? z : z * (o.act === 'lrelu' ? (o.slope ?? 0.2) : 1)) * gain;
        if (Math.abs(z) < 0.02 || (o.clamp != null && Math.abs(Math.abs(y) - o.clamp) < 0.05))
          x.data[i] = Math.fround(v + 0.1);
      });
      await checkGradient(
        (t, bt) => biasAct(t, bt, o),
        (a, ba) => R.biasAct(a, ba, o),
        [x, b],
      );
      await checkHessian(
        (t, bt) => E.square(biasAct(t, bt, o)),
        (a, ba) => ({ shape: a.shape, data: R.biasAct(a, ba, o).data.map((v) => v * v) }),
        [x, b],
      );
    });
  }
  it('without a bias', async () => {
    await checkGradient(
      (t) => biasAct(t, null, { act: 'lrelu' }),
      (a) => R.biasAct(a, null, { act: 'lrelu' }),
      [randomNd([2, 3, 3, 3])],
    );
  });
  it('the gradient of the input gradient with respect to g is the slope mask (what R1 needs)', async () => {
    // y = biasAct(x), L = sum(w * y); dL/dx = w * m; d/dw sum(v * dL/dx) = v * m
    const x = E.tensor([-1, 2, -3, 4], [1, 4]),
      b = E.zeros([4]);
    x.requiresGrad = true;
    const w = E.tensor([1, 1, 1, 1], [1, 4]);
    w.requiresGrad = true;
    const y = biasAct(x, b, { act: 'lrelu' });
    const [gx] = E.grad([y], [x], { gradOutputs: [w], createGraph: true });
    const [gw] = E.grad([E.sum(gx!)], [w]);
    const s = Math.SQRT2;
    await expectTensorClose(gw!, nd([1, 4], [0.2 * s, s, 0.2 * s, s]), 1e-6, 1e-6);
    [x, b, w, y, gx!, gw!].forEach((t) => t.dispose());
  });
  it('rejects bad inputs', () => {
    E.scope(() => {
      expect(() => biasAct(E.zeros([2, 3]), E.zeros([4]))).toThrow(/biasAct: bias must have shape \[3\]/);
      expect(() => biasAct(E.zeros([2, 3]), null, { act: 'relu' as 'linear' })).toThrow(
        /unknown activation 'relu'/,
      );
      expect(() => biasAct(E.zeros([3]), null)).toThrow(
        /biasAct: expected a tensor of shape \(N, C, \.\.\.\)/,
      );
    });
  });
});

describe('memory', () => {
  it('a forward + backward through these ops inside a scope leaves no tensor behind', async () => {
    const { batchNorm } = await import('../src/ops/norm.js');
    const { prelu } = await import('../src/ops/activation.js');
    const { upsample2d, downsample2d } = await import('../src/ops/resample.js');
    const { maxPool2d } = await import('../src/ops/pool.js');
    const w = E.keep(E.ones([3])),
      b = E.keep(E.zeros([3]));
    const rm = E.keep(E.zeros([3])),
      rv = E.keep(E.ones([3]));
    w.requiresGrad = b.requiresGrad = true;
    const step = () =>
      E.scope(() => {
        const x = E.randn([4, 3, 6, 6]);
        x.requiresGrad = true;
        let h = batchNorm(x, { weight: w, bias: b, runningMean: rm, runningVar: rv, training: true });
        h = prelu(h, w);
        h = downsample2d(upsample2d(h));
        h = biasAct(maxPool2d(h, 2), b, { act: 'lrelu', clamp: 2 });
        h = minibatchStd(noiseInjection(h, E.randn([4, 1, 3, 3]), 0.1), 2);
        const [gx] = E.grad([E.sum(E.square(h))], [x], { createGraph: true });
        E.backward(E.sum(E.square(gx!))); // an R1-style second-order step
        w.grad!.dispose();
        b.grad!.dispose();
        w.grad = b.grad = null;
      });
    step(); // warms the filter cache
    const before = E.liveTensors();
    step();
    step();
    expect(E.liveTensors()).toBe(before);
    [w, b, rm, rv].forEach((t) => t.dispose());
  });
});
