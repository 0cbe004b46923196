/**
 * The autograd tape: accumulation into .grad, noGrad, null gradients, gradients of gradients, deep chains.
 * Oracle: derivatives computed by hand (e.g. d/dx (d/dx x^3) = 6x).
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { expectClose } from './helpers.js';

const param = (values: number[], shape?: number[]) => {
  const t = E.tensor(values, shape);
  t.requiresGrad = true;
  return t;
};

describe('autograd tape', () => {
  it('accumulates into .grad across backward calls, and through shared subexpressions', async () => {
    const x = param([1, 2, 3]);
    // y = sum(x * x + x): x is used twice; dy/dx = 2x + 1
    E.scope(() => E.backward(E.sum(E.add(E.mul(x, x), x))));
    expect([...(await x.grad!.toArray())]).toEqual([3, 5, 7]);
    E.scope(() => E.backward(E.sum(x)));
    expect([...(await x.grad!.toArray())]).toEqual([4, 6, 8]);
    x.dispose();
  });

  it('add returns the same gradient to both operands as two separate tensors', async () => {
    const a = param([1, 2]),
      b = param([3, 4]);
    const [ga, gb] = E.scope(() => E.grad([E.sum(E.add(a, b))], [a, b]));
    expect(ga).not.toBe(gb);
    ga!.dispose();
    expect([...(await gb!.toArray())]).toEqual([1, 1]);
    gb!.dispose();
    a.dispose();
    b.dispose();
  });

  it('noGrad records nothing', () => {
    const x = param([1]);
    const y = E.noGrad(() => E.exp(x));
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
    expect(() => E.backward(y)).toThrow(/does not require grad/);
    x.dispose();
    y.dispose();
  });

  it('grad of an unrelated input is null', () => {
    const x = param([1]),
      z = param([2]);
    const [gz] = E.scope(() => E.grad([E.exp(x)], [z]));
    expect(gz).toBeNull();
    x.dispose();
    z.dispose();
  });

  it('non-scalar outputs need an explicit gradient of the right shape', () => {
    const x = param([1, 2]);
    expect(() => E.scope(() => E.backward(E.exp(x)))).toThrow(/not a scalar; pass gradOutputs/);
    expect(() => E.scope(() => E.backward(E.exp(x), E.ones([3])))).toThrow(
      /gradient of shape \[3\] for output of shape \[2\]/,
    );
    x.dispose();
  });

  it('gradient of a gradient: d/dx (d/dx x^3) = 6x', async () => {
    const x = param([0.5, -2]);
    const h = E.scope(() => {
      const [g] = E.grad([E.sum(E.powScalar(x, 3))], [x], { createGraph: true }); // 3x^2
      return E.grad([E.sum(g!)], [x])[0]!;
    });
    expectClose(await h.toArray(), [3, -12], 1e-6, 1e-6);
    h.dispose();
    x.dispose();
  });

  it('a deep chain (5000 ops) does not overflow the stack', async () => {
    const x = param([1]);
    E.scope(() => {
      let y = x;
      for (let i = 0; i < 5000; i++) y = E.affine(y, 1, 0.001);
      E.backward(E.sum(y));
    });
    expect(await x.grad!.item()).toBe(1);
    x.dispose();
  });

  it('using a disposed tensor names it', () => {
    const x = E.tensor([1]);
    x.name = 'w1';
    x.dispose();
    expect(() => E.exp(x)).toThrow(/Tensor\(w1, \[1\], f32\) #\d+ was disposed/);
  });
});
