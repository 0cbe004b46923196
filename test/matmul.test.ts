/**
 * matmul: every kernel version of the lab, the op's gradients and second order, the autotune.
 * Oracle: the float64 CPU reference and finite differences.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { matmulKernel, matmulRanking, reference as RM, runsHere, TUNED_VERSIONS } from '../src/ops/matmul.js';
import { autotuneMatmul } from '../src/ops/matmul-autotune.js';
import { matmulVariants } from '../shaders/matmul.js';
import { checkGradient, checkHessian, expectTensorClose, randomNd, toGpu } from './helpers.js';

const combos = [
  { transA: false, transB: false },
  { transA: false, transB: true },
  { transA: true, transB: false },
  { transA: true, transB: true },
];
const stored = (rows: number, cols: number, trans: boolean) => (trans ? [cols, rows] : [rows, cols]);

describe('matmul kernel lab: every version against the CPU reference', () => {
  // awkward sizes: 1, primes, one past a tile, and tile multiples for the fast paths
  const sizes: [number, number, number][] = [
    [1, 1, 1],
    [3, 17, 5],
    [17, 33, 65],
    [64, 64, 64],
    [65, 130, 64],
    [128, 64, 96],
  ];
  for (const v of matmulVariants) {
    it(`${v.name}: all transposes, sizes it supports`, async () => {
      if (!runsHere(v)) {
        // a device without (wide enough) subgroups refuses the version by name
        expect(() => matmulKernel(toGpu(randomNd([64, 64])), toGpu(randomNd([64, 64])), {}, v.name)).toThrow(
          /needs subgroups/,
        );
        return;
      }
      let checked = 0;
      for (const [M, N, K] of sizes) {
        if (v.supports && !v.supports(M, N, K)) continue;
        for (const o of combos) {
          const a = randomNd(stored(M, K, o.transA)),
            b = randomNd(stored(K, N, o.transB));
          const c = E.scope(() => matmulKernel(toGpu(a), toGpu(b), o, v.name));
          await expectTensorClose(
            c,
            RM.matmul(a, b, o),
            1e-4,
            1e-4,
            `${v.name} ${M}x${N}x${K} ${JSON.stringify(o)}`,
          );
          c.dispose();
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(0);
    });
    it(`${v.name}: batched, and with A broadcast over the batch`, async () => {
      if (!runsHere(v))
        return expect(v.minSubgroupSize).toBeGreaterThan(E.getDevice().adapter.subgroupMinSize);
      // a small shape, or the smallest the version's tiles allow
      const shapes: [number, number, number][] = [
        [8, 16, 12],
        [32, 64, 12],
      ];
      const [M, N, K] = shapes.find((s) => !v.supports || v.supports(...s))!;
      const a = randomNd([3, M, K]),
        b = randomNd([3, K, N]);
      const c = E.scope(() => matmulKernel(toGpu(a), toGpu(b), {}, v.name));
      await expectTensorClose(c, RM.matmul(a, b), 1e-4, 1e-4, 'batched');
      const a1 = randomNd([M, K]);
      const c1 = E.scope(() => matmulKernel(toGpu(a1), toGpu(b), {}, v.name));
      await expectTensorClose(c1, RM.matmul(a1, b), 1e-4, 1e-4, 'broadcast A');
      c.dispose();
      c1.dispose();
    });
  }
});

describe('matmul op', () => {
  for (const o of combos) {
    it(`gradients with transA=${o.transA} transB=${o.transB}`, () =>
      checkGradient(
        (a, b) => E.matmul(a, b, o),
        (a, b) => RM.matmul(a, b, o),
        [randomNd(stored(5, 3, o.transA)), randomNd(stored(3, 4, o.transB))],
      ));
  }
  it('batched gradients with a broadcast operand sum over the batch', () =>
    checkGradient(
      (a, b) => E.matmul(a, b),
      (a, b) => RM.matmul(a, b),
      [randomNd([4, 3]), randomNd([2, 3, 5])],
    ));
  it('second order (the double-backward a GAN penalty needs)', () =>
    checkHessian(
      (a, b) => E.tanh(E.matmul(a, b)),
      (a, b) => {
        const y = RM.matmul(a, b);
        return { shape: y.shape, data: y.data.map(Math.tanh) };
      },
      [randomNd([3, 4]), randomNd([4, 2])],
    ));
  it('linear = x w^T + b', async () => {
    const x = randomNd([5, 3]),
      w = randomNd([4, 3]),
      b = randomNd([4]);
    const y = E.scope(() => E.linear(toGpu(x), toGpu(w), toGpu(b)));
    const want = RM.matmul(x, w, { transB: true });
    want.data.forEach((v, i) => (want.data[i] = v + b.data[i % 4]));
    await expectTensorClose(y, want, 1e-5, 1e-5);
    y.dispose();
  });
  it('a mismatch names both shapes', () => {
    const a = E.zeros([2, 3]),
      b = E.zeros([4, 5]);
    expect(() => E.matmul(a, b)).toThrow(
      /matmul: inner dimensions differ: a \[2,3\] has K=3, b \[4,5\] has K=4/,
    );
    expect(() => E.matmul(E.zeros([3]), b)).toThrow(/at least 2 dimensions/);
    a.dispose();
    b.dispose();
  });
  it('a large product (300 x 200 x 500) matches the reference', async () => {
    const a = randomNd([300, 500]),
      b = randomNd([500, 200]);
    const c = E.scope(() => E.matmul(toGpu(a), toGpu(b)));
    await expectTensorClose(c, RM.matmul(a, b), 1e-4, 1e-4);
    c.dispose();
  });
});

describe('matmul autotune', () => {
  it('ranks the versions that support the probe size, and caches the ranking per adapter', async () => {
    const store = new Map<string, string[]>();
    const cache = { get: (k: string) => store.get(k), set: (k: string, r: string[]) => void store.set(k, r) };
    const first = await autotuneMatmul({ size: 64, reps: 1, cache });
    const supported = matmulVariants
      .filter(
        (v) => TUNED_VERSIONS.includes(v.name) && runsHere(v) && (!v.supports || v.supports(64, 64, 64)),
      )
      .map((v) => v.name);
    expect([...first.ranking].sort()).toEqual([...supported].sort());
    expect(first.cached).toBe(false);
    for (const name of first.ranking) expect(first.gflops[name]).toBeGreaterThan(0);
    expect(matmulRanking()[0].name).toBe(first.ranking[0]);
    const again = await autotuneMatmul({ size: 64, reps: 1, cache });
    expect(again).toEqual({ ranking: first.ranking, gflops: {}, cached: true });
    expect([...store.keys()][0]).toContain(E.getDevice().adapter.name);
  });
});
