/**
 * Training a small conv net for 200 steps.
 * Oracle: the loss falls, and live tensors and GPU buffers stay flat (the engine's counters).
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { BatchNorm, Conv2d, Flatten, Linear, PReLU, Sequential, Dropout } from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';

describe('training a small conv net', () => {
  it('200 steps: live tensors and GPU buffers stay flat, the loss falls', async () => {
    const gen = new E.Generator(11);
    const model = new Sequential(
      new Conv2d(3, 8, 3, { padding: 1, bias: false, gen }),
      new BatchNorm(8),
      new PReLU(8),
      (x) => E.maxPool2d(x, 2),
      new Conv2d(8, 16, 3, { stride: 2, padding: 1, gen }),
      new BatchNorm(16),
      new PReLU(16),
      (x) => E.globalAvgPool(x),
      new Flatten(),
      new Dropout(0.1, gen),
      new Linear(16, 4, { gen }),
    );
    const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
    // 4 classes told apart by which quadrant of the image is bright
    const N = 16;
    const labels = Int32Array.from({ length: N }, (_, i) => i % 4);
    const pixels = new Float32Array(N * 3 * 8 * 8);
    labels.forEach((c, n) => {
      for (let ch = 0; ch < 3; ch++)
        for (let y = 0; y < 8; y++)
          for (let x = 0; x < 8; x++) {
            const bright = (y < 4 ? 0 : 2) + (x < 4 ? 0 : 1) === c;
            pixels[((n * 3 + ch) * 8 + y) * 8 + x] =
              (bright ? 1 : -1) + 0.3 * Math.sin(n * 7 + ch * 3 + y * 5 + x);
          }
    });
    const images = E.tensor(pixels, [N, 3, 8, 8]);
    const target = E.tensor(labels, [N], 'i32');
    const device = E.getDevice();
    const step = () =>
      E.scope(() => {
        const loss = E.crossEntropy(model.forward(images), target);
        E.backward(loss);
        optimizer.step();
        optimizer.zeroGrad();
        return loss;
      });
    let first = NaN,
      last = NaN;
    let before = { tensors: 0, inUse: 0, allocations: 0 };
    for (let i = 0; i < 200; i++) {
      const loss = step();
      if (i === 0) first = await loss.item();
      if (i === 199) last = await loss.item();
      loss.dispose();
      if (i === 9) {
        await device.sync();
        before = {
          tensors: E.liveTensors(),
          inUse: device.stats().inUse,
          allocations: device.stats().allocations,
        };
      }
    }
    await device.sync();
    expect(E.liveTensors()).toBe(before.tensors);
    expect(device.stats().inUse).toBe(before.inUse);
    expect(device.stats().allocations).toBe(before.allocations);
    expect(last).toBeLessThan(first * 0.5);
    model.dispose();
    optimizer.dispose();
    images.dispose();
    target.dispose();
  });
});
