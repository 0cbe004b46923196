/**
 * The generator's identity loss (src/train/identity-critic.ts): each term against a float64 CPU
 * reference written from the formula, and the gradient in the fakes' embeddings against finite
 * differences, with all fakes known, none known (all new people) and a mix; bad shapes refused.
 * Oracle: the formula in the file's header, computed plainly.
 */
import { describe, expect, it } from 'vitest';
import { add, scale } from '../src/ops/index.js';
import { scope } from '../src/tensor/scope.js';
import { nd, type NdArray } from '../src/tensor/ndarray.js';
import { identityLoss } from '../src/train/identity-critic.js';
import { checkGradient, randomNd, toGpu } from './helpers.js';

/** pos and neg of identityLoss, in float64. */
function reference(fake: NdArray, real: NdArray, nKnown: number, margin: number) {
  const [B, E] = fake.shape;
  const unit = (a: NdArray, n: number) => {
    const row = Array.from(a.data.subarray(n * E, (n + 1) * E));
    const norm = Math.sqrt(row.reduce((s, x) => s + x * x, 0));
    return row.map((x) => x / norm);
  };
  const dot = (a: number[], b: number[]) => a.reduce((s, x, k) => s + x * b[k], 0);
  let pos = 0;
  for (let n = 0; n < nKnown; n++) pos += 1 - dot(unit(fake, n), unit(real, n));
  let neg = 0,
    pairs = 0;
  for (let i = 0; i < B; i++)
    for (let j = 0; j < B; j++)
      if (i !== j && (i >= nKnown || j >= nKnown)) {
        neg += Math.max(0, dot(unit(fake, i), unit(fake, j)) - margin);
        pairs++;
      }
  return { pos: nKnown ? pos / nKnown : 0, neg: pairs ? neg / pairs : 0 };
}

const scalar = (v: number): NdArray => {
  const a = nd([]);
  a.data[0] = v;
  return a;
};

describe('identityLoss', () => {
  // B = 6 fakes of 8-d embeddings; margin -0.2 keeps most pairs active so the push has gradient
  for (const nKnown of [6, 0, 4]) {
    it(`${nKnown} of 6 fakes with a real identity: pos, neg and the gradient`, async () => {
      const fake = randomNd([6, 8], -1, 1);
      const real = randomNd([6, 8], -1, 1);
      const margin = -0.2;
      const want = reference(fake, real, nKnown, margin);
      const got = scope(() => identityLoss(toGpu(fake), toGpu(real), nKnown, margin));
      expect((await got.pos.toArray())[0]).toBeCloseTo(want.pos, 5);
      expect((await got.neg.toArray())[0]).toBeCloseTo(want.neg, 5);
      got.pos.dispose();
      got.neg.dispose();
      if (nKnown === 6) expect(want.neg).toBe(0);
      if (nKnown === 0) expect(want.pos).toBe(0);
      // pos + 2 neg, so that a wrong term cannot hide behind the other
      await checkGradient(
        (f) => {
          const l = identityLoss(f, toGpu(real), nKnown, margin);
          return add(l.pos, scale(l.neg, 2));
        },
        (f) => {
          const r = reference(f, real, nKnown, margin);
          return scalar(r.pos + 2 * r.neg);
        },
        [fake],
      );
    });
  }

  it('a positive margin leaves pairs below it alone', async () => {
    const fake = randomNd([5, 4], -1, 1);
    const want = reference(fake, fake, 2, 0.5);
    const got = scope(() => identityLoss(toGpu(fake), toGpu(fake), 2, 0.5));
    expect((await got.pos.toArray())[0]).toBeCloseTo(0, 6); // the fakes are their own reals
    expect((await got.neg.toArray())[0]).toBeCloseTo(want.neg, 5);
    got.pos.dispose();
    got.neg.dispose();
  });

  it('refuses mismatched batches and nKnown outside 0..B by name', () => {
    expect(() => scope(() => identityLoss(toGpu(randomNd([3, 4])), toGpu(randomNd([2, 4])), 1, 0))).toThrow(
      /identityLoss: fakes \[3,4\], reals \[2,4\]/,
    );
    expect(() => scope(() => identityLoss(toGpu(randomNd([3, 4])), toGpu(randomNd([3, 4])), 4, 0))).toThrow(
      /nKnown 4/,
    );
  });
});
