/**
 * Label ops (oneHot, pick, gatherRows), cross-entropy, ArcFace, SynFace's loss, softplus and the GAN losses.
 * Oracle: the float64 CPU reference and finite differences (first and second order).
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import * as L from '../src/ops/loss.js';
import { reference as R } from '../src/ops/loss.js';
import * as I from '../src/ops/indexing.js';
import { reference as RI } from '../src/ops/indexing.js';
import * as A from '../src/ops/activation.js';
import { reference as RA } from '../src/ops/activation.js';
import * as G from '../src/ops/gan-loss.js';
import { reference as RG } from '../src/ops/gan-loss.js';
import { nd, type NdArray } from '../src/tensor/ndarray.js';
import { checkGradient, checkHessian, expectClose, expectTensorClose, randomNd, toGpu } from './helpers.js';

const i32 = (v: number[]) => E.tensor(v, [v.length], 'i32');

/** Cosines in (-1, 1), kept at least 1e-3 away from the th = cos(pi - m) branch point (finite differences). */
function cosines(shape: number[], m = 0.5, seed?: number): NdArray {
  const c = randomNd(shape, -0.999, 0.999, seed);
  const th = Math.cos(Math.PI - m);
  c.data.forEach((v, i) => {
    if (Math.abs(v - th) < 1e-3) c.data[i] = Math.fround(th + 2e-3);
  });
  return c;
}

describe('index helpers: oneHot, pick, gatherRows', () => {
  it('oneHot matches the reference (B = 5, K = 7)', async () => {
    const labels = [3, 0, 6, 6, 1];
    await expectTensorClose(
      E.scope(() => I.oneHot(labels, 7)),
      RI.oneHot(labels, 7),
      0,
      0,
    );
    await expectTensorClose(
      E.scope(() => I.oneHot(i32(labels), 7)),
      RI.oneHot(labels, 7),
      0,
      0,
    );
  });
  it('pick: forward and gradient (scatter into the label column)', async () => {
    const labels = [2, 0, 4, 4, 1];
    await checkGradient(
      (x) => I.pick(x, labels),
      (x) => RI.pick(x, labels),
      [randomNd([5, 5])],
    );
    await checkGradient(
      (x) => I.pick(x, [0]),
      (x) => RI.pick(x, [0]),
      [randomNd([1, 1])],
    );
  });
  it('gatherRows: forward and gradient with repeated indices (they add up)', async () => {
    const idx = [3, 0, 3, 2, 3, 1];
    await checkGradient(
      (x) => I.gatherRows(x, idx),
      (x) => RI.gatherRows(x, idx),
      [randomNd([5, 3])],
    );
  });
  it('pick: second order (its gradient is linear in g)', async () => {
    const labels = [1, 2, 0];
    await checkHessian(
      (x) => E.square(I.pick(x, labels)),
      (x) => ({ shape: [3], data: RI.pick(x, labels).data.map((v) => v * v) }),
      [randomNd([3, 3])],
    );
  });
});

describe('labels: validation and out-of-range values', () => {
  it('CPU labels out of range, non-integer, or of the wrong count throw, naming the op', () => {
    const x = E.zeros([2, 3]);
    expect(() => L.crossEntropy(x, [0, 3])).toThrow(
      /crossEntropy: label 3 at index 1 is out of range \[0, 3\)/,
    );
    expect(() => L.crossEntropy(x, [-1, 0])).toThrow(/crossEntropy: label -1 at index 0/);
    expect(() => L.arcfaceLogits(x, [0, 1.5])).toThrow(/arcfaceLogits: label 1.5 at index 1/);
    expect(() => I.pick(x, [0])).toThrow(/pick: 1 labels for a batch of 2/);
    expect(() => I.oneHot([0, 5], 4)).toThrow(/oneHot: label 5/);
    x.dispose();
  });
  it('GPU labels: wrong dtype or shape throw; out-of-range values give NaN rows (never an out-of-bounds read)', async () => {
    const x = E.scope(() => toGpu(randomNd([3, 4])));
    const f = E.tensor([0, 1, 2]);
    expect(() => L.crossEntropy(x, f)).toThrow(/crossEntropy: labels must be an i32 tensor, got f32/);
    const short = i32([0, 1]);
    expect(() => I.pick(x, short)).toThrow(/pick: labels of shape \[2\] for a batch of 3/);
    const bad = i32([1, 4, -7]);
    const [ce, pk, oh] = E.scope(() => [L.crossEntropy(x, bad, 'none'), I.pick(x, bad), I.oneHot(bad, 4)]);
    const ceV = await ce.toArray(),
      pkV = await pk.toArray();
    expect(Number.isNaN(ceV[0])).toBe(false);
    expect(Number.isNaN(ceV[1]) && Number.isNaN(ceV[2])).toBe(true);
    expect(Number.isNaN(pkV[0])).toBe(false);
    expect(Number.isNaN(pkV[1]) && Number.isNaN(pkV[2])).toBe(true);
    expect([...(await oh.toArray())]).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    await expect(I.checkLabels(bad, 4)).rejects.toThrow(/label 4 at index 1 is out of range \[0, 4\)/);
    await I.checkLabels(i32([0, 3]), 4);
    for (const t of [x, f, short, bad, ce, pk, oh]) t.dispose();
  });
});

