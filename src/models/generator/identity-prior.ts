/**
 * New identities (no GPU): a Gaussian fitted to the training people's identity descriptors,
 * sampled with rejection of anything too close to a training person, so that a synthetic
 * identity is nobody the generator was trained on.
 *
 *   fit      each person's mean descriptor m_p (raw dlib space); the Gaussian N(mu, S) over
 *            the m_p, S = L L^T (Cholesky, with a small ridge so it exists for few people)
 *   sample   d = mu + L e, e ~ N(0, I) from a seeded Generator (the same stream as the GPU's),
 *            kept only when |d - m_p| >= minDistance for every person p; the generator then
 *            maps d like a real descriptor (standardize, identityCode)
 * Choosing minDistance: dlib's same-person threshold (0.6, for two images) is far too strict
 * between person means of a crowded set. Measured on the 3,429 training people of LFW devtrain:
 * the nearest other person's mean lies at a median 0.425 (min 0.05), and 200 unrejected
 * samples of the prior lie at a median 0.456 (0.36 .. 0.58) from their nearest person, so 0.6
 * would reject every sample. peopleNearestDistances gives the real distribution to pick a
 * quantile from (e.g. its 25th percentile: no closer to somebody than most real people are).
 * DiscoFaceGAN samples its identity coefficients from a learned prior; this is the Gaussian
 * version of that in the descriptor's space.
 */
import { Generator, toUnit } from '../../tensor/random.js';

export interface IdentityPrior {
  dim: number;
  mean: Float64Array;
  /** Lower-triangular Cholesky factor of the covariance, dim x dim row-major. */
  chol: Float64Array;
  /** Each training person's mean descriptor, people x dim. */
  people: Float32Array;
}

/** descriptors: rows x dim; person: the person of each row (any labels). */
export function fitIdentityPrior(
  descriptors: Float32Array,
  person: ArrayLike<number | string>,
  dim: number,
  ridge = 1e-6,
): IdentityPrior {
  const n = person.length;
  if (descriptors.length !== n * dim)
    throw new RangeError(`fitIdentityPrior: ${descriptors.length} values for ${n} rows of ${dim}`);
  const { people, P } = personMeans(descriptors, person, dim);
  if (P < 2) throw new RangeError(`fitIdentityPrior: ${P} person; a distribution needs at least 2`);
  const mean = new Float64Array(dim);
  for (let p = 0; p < P; p++) for (let j = 0; j < dim; j++) mean[j] += people[p * dim + j] / P;
  const cov = new Float64Array(dim * dim);
  for (let p = 0; p < P; p++)
    for (let a = 0; a < dim; a++) {
      const da = people[p * dim + a] - mean[a];
      for (let b = 0; b <= a; b++) cov[a * dim + b] += (da * (people[p * dim + b] - mean[b])) / P;
    }
  for (let a = 0; a < dim; a++) cov[a * dim + a] += ridge;
  return { dim, mean, chol: cholesky(cov, dim), people };
}

/**
 * Each person's mean descriptor (people: P x dim, in order of first appearance) and each row's
 * person (index: rows -> 0 .. P-1).
 */
export function personMeans(
  descriptors: ArrayLike<number>,
  person: ArrayLike<number | string>,
  dim: number,
): { people: Float32Array; index: Int32Array; P: number } {
  const n = person.length;
  if (descriptors.length !== n * dim)
    throw new RangeError(`personMeans: ${descriptors.length} values for ${n} rows of ${dim}`);
  const slot = new Map<number | string, number>();
  const index = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let p = slot.get(person[r]);
    if (p === undefined) slot.set(person[r], (p = slot.size));
    index[r] = p;
  }
  const P = slot.size;
  const sums = new Float64Array(P * dim),
    counts = new Float64Array(P);
  for (let r = 0; r < n; r++) {
    counts[index[r]]++;
    for (let j = 0; j < dim; j++) sums[index[r] * dim + j] += descriptors[r * dim + j];
  }
  const people = Float32Array.from(sums, (v, i) => v / counts[Math.floor(i / dim)]);
  return { people, index, P };
}

