/**
 * Reductions (sum, mean, max, logsumexp) and shape ops (reshape, permute, slice, pad, concat...).
 * Oracle: the float64 CPU reference and finite differences (first and second order).
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { reference as RR } from '../src/ops/reduce.js';
import { reference as RS } from '../src/ops/shape.js';
import { checkGradient, checkHessian, expectTensorClose, randomNd, toGpu } from './helpers.js';

describe('reductions', () => {
  const cases: [number[], number | number[] | undefined, boolean][] = [
    [[4, 5], 1, false],
    [[4, 5], 0, true],
    [[2, 3, 4], [0, 2], false], // scattered axes: permuted first
    [[2, 3, 4], [1, 2], true],
    [[3, 1, 5], undefined, false],
    [[7], 0, false],
  ];
  for (const [shape, axes, keep] of cases) {
    const tag = `[${shape}] axes ${JSON.stringify(axes)}${keep ? ' keepDims' : ''}`;
    it(`sum ${tag}`, () =>
      checkGradient(
        (x) => E.sum(x, axes, keep),
        (x) => RR.sum(x, axes, keep),
        [randomNd(shape)],
      ));
    it(`mean ${tag}`, () =>
      checkGradient(
        (x) => E.mean(x, axes, keep),
        (x) => RR.mean(x, axes, keep),
        [randomNd(shape)],
      ));
    it(`max ${tag}`, () =>
      checkGradient(
        (x) => E.max(x, axes, keep),
        (x) => RR.max(x, axes, keep),
        [randomNd(shape)],
      ));
    it(`logsumexp ${tag}`, () =>
      checkGradient(
        (x) => E.logsumexp(x, axes, keep),
        (x) => RR.logsumexp(x, axes, keep),
        [randomNd(shape, -3, 3)],
      ));
  }
  it('long rows use the workgroup kernel and stay accurate (sum of 100000, 3 rows of 5000)', async () => {
    const x = randomNd([100000]);
    await expectTensorClose(
      E.scope(() => E.sum(toGpu(x))),
      RR.sum(x),
      1e-4,
      1e-3,
      'sum 1e5',
    );
    const y = randomNd([3, 5000]);
    await expectTensorClose(
      E.scope(() => E.max(toGpu(y), 1)),
      RR.max(y, 1),
      0,
      0,
      'max rows',
    );
  });
  it('logsumexp is stable for large inputs', async () => {
    const v = await E.scope(() => E.logsumexp(E.tensor([1000, 1000, -1000]))).item();
    expect(v).toBeCloseTo(1000 + Math.log(2), 3);
  });
  it('max shares the gradient among ties, as torch.amax', async () => {
    const x = E.tensor([1, 3, 3, 2]);
    x.requiresGrad = true;
    E.backward(E.max(x));
    expect([...(await x.grad!.toArray())]).toEqual([0, 0.5, 0.5, 0]);
  });
  it('second order through sum and logsumexp', async () => {
    await checkHessian(
      (x) => E.logsumexp(x, 1),
      (x) => RR.logsumexp(x, 1),
      [randomNd([2, 4])],
    );
  });
  it('rejects a bad axis', () => {
    const x = E.zeros([2, 3]);
    expect(() => E.sum(x, 2)).toThrow(/sum: axis 2 out of range for rank 2/);
    x.dispose();
  });
});

describe('shape ops', () => {
  it('reshape is a view with -1 inference, and its gradient reshapes back', async () => {
    await checkGradient(
      (x) => E.reshape(x, [-1, 2]),
      (x) => ({ shape: [6, 2], data: x.data }),
      [randomNd([3, 4])],
    );
    const x = E.zeros([3, 4]);
    expect(() => E.reshape(x, [5, -1])).toThrow(/cannot reshape \[3,4\] to \[5,-1\]/);
    x.dispose();
  });
  it('permute', () =>
    checkGradient(
      (x) => E.permute(x, [2, 0, 1]),
      (x) => RS.permute(x, [2, 0, 1]),
      [randomNd([2, 3, 4])],
    ));
  it('transpose', () =>
    checkGradient(
      (x) => E.transpose(x),
      (x) => RS.permute(x, [0, 2, 1]),
      [randomNd([2, 3, 5])],
    ));
  it('slice', () =>
    checkGradient(
      (x) => E.slice(x, [[1, 3], null, [-3, -1]]),
      (x) => RS.slice(x, [[1, 3], null, [2, 4]]),
      [randomNd([3, 2, 5])],
    ));
  it('pad', () =>
    checkGradient(
      (x) =>
        E.pad(
          x,
          [
            [1, 0],
            [2, 3],
          ],
          0.5,
        ),
      (x) =>
        RS.pad(
          x,
          [
            [1, 0],
            [2, 3],
          ],
          0.5,
        ),
      [randomNd([2, 3])],
    ));
  it('concat along a middle axis', () =>
    checkGradient(
      (a, b, c) => E.concat([a, b, c], 1),
      (a, b, c) => RS.concat([a, b, c], 1),
      [randomNd([2, 1, 3]), randomNd([2, 4, 3]), randomNd([2, 2, 3])],
    ));
  it('broadcastTo', () =>
    checkGradient(
      (x) => E.broadcastTo(x, [4, 2, 3]),
      (x) => RS.broadcastTo(x, [4, 2, 3]),
      [randomNd([2, 1])],
    ));
  it('stack', async () => {
    const y = E.scope(() => E.stack([E.tensor([1, 2]), E.tensor([3, 4])], 1));
    expect(y.shape).toEqual([2, 2]);
    expect([...(await y.toArray())]).toEqual([1, 3, 2, 4]);
    y.dispose();
  });
  it('size-1 and zero-size dimensions', async () => {
    const out = E.scope(() => [
      E.pad(E.zeros([0, 2]), [[1, 1]], 3),
      E.slice(E.ones([3, 2]), [[1, 1]]),
      E.concat([E.zeros([0, 2]), E.ones([1, 2])]),
    ]);
    expect(out[0].shape).toEqual([2, 2]);
    expect([...(await out[0].toArray())]).toEqual([3, 3, 3, 3]);
    expect(out[1].shape).toEqual([0, 2]);
    expect([...(await out[2].toArray())]).toEqual([1, 1]);
    out.forEach((t) => t.dispose());
  });
  it('bad ranges name the axis and the shape', () => {
    const x = E.zeros([3, 2]);
    expect(() => E.slice(x, [[0, 4]])).toThrow(/slice: range \[0,4\] out of bounds for axis 0 of size 3/);
    expect(() => E.permute(x, [0, 0])).toThrow(/not a permutation/);
    expect(() => E.concat([x, E.zeros([3, 3])], 0)).toThrow(
      /concat: shapes \[3,2\], \[3,3\] differ outside axis 0/,
    );
    x.dispose();
  });
});
