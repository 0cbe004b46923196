/**
 * The realism metrics' math (src/eval/frechet.ts, src/eval/kid.ts) against closed forms and
 * brute force: the Frechet distance of Gaussians with diagonal covariances (sum of squared
 * mean and std differences), of 2x2 covariances that do not commute (tr sqrt(S1 S2) =
 * sqrt(tr(S1 S2) + 2 sqrt(det S1 det S2))), its invariance under a common rotation at 128
 * dimensions, a set against itself (0); KID against the unbiased MMD^2 written out pair by
 * pair on tiny sets, near 0 for two samples of one distribution and clearly above for shifted ones;
 * the generator metrics' helpers (src/eval/generator-metrics.ts) on hand-computed cases, and the
 * empirical factor prior (src/models/generator/factor-prior.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  frechetDistance,
  frechetDistanceOf,
  gaussianStats,
  sqrtPsd,
  type GaussianStats,
} from '../src/eval/frechet.js';
import { kernelInceptionDistance, polynomialKernel } from '../src/eval/kid.js';
import {
  identityConsistency,
  meanAbsError,
  pearson,
  pooledCorrelation,
  quantiles,
  realism,
  sameIdentityPairs,
} from '../src/eval/generator-metrics.js';
import { factorRanges, sampleFactors } from '../src/models/generator/factor-prior.js';
import { Generator } from '../src/tensor/random.js';
import { gaussian, rng } from './face-synthetic.js';

const stats = (mean: number[], cov: number[]): GaussianStats => ({
  dim: mean.length,
  count: 100,
  mean: Float64Array.from(mean),
  cov: Float64Array.from(cov),
});

const diag = (v: number[]) => {
  const n = v.length;
  const m = new Array<number>(n * n).fill(0);
  v.forEach((x, i) => (m[i * n + i] = x));
  return m;
};

/** Rows of n samples of dim standard normals times `scale`, plus `shift`. */
function sample(n: number, dim: number, seed: number, scale = 1, shift = 0): Float64Array {
  const u = rng(seed);
  return Float64Array.from({ length: n * dim }, () => shift + scale * gaussian(u));
}

describe('gaussianStats', () => {
  it('matches the mean and the unbiased covariance written out', () => {
    const x = sample(7, 3, 1);
    const s = gaussianStats(x, 3);
    for (let j = 0; j < 3; j++) {
      const m = [0, 1, 2, 3, 4, 5, 6].reduce((a, r) => a + x[r * 3 + j], 0) / 7;
      expect(s.mean[j]).toBeCloseTo(m, 12);
      for (let k = 0; k < 3; k++) {
        let c = 0;
        for (let r = 0; r < 7; r++) c += (x[r * 3 + j] - s.mean[j]) * (x[r * 3 + k] - s.mean[k]);
        expect(s.cov[j * 3 + k]).toBeCloseTo(c / 6, 12);
      }
    }
  });

  it('refuses one row and non-finite values, naming them', () => {
    expect(() => gaussianStats([1, 2, 3], 3, 'gen')).toThrow(/gen: 3 values are not 2 or more rows of 3/);
    expect(() => gaussianStats([1, 2, NaN, 4], 2, 'gen')).toThrow(/gen: value NaN in row 1 is not finite/);
  });
});

