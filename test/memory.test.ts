/**
 * Memory: training-like loops, throwing scopes and backward keep live tensors and GPU buffers flat.
 * Oracle: the engine's counters (liveTensors, device.stats()) before and after.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';

describe('memory', () => {
  it('1000 training-like iterations keep live tensors, buffers and bytes flat', async () => {
    const gen = new E.Generator(1);
    const w1 = E.keep(E.randn([16, 32], 0, 0.2, gen)),
      w2 = E.keep(E.randn([32, 4], 0, 0.2, gen));
    w1.requiresGrad = w2.requiresGrad = true;
    const x = E.randn([8, 16], 0, 1, gen),
      target = E.randn([8, 4], 0, 1, gen);
    const device = E.getDevice();
    const step = () =>
      E.scope(() => {
        const h = E.tanh(E.matmul(x, w1));
        const loss = E.mean(E.square(E.sub(E.matmul(h, w2), target)));
        E.backward(loss);
        E.noGrad(() => {
          for (const w of [w1, w2]) {
            const updated = E.sub(w, E.scale(w.grad!, 0.1));
            E.assign(w, updated);
            w.grad!.dispose();
            w.grad = null;
          }
        });
        return loss;
      });
    let first = NaN;
    for (let i = 0; i < 10; i++) {
      const l = step();
      if (i === 0) first = await l.item();
      l.dispose();
    }
    await device.sync();
    const before = { tensors: E.liveTensors(), ...device.stats() };
    let last = NaN;
    for (let i = 0; i < 1000; i++) {
      const l = step();
      if (i % 250 === 249) last = await l.item(); // read rarely, as a training loop does
      l.dispose();
    }
    await device.sync();
    const after = { tensors: E.liveTensors(), ...device.stats() };
    expect(after.tensors).toBe(before.tensors);
    expect(after.inUse).toBe(before.inUse);
    expect(after.inUseBytes).toBe(before.inUseBytes);
    expect(after.allocations).toBe(before.allocations); // the pool reuses, nothing new is created
    expect(last).toBeLessThan(first); // and it did learn something
    for (const t of [w1, w2, x, target]) t.dispose();
  });

  it('a throwing scope frees what it created', () => {
    const before = E.liveTensors();
    expect(() =>
      E.scope(() => {
        E.zeros([10]);
        E.add(E.zeros([2]), E.zeros([3]));
      }),
    ).toThrow(/cannot be broadcast/);
    expect(E.liveTensors()).toBe(before);
  });

  it('backward frees gradients and temporaries as it goes (a 100-op chain allocates a handful of buffers)', async () => {
    const device = E.getDevice();
    const x = E.keep(E.randn([65536], 0, 1, new E.Generator(4)));
    x.requiresGrad = true;
    await device.sync();
    E.scope(() => {
      let y = x;
      for (let i = 0; i < 100; i++) y = E.tanh(y);
      const loss = E.sum(y);
      const before = device.stats().allocations;
      E.backward(loss);
      // each tanh backward makes 3 temporaries and a gradient: kept alive they would need
      // ~400 new 256 KiB buffers; freed as they go, the pool recycles a few
      expect(device.stats().allocations - before).toBeLessThan(20);
    });
    expect(x.grad).not.toBeNull();
    x.dispose();
  });
});