describe('crossEntropy', () => {
  const labels = [4, 0, 2, 6, 6];
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    it(`reduction '${reduction}': forward vs reference, gradient vs finite differences (B = 5, K = 7)`, async () => {
      await checkGradient(
        (x) => L.crossEntropy(x, labels, reduction),
        (x) => R.crossEntropy(x, labels, reduction),
        [randomNd([5, 7], -3, 3)],
      );
    });
  }
  it('labels given as an i32 tensor, K = 1 and K = 300', async () => {
    const lab = i32([0, 0]);
    await checkGradient(
      (x) => L.crossEntropy(x, lab),
      (x) => R.crossEntropy(x, [0, 0]),
      [randomNd([2, 1])],
    );
    const big = [299, 17, 0];
    await checkGradient(
      (x) => L.crossEntropy(x, big),
      (x) => R.crossEntropy(x, big),
      [randomNd([3, 300], -5, 5)],
      { wrt: [0] },
    );
    lab.dispose();
  });
  it('is stable for huge logits (log-sum-exp with the row maximum)', async () => {
    const x = nd([2, 3], [1000, -1000, 999, -5e3, -5e3 + 2, -5e3 + 1]);
    const y = E.scope(() => L.crossEntropy(toGpu(x), [2, 1], 'none'));
    // float32 near |x| = 5000 has a spacing of 5e-4: that, not the algorithm, bounds the error
    await expectTensorClose(y, R.crossEntropy(x, [2, 1], 'none'), 1e-5, 1e-3);
    y.dispose();
  });
  it('second order: H v against finite differences', async () => {
    await checkHessian(
      (x) => L.crossEntropy(x, [1, 0, 3]),
      (x) => R.crossEntropy(x, [1, 0, 3]),
      [randomNd([3, 4], -2, 2)],
    );
  });
  it('softCrossEntropy: gradients wrt logits and (unnormalized) targets', async () => {
    await checkGradient(
      (x, t) => L.softCrossEntropy(x, t),
      (x, t) => R.softCrossEntropy(x, t),
      [randomNd([4, 5], -3, 3), randomNd([4, 5], 0, 1)],
    );
    await checkGradient(
      (x, t) => L.softCrossEntropy(x, t, 'none'),
      (x, t) => R.softCrossEntropy(x, t, 'none'),
      [randomNd([3, 2], -3, 3), randomNd([3, 2], 0, 1)],
    );
  });
  it('softCrossEntropy with one-hot targets equals crossEntropy', async () => {
    const x = randomNd([4, 6], -3, 3),
      labels = [5, 1, 0, 3];
    const [a, b] = E.scope(() => [
      L.softCrossEntropy(toGpu(x), I.oneHot(labels, 6)),
      L.crossEntropy(toGpu(x), labels),
    ]);
    expectClose([await a.item()], [await b.item()], 1e-5, 1e-6);
    a.dispose();
    b.dispose();
  });
  it('rejects bad shapes', () => {
    const x = E.zeros([2, 3]),
      v = E.zeros([6]);
    expect(() => L.crossEntropy(v, [0])).toThrow(/crossEntropy: logits must be \(B, K\), got shape \[6\]/);
    expect(() => L.softCrossEntropy(x, E.zeros([3, 2]))).toThrow(
      /softCrossEntropy: logits \[2,3\] and targets \[3,2\] differ/,
    );
    x.dispose();
    v.dispose();
  });
});

