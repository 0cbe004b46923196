/**
 * Elementwise ops: unary and broadcasting binary ops, numerical edges, second order.
 * Oracle: the float64 CPU reference, finite differences (first and second order), PyTorch's pow rule.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { reference as R } from '../src/ops/elementwise.js';
import type { NdArray } from '../src/tensor/ndarray.js';
import { checkGradient, checkHessian, expectClose, expectTensorClose, randomNd, toGpu } from './helpers.js';

const positive = (shape: number[]) => randomNd(shape, 0.5, 2);

describe('unary ops: forward vs CPU reference, backward vs finite differences', () => {
  const cases: [string, (x: E.Tensor) => E.Tensor, (x: NdArray) => NdArray, (s: number[]) => NdArray][] = [
    ['neg', E.neg, R.neg, (s) => randomNd(s)],
    ['exp', E.exp, R.exp, (s) => randomNd(s)],
    ['log', E.log, R.log, positive],
    ['sqrt', E.sqrt, R.sqrt, positive],
    ['rsqrt', E.rsqrt, R.rsqrt, positive],
    ['abs', E.abs, R.abs, (s) => randomNd(s)],
    ['relu', E.relu, R.relu, (s) => randomNd(s)],
    [
      'leakyRelu(0.2, sqrt2)',
      (x) => E.leakyRelu(x, 0.2, Math.SQRT2),
      (x) => R.leakyRelu(x, 0.2, Math.SQRT2),
      (s) => randomNd(s),
    ],
    ['sigmoid', E.sigmoid, R.sigmoid, (s) => randomNd(s, -4, 4)],
    ['tanh', E.tanh, R.tanh, (s) => randomNd(s, -3, 3)],
    ['square', E.square, R.square, (s) => randomNd(s)],
    ['clamp(-0.5, 0.3)', (x) => E.clamp(x, -0.5, 0.3), (x) => R.clamp(x, -0.5, 0.3), (s) => randomNd(s)],
    ['affine(3, -1)', (x) => E.affine(x, 3, -1), (x) => R.affine(x, 3, -1), (s) => randomNd(s)],
    ['powScalar(3)', (x) => E.powScalar(x, 3), (x) => R.powScalar(x, 3), (s) => randomNd(s)],
    ['powScalar(-1.5)', (x) => E.powScalar(x, -1.5), (x) => R.powScalar(x, -1.5), positive],
  ];
  for (const [name, gpu, cpu, input] of cases) {
    it(name, async () => {
      await checkGradient(gpu, cpu, [input([3, 5])]);
    });
  }
  it('works on sizes that are not multiples of the workgroup (1, 257, 70000)', async () => {
    for (const n of [1, 257, 70000]) {
      const x = randomNd([n]);
      await expectTensorClose(
        E.scope(() => E.tanh(toGpu(x))),
        R.tanh(x),
        1e-5,
        1e-6,
        `tanh n=${n}`,
      );
    }
  });
});

describe('binary ops with broadcasting', () => {
  const shapes: [number[], number[]][] = [
    [
      [4, 3],
      [4, 3],
    ],
    [[4, 3], [3]],
    [
      [4, 1],
      [1, 5],
    ],
    [
      [2, 1, 3],
      [4, 1],
    ],
    [[3], []],
    [[], [2, 2]],
  ];
  const ops: [
    string,
    (a: E.Tensor, b: E.Tensor) => E.Tensor,
    (a: NdArray, b: NdArray) => NdArray,
    boolean,
  ][] = [
    ['add', E.add, R.add, false],
    ['sub', E.sub, R.sub, false],
    ['mul', E.mul, R.mul, false],
    ['div', E.div, R.div, true],
    ['pow', E.pow, R.pow, true],
    ['maximum', E.maximum, R.maximum, false],
    ['minimum', E.minimum, R.minimum, false],
  ];
  for (const [name, gpu, cpu, positiveOnly] of ops) {
    for (const [sa, sb] of shapes) {
      it(`${name} [${sa}] with [${sb}]`, async () => {
        const a = positiveOnly ? positive(sa) : randomNd(sa);
        const b = positiveOnly ? positive(sb) : randomNd(sb);
        await checkGradient(gpu, cpu, [a, b]);
      });
    }
  }
  it('where(cond, a, b) broadcasts all three and routes gradients', async () => {
    const cond = randomNd([4, 1], -1, 1);
    cond.data.forEach((v, i) => (cond.data[i] = v > 0 ? 1 : 0));
    await checkGradient(E.where, R.where, [cond, randomNd([4, 3]), randomNd([3])], { wrt: [1, 2] });
  });
  it('rejects shapes that cannot broadcast, naming both shapes and the op', () => {
    const a = E.zeros([2, 3]),
      b = E.zeros([4]);
    expect(() => E.add(a, b)).toThrow(/add: shapes \[2,3\] and \[4\] cannot be broadcast/);
    a.dispose();
    b.dispose();
  });
  it('handles zero-size dimensions', async () => {
    const y = E.scope(() => E.add(E.zeros([0, 3]), E.ones([3])));
    expect(y.shape).toEqual([0, 3]);
    expect((await y.toArray()).length).toBe(0);
    y.dispose();
  });
});

describe('numerical edges stay finite and exact', () => {
  it('exp, log, sqrt, sigmoid, tanh at extreme inputs', async () => {
    const x = E.tensor([-100, -20, 0, 20, 100]);
    const [s, t, e] = await Promise.all([E.sigmoid(x).toArray(), E.tanh(x).toArray(), E.exp(x).toArray()]);
    // GPUs may flush subnormals (sigmoid(-100) = 3.7e-44) to zero: hence the absolute tolerance
    expectClose(
      s,
      [1 / (1 + Math.exp(100)), 1 / (1 + Math.exp(20)), 0.5, 1 / (1 + Math.exp(-20)), 1],
      1e-6,
      1e-37,
      'sigmoid',
    );
    expect([...t]).toEqual([-1, -1, 0, 1, 1]);
    expect(e[4]).toBe(Infinity);
    expect(e[0]).toBe(0);
    expect(await E.log(E.zeros([1])).item()).toBe(-Infinity);
    expect(await E.sqrt(E.zeros([1])).item()).toBe(0);
  });
  it('pow with a negative base and an integer exponent matches PyTorch', async () => {
    const y = await E.powScalar(E.tensor([-2, -1.5, 0, 2]), 3).toArray();
    expect([...y]).toEqual([-8, Math.fround(-3.375), 0, 8]);
    expect(await E.powScalar(E.tensor([0]), 0).item()).toBe(1);
  });
});

describe('second-order gradients', () => {
  const cases: [string, (x: E.Tensor) => E.Tensor, (x: NdArray) => NdArray, (s: number[]) => NdArray][] = [
    ['exp', E.exp, R.exp, (s) => randomNd(s)],
    ['tanh', E.tanh, R.tanh, (s) => randomNd(s)],
    ['sigmoid', E.sigmoid, R.sigmoid, (s) => randomNd(s)],
    ['log', E.log, R.log, positive],
    ['sqrt', E.sqrt, R.sqrt, positive],
    [
      'leakyRelu',
      (x) => E.leakyRelu(x, 0.2, Math.SQRT2),
      (x) => R.leakyRelu(x, 0.2, Math.SQRT2),
      (s) => randomNd(s),
    ],
  ];
  for (const [name, gpu, cpu, input] of cases) {
    it(`${name}: H v against finite differences`, async () => {
      await checkHessian(gpu, cpu, [input([2, 3])]);
    });
  }
  it('mul and div: mixed second derivatives', async () => {
    await checkHessian(E.mul, R.mul, [randomNd([2, 3]), randomNd([3])]);
    await checkHessian(E.div, R.div, [randomNd([2, 3]), positive([2, 3])]);
  });
});