describe('frechetDistance', () => {
  it('diagonal covariances: |mu1 - mu2|^2 + sum (sigma1 - sigma2)^2', () => {
    const s1 = [1, 4, 0.25, 9],
      s2 = [2, 1, 0.5, 9];
    const fd = frechetDistance(stats([0, 1, 2, 3], diag(s1)), stats([1, 1, 0, 3], diag(s2)));
    const want = 1 + 0 + 4 + 0 + s1.reduce((a, v, i) => a + (Math.sqrt(v) - Math.sqrt(s2[i])) ** 2, 0);
    expect(fd).toBeCloseTo(want, 10);
  });

  it('2x2 covariances that do not commute: the closed form of tr sqrt(S1 S2)', () => {
    const A = [2, 0.7, 0.7, 1],
      B = [0.5, -0.3, -0.3, 3];
    const AB = [A[0] * B[0] + A[1] * B[2], 0, 0, A[2] * B[1] + A[3] * B[3]];
    const det = (m: number[]) => m[0] * m[3] - m[1] * m[2];
    const trSqrt = Math.sqrt(AB[0] + AB[3] + 2 * Math.sqrt(det(A) * det(B)));
    const want = 0.25 + 4 + (A[0] + A[3] + B[0] + B[3]) - 2 * trSqrt;
    expect(frechetDistance(stats([0.5, 0], A), stats([0, 2], B))).toBeCloseTo(want, 10);
    // symmetric in its arguments
    expect(frechetDistance(stats([0, 2], B), stats([0.5, 0], A))).toBeCloseTo(want, 10);
  });

  it('128 dimensions: a common rotation of two diagonal Gaussians leaves the distance unchanged', () => {
    const n = 128;
    const u = rng(5);
    const v1 = Array.from({ length: n }, () => 0.01 + u()),
      v2 = Array.from({ length: n }, () => 0.01 + 2 * u());
    const want = v1.reduce((a, v, i) => a + (Math.sqrt(v) - Math.sqrt(v2[i])) ** 2, 0);
    // Q = product of 3 Householder reflections (orthogonal, not diagonal)
    let Q = diag(new Array(n).fill(1));
    for (let h = 0; h < 3; h++) {
      const w = Array.from({ length: n }, () => gaussian(u));
      const ww = w.reduce((a, x) => a + x * x, 0);
      Q = Q.map(
        (q, k) => q - (2 * w[Math.floor(k / n)] * w.reduce((a, x, t) => a + x * Q[t * n + (k % n)], 0)) / ww,
      );
    }
    const rotate = (d: number[]) => {
      // Q D Q^T
      const out = new Array<number>(n * n).fill(0);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += Q[i * n + k] * d[k] * Q[j * n + k];
          out[i * n + j] = s;
        }
      return out;
    };
    expect(rotate(v1)[1]).not.toBeCloseTo(0, 3); // really not diagonal
    const zero = new Array(n).fill(0);
    const fd = frechetDistance(stats(zero, rotate(v1)), stats(zero, rotate(v2)));
    expect(fd).toBeCloseTo(want, 8);
  });

  it('a set against itself is 0; a shifted copy is the squared shift', () => {
    const x = sample(300, 128, 2);
    expect(Math.abs(frechetDistanceOf(x, x, 128))).toBeLessThan(1e-8);
    const shifted = x.map((v, i) => v + (i % 128 === 3 ? 0.5 : 0));
    expect(frechetDistanceOf(x, shifted, 128)).toBeCloseTo(0.25, 8);
  });

  it('sqrtPsd squares back to the matrix', () => {
    const S = gaussianStats(sample(50, 6, 3), 6).cov;
    const R = sqrtPsd(S, 6);
    for (let i = 0; i < 6; i++)
      for (let j = 0; j < 6; j++) {
        let s = 0;
        for (let k = 0; k < 6; k++) s += R[i * 6 + k] * R[k * 6 + j];
        expect(s).toBeCloseTo(S[i * 6 + j], 10);
      }
  });
});