describe('arcfaceLogits', () => {
  const labels = [1, 4, 0, 4, 2, 3];
  const configs: [string, L.ArcfaceOptions][] = [
    ['s = 64, m = 0.5 (insightface)', { s: 64, m: 0.5 }],
    ['s = 30, m = 0.5 (SynFace)', { s: 30, m: 0.5 }],
    ['easy margin, s = 30, m = 0.3', { s: 30, m: 0.3, easyMargin: true }],
  ];
  for (const [name, o] of configs) {
    it(`${name}: forward and gradient`, async () => {
      const c = cosines([6, 5], o.m);
      // make sure both branches are exercised at label columns
      c.data[0 * 5 + 1] = Math.fround(-0.95);
      c.data[1 * 5 + 4] = Math.fround(0.97);
      await checkGradient(
        (x) => L.arcfaceLogits(x, labels, o),
        (x) => R.arcfaceLogits(x, labels, o),
        [c],
        { rtol: 2e-3, atol: 2e-3 },
      );
    });
  }
  it('edge values: cos near and at +-1, below th, and the th branch', async () => {
    const eps = 2 ** -24;
    const vals = [1, 1 - eps, 0.9999, -1, -1 + eps, -0.9, -0.8775, -0.8, 0, 0.5];
    const c = nd([vals.length, 1], vals.map(Math.fround));
    const lab = vals.map(() => 0);
    for (const o of [
      { s: 64, m: 0.5 },
      { s: 30, m: 0.5 },
    ]) {
      const y = E.scope(() => L.arcfaceLogits(toGpu(c), lab, o));
      await expectTensorClose(y, R.arcfaceLogits(c, lab, o), 1e-5, 2e-5 * o.s);
      y.dispose();
    }
  });
  it('the logit is monotonic in cos across the th branch point', async () => {
    const n = 401;
    const c = nd(
      [n, 1],
      Array.from({ length: n }, (_, i) => Math.fround(-1 + (2 * i) / (n - 1))),
    );
    const y = E.scope(() => L.arcfaceLogits(toGpu(c), new Array(n).fill(0), { s: 64, m: 0.5 }));
    const v = await y.toArray();
    for (let i = 1; i < n; i++) expect(v[i], `logit at cos ${c.data[i]}`).toBeGreaterThan(v[i - 1]);
    y.dispose();
  });
  it('gradient stays finite at cos = 1 (sin clamped at ARC_SIN_EPS) and is exact just below', async () => {
    const s = 64,
      m = 0.5;
    const below = Math.fround(1 - 2 ** -20);
    const res = E.scope(() => {
      const x = toGpu(nd([2, 1], [1, below]), true);
      const y = L.arcfaceLogits(x, [0, 0], { s, m });
      return E.grad([y], [x], { gradOutputs: [E.ones([2, 1])] })[0]!;
    });
    const g = await res.toArray();
    const sin = Math.sqrt((1 - below) * (1 + below));
    expectClose(
      g,
      [s * (Math.cos(m) + Math.sin(m) / L.ARC_SIN_EPS), s * (Math.cos(m) + (Math.sin(m) * below) / sin)],
      1e-4,
      0,
    );
    res.dispose();
  });
  it('second order: H v against finite differences', async () => {
    const c = cosines([3, 4], 0.5);
    c.data[0 * 4 + 2] = Math.fround(0.6);
    await checkHessian(
      (x) => L.arcfaceLogits(x, [2, 0, 3], { s: 30 }),
      (x) => R.arcfaceLogits(x, [2, 0, 3], { s: 30 }),
      [c],
    );
  });
  it('rejects a bad margin or scale', () => {
    const x = E.zeros([2, 3]);
    expect(() => L.arcfaceLogits(x, [0, 1], { m: 2 })).toThrow(
      /arcfaceLogits: margin m must be in \[0, pi\/2\), got 2/,
    );
    expect(() => L.arcfaceLogits(x, [0, 1], { s: -1 })).toThrow(
      /arcfaceLogits: scale s must be a positive number/,
    );
    x.dispose();
  });
});

