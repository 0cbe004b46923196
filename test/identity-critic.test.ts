/**
 * The generator's identity loss (src/train/identity-critic.ts): each term against a float64 CPU
 * reference written from the formula, and the gradient in the fakes' embeddings against finite
 * differences, with all fakes known, none known (all new people) and a mix; bad shapes refused.
 * The teacher's separation of new people (descriptorSeparation) the same way.
 * Oracle: the formula in the file's header, computed plainly.
 */
import { describe, expect, it } from 'vitest';
import { add, scale } from '../src/ops/index.js';
import { scope } from '../src/tensor/scope.js';
import { nd, type NdArray } from '../src/tensor/ndarray.js';
import { descriptorSeparation, identityLoss } from '../src/train/identity-critic.js';
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

/** descriptorSeparation in float64: mean over the new-person pairs of relu(margin^2 - |d_i - d_j|^2). */
function separationReference(d: NdArray, nKnown: number, margin: number): number {
  const [k, D] = d.shape;
  let total = 0,
    pairs = 0;
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++)
      if (i !== j && (i >= nKnown || j >= nKnown)) {
        let d2 = 0;
        for (let c = 0; c < D; c++) d2 += (d.data[i * D + c] - d.data[j * D + c]) ** 2;
        total += Math.max(0, margin * margin - d2);
        pairs++;
      }
  return pairs ? total / pairs : 0;
}

describe('descriptorSeparation', () => {
  // 6 descriptors of 5 values in [-0.3, 0.3]: pairs 0.2 - 1 apart, so margin 0.8 leaves some
  // pairs past it (no push) and some short of it
  for (const nKnown of [0, 3, 6]) {
    it(`${6 - nKnown} new people of 6: the value and its gradient`, async () => {
      const d = randomNd([6, 5], -0.3, 0.3);
      const want = separationReference(d, nKnown, 0.8);
      const got = scope(() => descriptorSeparation(toGpu(d), nKnown, 0.8));
      expect((await got.toArray())[0]).toBeCloseTo(want, 5);
      got.dispose();
      if (nKnown === 6) expect(want).toBe(0);
      else expect(want).toBeGreaterThan(0);
      await checkGradient(
        (x) => descriptorSeparation(x, nKnown, 0.8),
        (x) => scalar(separationReference(x, nKnown, 0.8)),
        [d],
      );
    });
  }

  it('pairs already past the margin are left alone', async () => {
    const d = nd([3, 2]);
    d.data.set([0, 0, 1, 0, 0, 1]); // 1 and sqrt 2 apart
    const got = scope(() => descriptorSeparation(toGpu(d), 0, 0.9));
    expect((await got.toArray())[0]).toBe(0);
    got.dispose();
  });

  it('refuses a margin below 0 and nKnown outside 0..k by name', () => {
    expect(() => scope(() => descriptorSeparation(toGpu(randomNd([3, 4])), 4, 0.5))).toThrow(
      /descriptorSeparation: descriptors \[3,4\], nKnown 4, margin 0.5/,
    );
    expect(() => scope(() => descriptorSeparation(toGpu(randomNd([3, 4])), 1, -1))).toThrow(/margin -1/);
  });
});