describe('kernelInceptionDistance', () => {
  /** The unbiased MMD^2 written out over every pair. */
  function bruteMmd2(x: Float64Array, y: Float64Array, dim: number): number {
    const row = (a: Float64Array, i: number) => a.subarray(i * dim, (i + 1) * dim);
    const m = x.length / dim,
      n = y.length / dim;
    let xx = 0,
      yy = 0,
      xy = 0;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < m; j++) if (i !== j) xx += polynomialKernel(row(x, i), row(x, j));
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) if (i !== j) yy += polynomialKernel(row(y, i), row(y, j));
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) xy += polynomialKernel(row(x, i), row(y, j));
    return xx / (m * (m - 1)) + yy / (n * (n - 1)) - (2 * xy) / (m * n);
  }

  it('the kernel is (x.y/d + 1)^3', () => {
    expect(polynomialKernel([1, 2], [3, -1])).toBeCloseTo((1 / 2 + 1) ** 3, 14);
  });

  it('one subset holding every vector equals the brute-force unbiased MMD^2, with std 0', () => {
    const x = sample(6, 4, 7),
      y = sample(6, 4, 8, 1.5, 0.3);
    const r = kernelInceptionDistance(x, y, 4, { subsets: 3, subsetSize: 6 });
    expect(r.subsetSize).toBe(6);
    expect(r.kid).toBeCloseTo(bruteMmd2(x, y, 4), 12);
    expect(r.std).toBeLessThan(1e-12);
  });

  it('subsets: the mean of brute-force MMD^2 over the same random subsets', () => {
    const x = sample(9, 3, 9),
      y = sample(7, 3, 10, 1, 1);
    const r = kernelInceptionDistance(x, y, 3, { subsets: 5, subsetSize: 4, seed: 3 });
    expect(r.subsetSize).toBe(4);
    const many = kernelInceptionDistance(x, y, 3, { subsets: 4000, subsetSize: 4, seed: 3 });
    // by symmetry, a random subset's within-set and cross-set averages have the full sets'
    // averages as expectation: the mean over many subsets approaches the full-set U-statistic
    expect(Math.abs(many.kid - bruteMmd2(x, y, 3))).toBeLessThan(0.1 * Math.abs(bruteMmd2(x, y, 3)));
    expect(Number.isFinite(r.std) && r.std > 0).toBe(true);
  });

  it('two samples of one distribution: near 0; a shifted one: far above', () => {
    const dim = 16;
    const a = sample(400, dim, 11),
      b = sample(400, dim, 12),
      c = sample(400, dim, 13, 1, 0.5);
    const same = kernelInceptionDistance(a, b, dim, { subsets: 20, subsetSize: 200 });
    const diff = kernelInceptionDistance(a, c, dim, { subsets: 20, subsetSize: 200 });
    expect(Math.abs(same.kid)).toBeLessThan(0.05 * diff.kid);
    expect(diff.kid).toBeGreaterThan(10 * diff.std);
  });

  it('refuses too few rows and non-finite values, naming the set', () => {
    expect(() => kernelInceptionDistance([1, 2], [1, 2, 3, 4], 2)).toThrow(/first set's 2 values/);
    expect(() => kernelInceptionDistance([1, 2, 3, 4], [1, NaN, 3, 4], 2)).toThrow(
      /value NaN in row 0 of the second set/,
    );
  });
});

