/**
 * StyleGAN2 layers: modulated convolution, equalized learning rate, R1 through a small discriminator.
 * Oracle: float64 compositions of the CPU references, and finite differences (first and second order).
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { EqualLinear, ModulatedConv } from '../src/nn/index.js';
import { reference as RC } from '../src/ops/conv.js';
import { reference as RE } from '../src/ops/elementwise.js';
import { reference as RM } from '../src/ops/matmul.js';
import { reference as RMod } from '../src/ops/modconv.js';
import { reference as RR } from '../src/ops/resample.js';
import { reference as RS } from '../src/ops/stylegan.js';
import type { NdArray } from '../src/tensor/ndarray.js';
import { checkGradient, checkHessian, expectTensorClose, randomNd, toGpu, toNd } from './helpers.js';

describe('modulated convolution', () => {
  it('equals the per-sample definition (modulate, demodulate, conv), with gradients', async () => {
    const x = randomNd([2, 3, 5, 4]),
      w = randomNd([4, 3, 3, 3]),
      s = randomNd([2, 3], 0.5, 1.5);
    await checkGradient(
      (a, b, c) => E.modulatedConv2d(a, b, c),
      (a, b, c) => RMod.modulatedConv2d(a, b, c),
      [x, w, s],
    );
  });
  it('without demodulation, and as a 1x1 toRGB', async () => {
    const x = randomNd([3, 4, 3, 3]),
      w = randomNd([3, 4, 1, 1]),
      s = randomNd([3, 4]);
    await checkGradient(
      (a, b, c) => E.modulatedConv2d(a, b, c, { demodulate: false }),
      (a, b, c) => RMod.modulatedConv2d(a, b, c, { demodulate: false }),
      [x, w, s],
    );
  });
  it('second order in x and the weight (what R1 differentiates)', async () => {
    const s = randomNd([2, 2], 0.5, 1.5);
    await checkHessian(
      (a, b) => E.tanh(E.modulatedConv2d(a, b, toGpu(s))),
      (a, b) => RE.tanh(RMod.modulatedConv2d(a, b, s)),
      [randomNd([2, 2, 4, 4]), randomNd([3, 2, 3, 3])],
    );
  });
  for (const form of ['grouped', 'scaled'] as const) {
    it(`the ${form} form equals the definition, with gradients and second order`, async () => {
      // seeds of their own: the tests below draw from the shared stream
      const x = randomNd([3, 2, 4, 5], -1, 1, 501),
        w = randomNd([2, 2, 3, 3], -1, 1, 502),
        s = randomNd([3, 2], 0.5, 1.5, 503);
      for (const demodulate of [true, false])
        await checkGradient(
          (a, b, c) => E.modulatedConv2d(a, b, c, { form, demodulate }),
          (a, b, c) => RMod.modulatedConv2d(a, b, c, { demodulate }),
          [x, w, s],
        );
      await checkHessian(
        (a, b, c) => E.tanh(E.modulatedConv2d(a, b, c, { form })),
        (a, b, c) => RE.tanh(RMod.modulatedConv2d(a, b, c)),
        [
          randomNd([2, 2, 3, 3], -1, 1, 504),
          randomNd([2, 2, 3, 3], -1, 1, 505),
          randomNd([2, 2], 0.5, 1.5, 506),
        ],
      );
    });
  }
  for (const form of ['grouped', 'scaled'] as const) {
    it(`2x upsampling (transposed conv + FIR), ${form}, equals FIR upsampling then the conv`, async () => {
      const x = randomNd([2, 2, 3, 4], -1, 1, 511),
        w = randomNd([3, 2, 3, 3], -1, 1, 512),
        s = randomNd([2, 2], 0.5, 1.5, 513);
      const got = E.modulatedConv2d(toGpu(x), toGpu(w), toGpu(s), { up: true, form });
      expect(got.shape).toEqual([2, 3, 6, 8]);
      got.dispose();
      await checkGradient(
        (a, b, c) => E.modulatedConv2d(a, b, c, { up: true, form }),
        (a, b, c) => RMod.modulatedConv2d(a, b, c, { up: true }),
        [x, w, s],
      );
      await checkHessian(
        (a, b) => E.tanh(E.modulatedConv2d(a, b, toGpu(s), { up: true, form })),
        (a, b) => RE.tanh(RMod.modulatedConv2d(a, b, s, { up: true })),
        [x, w],
      );
    });
  }
  it('names the shapes that do not fit', () => {
    const x = E.zeros([2, 3, 4, 4]),
      w = E.zeros([4, 2, 3, 3]),
      s = E.zeros([2, 3]);
    expect(() => E.modulatedConv2d(x, w, s)).toThrow(
      /modulatedConv2d: x \[2,3,4,4\], weight \[4,2,3,3\] and styles \[2,3\] do not fit/,
    );
    [x, w, s].forEach((t) => t.dispose());
  });
});

describe('equalized learning rate layers', () => {
  it('EqualLinear applies gain lrMul/sqrt(in) to the weight and lrMul to the bias at run time', async () => {
    const layer = new EqualLinear(8, 3, { lrMul: 0.01, biasInit: 0.5, gen: new E.Generator(3) });
    const x = randomNd([2, 8]);
    const y = E.scope(() => layer.forward(toGpu(x)));
    const w = await toNd(layer.weight),
      b = await toNd(layer.bias!);
    const want = RM.matmul(
      x,
      { shape: w.shape, data: w.data.map((v) => (v * 0.01) / Math.sqrt(8)) },
      { transB: true },
    );
    want.data.forEach((v, i) => (want.data[i] = v + b.data[i % 3] * 0.01));
    expect(b.data[0]).toBeCloseTo(50, 4); // stored as biasInit / lrMul
    await expectTensorClose(y, want, 1e-5, 1e-6);
    y.dispose();
    layer.dispose();
  });

  it('ModulatedConv upsamples 2x and its noise strength starts at 0 and learns', async () => {
    const gen = new E.Generator(5);
    const layer = new ModulatedConv(4, 6, 8, { up: true, gen });
    const loss = E.scope(() => {
      layer.w = E.randn([2, 8], 0, 1, gen);
      const y = layer.forward(E.randn([2, 4, 5, 5], 0, 1, gen));
      expect(y.shape).toEqual([2, 6, 10, 10]);
      const l = E.mean(E.square(y));
      E.backward(l);
      return l;
    });
    expect(await layer.noiseStrength!.item()).toBe(0);
    expect(Math.abs(await layer.noiseStrength!.grad!.item())).toBeGreaterThan(0);
    expect(Number.isFinite(await loss.item())).toBe(true);
    loss.dispose();
    layer.dispose();
  });
});

describe('R1 through a small discriminator', () => {
  // D(x) = sum(v * lrelu(mbstd(downsample(lrelu(conv3x3(x, w))))) flattened through a linear)
  const f = [1, 3, 3, 1];
  const gpuD = (x: E.Tensor, w: E.Tensor, v: E.Tensor) => {
    const h = E.leakyRelu(E.conv2d(x, w, null, { padding: 1 }), 0.2, Math.SQRT2); // (4, 2, 6, 6)
    const d = E.minibatchStd(E.downsample2d(h, f), 2); // (4, 3, 3, 3)
    return E.matmul(E.flatten(d), v); // (4, 1)
  };
  const cpuD = (x: NdArray, w: NdArray, v: NdArray) => {
    const h = RE.leakyRelu(RC.conv2d(x, w, null, { padding: 1 }), 0.2, Math.SQRT2);
    const sum = f.reduce((a, b) => a + b, 0);
    const d = RS.minibatchStd(
      RR.upfirdn2d(
        h,
        f.map((t) => t / sum),
        { down: 2, padding: [1, 1, 1, 1] },
      ),
      2,
    );
    return RM.matmul({ shape: [4, 27], data: d.data }, v);
  };
  it('D matches its float64 composition, and its mixed second derivatives (H v) do too', async () => {
    const inputs = [randomNd([4, 1, 6, 6]), randomNd([2, 1, 3, 3]), randomNd([27, 1])];
    await checkGradient(gpuD, cpuD, inputs);
    await checkHessian(gpuD, cpuD, inputs);
  });
  it('the R1 penalty (gamma/2)|dD/dx|^2 has a gradient for every weight', async () => {
    const x = toGpu(randomNd([4, 1, 6, 6]), true),
      w = toGpu(randomNd([2, 1, 3, 3]), true),
      v = toGpu(randomNd([27, 1]), true);
    const grads = E.scope(() => {
      const [gx] = E.grad([E.sum(gpuD(x, w, v))], [x], { createGraph: true });
      const r1 = E.scale(E.sum(E.square(gx!)), 10 / 2);
      return E.grad([r1], [w, v]);
    });
    for (const g of grads) {
      expect(g).not.toBeNull();
      const values = await g!.toArray();
      expect(values.every(Number.isFinite)).toBe(true);
      expect(values.some((a) => a !== 0)).toBe(true);
      g!.dispose();
    }
    [x, w, v].forEach((t) => t.dispose());
  });
});