describe('synfaceLoss (SynFace identity + domain mixup)', () => {
  const B = 5,
    K = 9;
  const a = [0, 2, 4, 1, 3],
    b = [1, 0, 3, 3, 2],
    r = [7, 5, 8, 6, 5];
  const phi = nd([B], [0.3, 1, 0.55, 0, 0.8].map(Math.fround));
  const wB = nd(
    [B],
    phi.data.map((v) => Math.fround(1 - v)),
  );
  for (const psi of [1, 0.35, 0]) {
    const o = { a, b, r, psi, s: 30, m: 0.5 };
    it(`psi = ${psi}: loss and logits vs reference; gradients wrt cosine and both weights`, async () => {
      const c = cosines([B, K]);
      await checkGradient(
        (x, wa, wb) => L.synfaceLoss(x, { ...o, wA: wa, wB: wb }).loss,
        (x, wa, wb) => R.synfaceLoss(x, wa, wb, o),
        [c, phi, wB],
        { rtol: 2e-3, atol: 1e-3 },
      );
      await checkGradient(
        (x, wa, wb) => L.synfaceLogits(x, { ...o, wA: wa, wB: wb }),
        (x, wa, wb) => R.synfaceLogits(x, wa, wb, o),
        [c, phi, wB],
        { rtol: 2e-3, atol: 2e-3 },
      );
    });
  }
  it('returns the same logits from synfaceLoss and synfaceLogits; r may be omitted when psi = 1', async () => {
    const c = cosines([B, K]);
    const { loss, logits } = E.scope(() =>
      L.synfaceLoss(toGpu(c), { a, b, wA: phi.data, wB: wB.data, psi: 1 }),
    );
    await expectTensorClose(logits, R.synfaceLogits(c, phi, wB, { a, b, psi: 1 }), 1e-5, 1e-4);
    expectClose([await loss.item()], R.synfaceLoss(c, phi, wB, { a, b, psi: 1 }).data, 1e-5, 1e-5);
    loss.dispose();
    logits.dispose();
  });
  it('with phi = 1, psi = 1 it is ArcFace + cross-entropy', async () => {
    const c = cosines([B, K]);
    const ones = nd([B], new Array(B).fill(1)),
      zeros = nd([B]);
    const [x, y] = E.scope(() => [
      L.synfaceLoss(toGpu(c), { a, b, wA: ones.data, wB: zeros.data, psi: 1 }).loss,
      L.crossEntropy(L.arcfaceLogits(toGpu(c), a, { s: 30 }), a),
    ]);
    expectClose([await x.item()], [await y.item()], 1e-5, 1e-5);
    x.dispose();
    y.dispose();
  });
  it('rejects psi < 1 without real labels, psi out of [0, 1], and mismatched weights', () => {
    const x = E.zeros([B, K]);
    expect(() => L.synfaceLoss(x, { a, b, wA: phi.data, wB: wB.data, psi: 0.5 })).toThrow(
      /synfaceLoss: real labels r are needed when psi = 0.5 < 1/,
    );
    expect(() => L.synfaceLoss(x, { a, b, r, wA: phi.data, wB: wB.data, psi: 1.5 })).toThrow(
      /synfaceLoss: psi must be in \[0, 1\], got 1.5/,
    );
    expect(() => L.synfaceLoss(x, { a, b, r, wA: [1, 2], wB: wB.data, psi: 1 })).toThrow(
      /synfaceLoss: wA of shape \[2\] for a batch of 5/,
    );
    expect(() => L.synfaceLoss(x, { a, b: [0, 0, 0, 0, 9], r, wA: phi.data, wB: wB.data, psi: 1 })).toThrow(
      /synfaceLoss: label 9 at index 4 is out of range \[0, 9\)/,
    );
    x.dispose();
  });
});

describe('softplus and the GAN losses', () => {
  it('softplus: forward and gradient; second order', async () => {
    await checkGradient(A.softplus, RA.softplus, [randomNd([4, 5], -6, 6)]);
    await checkHessian(A.softplus, RA.softplus, [randomNd([2, 3], -4, 4)]);
  });
  it('softplus is accurate at extreme inputs (relative accuracy where it is tiny)', async () => {
    const x = nd([9], [-100, -30, -16, -5, -1e-3, 0, 3, 30, 100]);
    const y = E.scope(() => A.softplus(toGpu(x)));
    // GPUs may flush subnormals: softplus(-100) = 3.7e-44
    await expectTensorClose(y, RA.softplus(x), 2e-6, 1e-37);
    y.dispose();
  });
  it('ganLossG and ganLossD: forward and gradients', async () => {
    await checkGradient(G.ganLossG, RG.ganLossG, [randomNd([7, 1], -4, 4)]);
    await checkGradient(G.ganLossD, RG.ganLossD, [randomNd([6], -4, 4), randomNd([5, 1], -4, 4)]);
  });
  it('ganLossD: second order (what R1-style penalties rely on)', async () => {
    await checkHessian(G.ganLossD, RG.ganLossD, [randomNd([3], -3, 3), randomNd([3], -3, 3)]);
  });
});