describe('generator metrics helpers', () => {
  it('pearson: +1, -1, a hand-computed value, NaN for a constant; pooled with one component is pearson', () => {
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 14);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 14);
    // x = 1,2,3,4; y = 1,3,2,4: cov 3 / sqrt(5 * 5) = 0.8 (sums of products about the means)
    expect(pearson([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 14);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(pooledCorrelation([1, 2, 3, 4], [1, 3, 2, 4], 1, [0, 1, 2, 3])).toBeCloseTo(0.8, 14);
  });

  it('pooled correlation centres each component: an offset between components adds nothing', () => {
    // component 0 perfectly followed, component 1 (around 100) not at all: pooled < 1
    const req = [0, 100, 1, 101, 2, 100, 3, 101],
      meas = [0, 100.5, 1, 100.5, 2, 100.5, 3, 100.5];
    const all = [0, 1, 2, 3];
    expect(pooledCorrelation(req, meas, 2, all)).toBeCloseTo(
      // sum cov / sqrt(sum var_req * sum var_meas) = 5 / sqrt((5 + 1) * 5)
      5 / Math.sqrt(6 * 5),
      12,
    );
    expect(meanAbsError(req, meas, 2, all)).toBeCloseTo((0 + 0.5) / 2, 12);
  });

  it('identityConsistency counts every pair against the 0.6 rule', () => {
    // 1-D "descriptors": identity 0 at 0 and 0.5, identity 1 at 0.55 and 2
    const d = Float32Array.from([0, 0.5, 0.55, 2]);
    const r = identityConsistency(d, 1, [0, 0, 1, 1]);
    expect([r.samePairs, r.differentPairs]).toEqual([2, 4]);
    expect(r.sameVerified).toBe(0.5); // 0.5 < 0.6 yes, 1.45 no
    // different: |0-0.55| = 0.55 (accepted), |0-2|, |0.5-0.55| = 0.05 (accepted), |0.5-2|: 2 of 4 rejected
    expect(r.differentRejected).toBe(0.5);
    expect(sameIdentityPairs([0, 0, 1, 1, 1])).toEqual([
      [0, 1],
      [2, 3],
      [2, 4],
      [3, 4],
    ]);
  });

  it('quantiles interpolate between order statistics', () => {
    expect(quantiles([4, 1, 3, 2], [0, 0.5, 1, 1 / 3])).toEqual([1, 2.5, 4, 2]);
  });

  it('realism: the same distribution scores near its floor; a shifted one far above', () => {
    const dim = 8;
    const real = Float32Array.from(sample(400, dim, 21));
    const same = Float32Array.from(sample(300, dim, 22));
    const shifted = Float32Array.from(sample(300, dim, 23, 1, 0.4));
    const a = realism(same, real, dim, { kidSubsets: 10, kidSubsetSize: 150 });
    const b = realism(shifted, real, dim, { kidSubsets: 10, kidSubsetSize: 150 });
    expect([a.fd_sample, a.real, a.generated]).toEqual([200, 400, 300]);
    expect(a.fd).toBeLessThan(2 * a.fd_real_floor);
    expect(b.fd).toBeGreaterThan(b.fd_real_floor + 0.8 * dim * 0.16); // |shift|^2 = 8 * 0.16
    expect(b.kid).toBeGreaterThan(10 * Math.abs(a.kid));
    expect(a.fd_real_floor).toBe(b.fd_real_floor); // the same halves for the same seed
  });

  it('sampleFactors copies whole training values (each factor from its own row); ranges bound them', () => {
    const rows = {
      count: 3,
      descriptor: new Float32Array(3 * 2),
      expression: Float32Array.from([1, 2, 3, 4, 5, 6]),
      pose: Float32Array.from([10, 11, 12, 20, 21, 22, 30, 31, 32]),
      lighting: Float32Array.from([0.1, 0.2, 0.3]),
    };
    const s = sampleFactors(rows, 50, new Generator(1));
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const e = [...s.expression.subarray(2 * i, 2 * i + 2)];
      expect([
        [1, 2],
        [3, 4],
        [5, 6],
      ]).toContainEqual(e);
      const p = [...s.pose.subarray(3 * i, 3 * i + 3)];
      expect([
        [10, 11, 12],
        [20, 21, 22],
        [30, 31, 32],
      ]).toContainEqual(p);
      seen.add(p[0]);
    }
    expect(seen.size).toBe(3);
    // independent draws: expression and pose rows differ somewhere
    const sameRow = Array.from(
      { length: 50 },
      (_, i) => (s.expression[2 * i] - 1) / 2 === (s.pose[3 * i] - 10) / 10,
    );
    expect(sameRow.includes(false)).toBe(true);
    const r = factorRanges(rows);
    expect(r.pose).toEqual({ min: [10, 11, 12], max: [30, 31, 32] });
    expect(r.expression).toEqual({ min: [1, 2], max: [5, 6] });
  });
});