/** Every row's descriptor replaced by its person's mean (rows x dim; see personMeans). */
export function personMeanRows(
  descriptors: ArrayLike<number>,
  person: ArrayLike<number | string>,
  dim: number,
): Float32Array {
  const { people, index } = personMeans(descriptors, person, dim);
  const out = new Float32Array(index.length * dim);
  index.forEach((p, r) => out.set(people.subarray(p * dim, (p + 1) * dim), r * dim));
  return out;
}

/** L with L L^T = A (A symmetric positive definite; its lower triangle is read). */
function cholesky(A: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(s > 0))
          throw new Error(`fitIdentityPrior: the covariance is not positive definite (pivot ${i})`);
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j];
    }
  return L;
}

/**
 * The prior with every identity's offset from the mean scaled by `spread`: N(mu, spread^2 S).
 * Two draws of N(mu, S) lie sqrt(2 tr S) apart on average (0.72 on LFW devtrain, where dlib's
 * threshold 0.6 separates 90% of such pairs and 94% of two real images of different people);
 * a spread above 1 asks for people further apart than the training people are, so that a
 * dataset's classes stay apart after the generator's rendering blurs them together (eval-generator
 * reports the requested and the measured distances side by side).
 */
export function widenPrior(prior: IdentityPrior, spread: number): IdentityPrior {
  if (!(spread > 0 && Number.isFinite(spread)))
    throw new RangeError(`widenPrior: spread ${spread} is not a positive number`);
  return { ...prior, chol: prior.chol.map((v) => v * spread) };
}

/** n standard normals from the generator's stream (Box-Muller on its uniforms). */
function normals(gen: Generator, n: number): Float64Array {
  const bits = gen.bitsCpu(2 * n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u1 = Math.max(toUnit(bits[2 * i]), 2 ** -25);
    out[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * toUnit(bits[2 * i + 1]));
  }
  return out;
}

/** Distance from d to the nearest training person. */
export function nearestPersonDistance(prior: IdentityPrior, d: ArrayLike<number>): number {
  let best = Infinity;
  for (let p = 0; p < prior.people.length / prior.dim; p++) {
    let s = 0;
    for (let j = 0; j < prior.dim; j++) s += (d[j] - prior.people[p * prior.dim + j]) ** 2;
    best = Math.min(best, s);
  }
  return Math.sqrt(best);
}

/** Each training person's distance to the nearest other person (ascending). */
export function peopleNearestDistances(prior: IdentityPrior): Float64Array {
  const { dim, people } = prior;
  const P = people.length / dim;
  const out = new Float64Array(P).fill(Infinity);
  for (let p = 0; p < P; p++)
    for (let q = p + 1; q < P; q++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (people[p * dim + j] - people[q * dim + j]) ** 2;
      const d = Math.sqrt(s);
      if (d < out[p]) out[p] = d;
      if (d < out[q]) out[q] = d;
    }
  return out.sort();
}

/** n new identity descriptors (n x dim), each at least minDistance from every training person. */
export function sampleIdentities(
  prior: IdentityPrior,
  n: number,
  gen: Generator,
  minDistance: number,
  maxTries = 100 * n + 100,
): Float32Array {
  const { dim, mean, chol } = prior;
  const out = new Float32Array(n * dim);
  let kept = 0,
    tries = 0;
  while (kept < n) {
    if (tries++ >= maxTries)
      throw new Error(
        `sampleIdentities: ${kept} of ${n} identities after ${maxTries} draws: the prior rarely leaves distance ${minDistance} to the training people`,
      );
    const e = normals(gen, dim);
    const d = new Float64Array(dim);
    for (let a = 0; a < dim; a++) {
      let s = mean[a];
      for (let b = 0; b <= a; b++) s += chol[a * dim + b] * e[b];
      d[a] = s;
    }
    if (nearestPersonDistance(prior, d) < minDistance) continue;
    out.set(d, kept * dim);
    kept++;
  }
  return out;
}
