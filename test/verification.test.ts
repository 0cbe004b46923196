/**
 * The verification protocol: similarities, folds, 10-fold accuracy, ROC, AUC and TAR at FAR.
 * Oracle: hand-computed cases, and numpy / scikit-learn conventions (arange grid, KFold folds).
 */
import { describe, expect, it } from 'vitest';
import {
  balancedFolds,
  contiguousFolds,
  cosineSimilarity,
  mirroredCosine,
  mirroredSum,
  pairScores,
  roc,
  tarAtFar,
  thresholdGrid,
  verificationAccuracy,
  verificationReport,
} from '../src/eval/verification.js';
import type { LfwPair } from '../src/data/lfw-pairs.js';

function rng(seed: number): () => number {
  // mulberry32
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('similarity', () => {
  it('cosine with SynFace epsilon, and plain', () => {
    const a = Float32Array.of(1, 2, 2),
      b = Float32Array.of(2, 0, 0);
    expect(cosineSimilarity(a, b, 0)).toBeCloseTo(1 / 3, 12);
    expect(cosineSimilarity(a, b)).toBeCloseTo(2 / (3 * 2 + 1e-5), 12);
    expect(cosineSimilarity(a, Float32Array.of(-1, -2, -2), 0)).toBeCloseTo(-1, 12);
    expect(() => cosineSimilarity(a, Float32Array.of(1))).toThrow(/lengths/);
  });
  it('mirrored sum then cosine', () => {
    expect(Array.from(mirroredSum([1, 2], [3, -1]))).toEqual([4, 1]);
    expect(mirroredCosine([1, 0], [0, 1], [1, 1], [0, 0], 0)).toBeCloseTo(1, 12);
    expect(mirroredCosine([1, 0], [0, 1], [1, -1], [0, 0], 0)).toBeCloseTo(0, 12);
  });
  it('pairScores looks embeddings up', () => {
    const emb = new Map([
      ['A1', [1, 0]],
      ['A2', [1, 1]],
      ['B1', [0, 1]],
    ]);
    const pairs: LfwPair[] = [
      { a: { name: 'A', index: 1 }, b: { name: 'A', index: 2 }, same: true, fold: -1 },
      { a: { name: 'A', index: 1 }, b: { name: 'B', index: 1 }, same: false, fold: -1 },
    ];
    const s = pairScores(pairs, (r) => emb.get(r.name + r.index)!, 0);
    expect(s[0]).toBeCloseTo(Math.SQRT1_2, 12);
    expect(s[1]).toBeCloseTo(0, 12);
  });
});

describe('folds and grid', () => {
  it('grid is numpy arange(-1, 1, 0.005)', () => {
    const g = thresholdGrid();
    expect(g.length).toBe(400);
    expect(g[0]).toBe(-1);
    expect(g[399]).toBeCloseTo(0.995, 12);
  });
  it('contiguous folds = KFold(n, 10)', () => {
    // boundaries floor(f * 25 / 10): 0 2 5 7 10 12 15 17 20 22 25
    expect(Array.from(contiguousFolds(25, 10))).toEqual([
      0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5, 6, 6, 7, 7, 7, 8, 8, 9, 9, 9,
    ]);
    expect(Array.from(contiguousFolds(6000)).filter((f) => f === 3).length).toBe(600);
    expect(contiguousFolds(6000)[599]).toBe(0);
    expect(contiguousFolds(6000)[600]).toBe(1);
  });
  it('balanced folds: View 1 layout (1100 same then 1100 different) -> 110 + 110 per fold, order kept', () => {
    const same = [...Array(2200)].map((_, i) => i < 1100);
    const f = balancedFolds(same);
    for (let k = 0; k < 10; k++) {
      expect(same.filter((s, i) => s && f[i] === k).length).toBe(110);
      expect(same.filter((s, i) => !s && f[i] === k).length).toBe(110);
    }
    expect([f[0], f[109], f[110], f[1099], f[1100], f[2199]]).toEqual([0, 0, 1, 9, 0, 9]);
  });
});

describe('10-fold verification accuracy', () => {
  it('perfectly separable scores -> accuracy 1, std 0', () => {
    const r = rng(1);
    const same = [...Array(600)].map((_, i) => i % 2 === 0);
    const scores = same.map((s) => (s ? 0.5 + 0.4 * r() : -0.3 + 0.6 * r()));
    // gap: different <= 0.3, same >= 0.5
    const res = verificationAccuracy(scores, same);
    expect(res.accuracy).toBe(1);
    expect(res.std).toBe(0);
    expect(res.foldAccuracies).toEqual(Array(10).fill(1));
    for (const t of res.thresholds) expect(t).toBeGreaterThanOrEqual(0.3 - 1e-9);
  });

  // 10 folds of 2 pairs (pair 2f same, 2f+1 different), contiguous like SynFace's KFold(20, 10).
  // Same scores 0.4975, different 0.1025, except fold 0's different pair: 0.3025 (a hard negative).
  // Held-out fold 0: the other folds separate for t in [0.1025, 0.4975): grid 0.105 .. 0.495.
  // Held-out fold f > 0: the training folds include 0.3025, separated for t in [0.3025, 0.4975): 0.305 .. 0.495.
  const same = [...Array(20)].map((_, i) => i % 2 === 0);
  const scores = same.map((s, i) => (s ? 0.4975 : i === 1 ? 0.3025 : 0.1025));
  const folds = contiguousFolds(20, 10);
  it('hand-computed thresholds, SynFace ties (highest)', () => {
    const res = verificationAccuracy(scores, same, { folds });
    for (const t of res.thresholds) expect(t).toBeCloseTo(0.495, 12);
    expect(res.foldAccuracies).toEqual(Array(10).fill(1));
    expect(res.accuracy).toBe(1);
  });
  it('hand-computed thresholds, lowest ties', () => {
    const res = verificationAccuracy(scores, same, { folds, ties: 'lowest' });
    expect(res.thresholds[0]).toBeCloseTo(0.105, 12);
    for (let f = 1; f < 10; f++) expect(res.thresholds[f]).toBeCloseTo(0.305, 12);
    // fold 0: its different pair 0.3025 > 0.105 is accepted -> 1/2
    expect(res.foldAccuracies).toEqual([0.5, ...Array(9).fill(1)]);
    expect(res.accuracy).toBeCloseTo(0.95, 12);
    // population std: sqrt((0.45^2 + 9 * 0.05^2) / 10) = 0.15 (ddof = 1 would give 0.158)
    expect(res.std).toBeCloseTo(0.15, 12);
    expect(res.meanThreshold).toBeCloseTo((0.105 + 9 * 0.305) / 10, 12);
  });
  it('a hard same pair in one fold: hand-computed accuracy and threshold', () => {
    // fold 3's same pair scores 0.05: for held-out fold 3 the others separate; for the other folds
    // accepting 0.05 would cost all nine 0.1025 negatives, so t stays in [0.1025, 0.4975).
    const sc = same.map((s, i) => (i === 6 ? 0.05 : s ? 0.4975 : 0.1025));
    const res = verificationAccuracy(sc, same, { folds, ties: 'lowest' });
    expect(res.thresholds.every((t) => Math.abs(t - 0.105) < 1e-12)).toBe(true);
    expect(res.foldAccuracies[3]).toBe(0.5);
    expect(res.accuracy).toBeCloseTo(0.95, 12);
    expect(res.std).toBeCloseTo(0.15, 12);
  });
  it('random scores -> about 0.5', () => {
    const r = rng(7);
    const same = [...Array(6000)].map((_, i) => Math.floor(i / 300) % 2 === 0); // View 2 layout
    const scores = same.map(() => 2 * r() - 1);
    const res = verificationAccuracy(scores, same, { folds: contiguousFolds(6000) });
    expect(Math.abs(res.accuracy - 0.5)).toBeLessThan(0.03);
  });
  it('rejects bad input', () => {
    expect(() => verificationAccuracy([0.1], [true, false])).toThrow(/labels/);
    expect(() => verificationAccuracy([0.1, 0.2], [true, false], { folds: [0, 0] })).toThrow(
      /at least 2 folds/,
    );
    expect(() => verificationAccuracy([0.1, 0.2, 0.3], [true, false, true], { folds: [0, 2, 2] })).toThrow(
      /fold 1 is empty/,
    );
    expect(() => verificationAccuracy([NaN, 0.2], [true, false], { folds: [0, 1] })).toThrow(/not finite/);
  });
});

describe('ROC', () => {
  it('perfect classifier: AUC 1, TAR 1 at any FAR', () => {
    const c = roc([0.9, 0.8, 0.7, 0.1, 0.0, -0.2], [true, true, true, false, false, false]);
    expect(c.auc).toBe(1);
    expect(tarAtFar(c, 1e-3)).toBe(1);
    expect(Array.from(c.far)).toEqual([0, 0, 0, 0, 1 / 3, 2 / 3, 1]);
    expect(Array.from(c.tar)).toEqual([0, 1 / 3, 2 / 3, 1, 1, 1, 1]);
  });
  it('all scores tied: one diagonal step, AUC 0.5', () => {
    const c = roc([0.3, 0.3, 0.3, 0.3], [true, false, true, false]);
    expect(c.auc).toBe(0.5);
    expect(c.far.length).toBe(2);
  });
  it('random classifier: AUC about 0.5; inverted: 0', () => {
    const r = rng(3);
    const same = [...Array(20000)].map((_, i) => i % 2 === 0);
    expect(
      Math.abs(
        roc(
          same.map(() => r()),
          same,
        ).auc - 0.5,
      ),
    ).toBeLessThan(0.02);
    expect(roc([0, 1], [true, false]).auc).toBe(0);
  });
  it('hand-computed AUC with one swap', () => {
    // same: 0.9, 0.5; different: 0.6, 0.1 -> one of 4 (same, different) orderings wrong: AUC 0.75
    expect(roc([0.9, 0.5, 0.6, 0.1], [true, true, false, false]).auc).toBeCloseTo(0.75, 12);
  });
  it('TAR at FAR on a constructed case', () => {
    // 1000 different pairs at 0.000 .. 0.999 (i / 1000); 100 same pairs at 0.9905 .. 0.0005 step -0.01.
    // FAR <= 1e-3 allows one false accept (t = 0.999): TAR = same scores >= 0.999 -> none.
    // FAR <= 1e-2 allows 10 (t = 0.990): same >= 0.990 -> 1 of 100.
    // FAR <= 0.1 allows 100 (t = 0.900): same >= 0.9 -> 0.9905 .. 0.9005 -> 10.
    const scores: number[] = [],
      same: boolean[] = [];
    for (let i = 0; i < 1000; i++) {
      scores.push(i / 1000);
      same.push(false);
    }
    for (let j = 0; j < 100; j++) {
      scores.push(0.9905 - 0.01 * j);
      same.push(true);
    }
    const c = roc(scores, same);
    expect(tarAtFar(c, 1e-3)).toBe(0);
    expect(tarAtFar(c, 1e-2)).toBeCloseTo(0.01, 12);
    expect(tarAtFar(c, 0.1)).toBeCloseTo(0.1, 12);
    const rep = verificationReport(scores, same);
    expect(rep.tarAtFar1e3).toBe(0);
    expect(rep.tarAtFar1e2).toBeCloseTo(0.01, 12);
    expect(rep.auc).toBeCloseTo(c.auc, 15);
  });
});
