/**
 * The face generator's metrics from measurements (no GPU, no Node), for `synface
 * eval-generator` (evaluate-generator.ts) and, cheaply, for the training run:
 *
 *   identityConsistency   pairs of generated images: same synthetic identity -> the share dlib
 *                         verifies (descriptor distance < 0.6, dlib's rule), different
 *                         identities -> the share it rejects (every pair of the set)
 *   pearson, pooledCorrelation, meanAbsError   requested versus measured factors
 *   realism               Frechet distance and KID (frechet.ts, kid.ts) of generated against
 *                         held-out real descriptors, beside the same for two disjoint halves of
 *                         the real ones (the floor); sizes matched for the FD (see below)
 *   quantiles             of the identities' distances to their nearest training person
 *   generatorFrechet      the training run's cheap figure: FD of N generated images' dlib
 *                         descriptors against a precomputed real statistic
 *   frechetSetup          what it needs, made once per run: N fixed requests (N new identities,
 *                         one image each) and the held-out people's descriptor statistics
 *
 *   const fdSetup = frechetSetup(generatorReference(table, heldOut, file), { images: 500, seed: 1, zDim });
 *   every M kimg: (await generatorFrechet(G_ema, dlib, fdSetup.requests, fdSetup.realStats)).fd
 */
import type { DlibDescriptor } from '../models/face-api/dlib-descriptor.js';
import type { FaceGenerator } from '../models/generator/generator.js';
import { Generator, randperm } from '../tensor/random.js';
import { frechetDistance, gaussianStats, type GaussianStats } from './frechet.js';
import { kernelInceptionDistance } from './kid.js';
import {
  embedDescriptors,
  renderImages,
  syntheticRequests,
  type FactorRequest,
  type GeneratorReference,
} from './generator-samples.js';
import { fitIdentityPrior, peopleNearestDistances } from '../models/generator/identity-prior.js';
import { cosineSimilarity, euclideanDistance } from './verification.js';

/** dlib's same-person rule: descriptors closer than this are the same person. */
export const DLIB_THRESHOLD = 0.6;

const row = (a: Float32Array, d: number, i: number) => a.subarray(i * d, (i + 1) * d);

/** Pearson correlation of two equally long series (NaN when either is constant or shorter than 2). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length) throw new RangeError(`pearson: lengths ${n} and ${b.length} differ`);
  if (n < 2) return NaN;
  let ma = 0,
    mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  let sab = 0,
    saa = 0,
    sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

/**
 * The correlation of vector-valued requests and measurements (`dim` values per image) pooled
 * over the components: each component centred on its own mean, then
 *   sum_k cov_k / sqrt(sum_k var_req_k * sum_k var_meas_k),
 * so components count by their variance (for the expression code: the leading PCA axes).
 * Rows `keep` only (images whose measurement succeeded). With dim 1 it is Pearson's r.
 */
export function pooledCorrelation(
  requested: ArrayLike<number>,
  measured: ArrayLike<number>,
  dim: number,
  keep: readonly number[],
): number {
  if (keep.length < 2) return NaN;
  let sab = 0,
    saa = 0,
    sbb = 0;
  for (let k = 0; k < dim; k++) {
    let ma = 0,
      mb = 0;
    for (const i of keep) {
      ma += requested[i * dim + k] / keep.length;
      mb += measured[i * dim + k] / keep.length;
    }
    for (const i of keep) {
      const a = requested[i * dim + k] - ma,
        b = measured[i * dim + k] - mb;
      sab += a * b;
      saa += a * a;
      sbb += b * b;
    }
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

/** Mean |requested - measured| over the components of rows `keep`. */
export function meanAbsError(
  requested: ArrayLike<number>,
  measured: ArrayLike<number>,
  dim: number,
  keep: readonly number[],
): number {
  if (!keep.length) return NaN;
  let s = 0;
  for (const i of keep)
    for (let k = 0; k < dim; k++) s += Math.abs(requested[i * dim + k] - measured[i * dim + k]);
  return s / (keep.length * dim);
}

/** Values at quantiles qs (linear interpolation between order statistics). */
export function quantiles(values: ArrayLike<number>, qs: readonly number[]): number[] {
  const v = Float64Array.from(values).sort();
  if (!v.length) return qs.map(() => NaN);
  return qs.map((q) => {
    const pos = q * (v.length - 1);
    const lo = Math.floor(pos),
      hi = Math.ceil(pos);
    return v[lo] + (v[hi] - v[lo]) * (pos - lo);
  });
}

export interface IdentityConsistency {
  sameVerified: number;
  differentRejected: number;
  samePairs: number;
  differentPairs: number;
  sameDistanceMean: number;
  differentDistanceMean: number;
}

/**
 * dlib's verdict on every pair of images: descriptors (n x dim), identityOf (n); a pair is
 * verified when its distance is below `threshold`.
 */
export function identityConsistency(
  descriptors: Float32Array,
  dim: number,
  identityOf: ArrayLike<number>,
  threshold = DLIB_THRESHOLD,
): IdentityConsistency {
  const n = identityOf.length;
  let same = 0,
    sameOk = 0,
    sameSum = 0,
    diff = 0,
    diffOk = 0,
    diffSum = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const d = euclideanDistance(row(descriptors, dim, i), row(descriptors, dim, j));
      if (identityOf[i] === identityOf[j]) {
        same++;
        sameSum += d;
        if (d < threshold) sameOk++;
      } else {
        diff++;
        diffSum += d;
        if (!(d < threshold)) diffOk++;
      }
    }
  return {
    sameVerified: same ? sameOk / same : NaN,
    differentRejected: diff ? diffOk / diff : NaN,
    samePairs: same,
    differentPairs: diff,
    sameDistanceMean: same ? sameSum / same : NaN,
    differentDistanceMean: diff ? diffSum / diff : NaN,
  };
}

/** Every pair (i < j) of images of one identity. */
export function sameIdentityPairs(identityOf: ArrayLike<number>): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < identityOf.length; i++)
    for (let j = i + 1; j < identityOf.length; j++) if (identityOf[i] === identityOf[j]) out.push([i, j]);
  return out;
}

/** Mean cosine similarity (SynFace's, eps 1e-5) of the embeddings (n x dim) of the pairs. */
export function meanPairCosine(
  embeddings: Float32Array,
  dim: number,
  pairs: readonly [number, number][],
): number {
  if (!pairs.length) return NaN;
  let s = 0;
  for (const [i, j] of pairs) s += cosineSimilarity(row(embeddings, dim, i), row(embeddings, dim, j));
  return s / pairs.length;
}

export interface Realism {
  fd: number;
  fd_real_floor: number;
  kid: number;
  kid_std: number;
  kid_real_floor: number;
  kid_real_floor_std: number;
  /** Vectors per set in both FDs (matched: the FD's bias depends on the sizes). */
  fd_sample: number;
  kid_subset: number;
  kid_subsets: number;
  generated: number;
  real: number;
}

/**
 * Realism of generated descriptors against real ones (rows of dim). The real set is cut at
 * random into halves A and B; B is the reference of both figures:
 *   fd = FD(first s generated, B), fd_real_floor = FD(first s of A, B), s = min(|generated|, |A|)
 *   kid = KID(generated, B),        kid_real_floor = KID(A, B)        (unbiased: any sizes)
 * The floor is what a perfect generator would score with the same sample sizes.
 */
export function realism(
  generated: Float32Array,
  real: Float32Array,
  dim: number,
  options: { seed?: number; kidSubsets?: number; kidSubsetSize?: number } = {},
): Realism {
  const ng = generated.length / dim,
    nr = real.length / dim;
  if (nr < 4) throw new RangeError(`realism: ${nr} real vectors; two halves of 2 or more are needed`);
  if (ng < 2) throw new RangeError(`realism: ${ng} generated vector(s); 2 or more are needed`);
  const perm = randperm(nr, new Generator(options.seed ?? 0));
  const half = Math.floor(nr / 2);
  const take = (idx: ArrayLike<number>) => {
    const out = new Float32Array(idx.length * dim);
    for (let k = 0; k < idx.length; k++) out.set(row(real, dim, idx[k]), k * dim);
    return out;
  };
  const A = take(perm.subarray(0, half)),
    B = take(perm.subarray(half));
  const s = Math.min(ng, half);
  const statsB = gaussianStats(B, dim, 'realism: real half B');
  const fd = frechetDistance(
    gaussianStats(generated.subarray(0, s * dim), dim, 'realism: generated'),
    statsB,
  );
  const floor = frechetDistance(gaussianStats(A.subarray(0, s * dim), dim, 'realism: real half A'), statsB);
  const kidOptions = { subsets: options.kidSubsets ?? 100, subsetSize: options.kidSubsetSize ?? 1000 };
  const kid = kernelInceptionDistance(generated, B, dim, kidOptions);
  const kidFloor = kernelInceptionDistance(A, B, dim, kidOptions);
  return {
    fd,
    fd_real_floor: floor,
    kid: kid.kid,
    kid_std: kid.std,
    kid_real_floor: kidFloor.kid,
    kid_real_floor_std: kidFloor.std,
    fd_sample: s,
    kid_subset: kid.subsetSize,
    kid_subsets: kid.subsets,
    generated: ng,
    real: nr,
  };
}

/**
 * The training run's FD (cheap: no landmarks, no KID): `requests` (fixed for the run, e.g.
 * syntheticRequests with a fixed seed) rendered by G, their dlib descriptors against
 * `realStats` (gaussianStats of held-out real descriptors, computed once). Compare values of
 * one run only: the FD's bias depends on the number of images. With one image per identity
 * (frechetSetup's requests) every pair of images is two people, so the same descriptors also
 * give `differentRejected`: the share of those pairs dlib tells apart (eval-generator's
 * different_identity_rejected, one image per person), at no extra rendering.
 */
export async function generatorFrechet(
  G: FaceGenerator,
  dlib: DlibDescriptor,
  requests: FactorRequest,
  realStats: GaussianStats,
  options: { batch?: number; noiseSeed?: number } = {},
): Promise<{ fd: number; differentRejected: number; images: number; seconds: number }> {
  const t0 = performance.now();
  const R = G.config.resolution;
  const pixels = await renderImages(G, requests, { batch: options.batch, noiseSeed: options.noiseSeed ?? 0 });
  const d = await embedDescriptors(dlib, pixels, requests.count, R, options.batch);
  const fd = frechetDistance(gaussianStats(d, 128, 'generatorFrechet: generated'), realStats);
  const { differentRejected } = identityConsistency(
    d,
    128,
    Int32Array.from({ length: requests.count }, (_, i) => i),
  );
  return { fd, differentRejected, images: requests.count, seconds: (performance.now() - t0) / 1000 };
}

/**
 * The training run's FD inputs, once per run: `images` new identities (one image each, from the
 * identity prior of ref's training people, rejected within `minDistance` of one of them; default
 * the 25th percentile of their nearest-other distances) and the Gaussian of the held-out
 * people's real descriptors.
 */
export function frechetSetup(
  ref: GeneratorReference,
  o: { images: number; seed: number; zDim: number; minDistance?: number },
): { requests: FactorRequest; realStats: GaussianStats } {
  const prior = fitIdentityPrior(ref.train.descriptor, ref.person, 128);
  const minDistance = o.minDistance ?? quantiles(peopleNearestDistances(prior), [0.25])[0];
  const requests = syntheticRequests(ref.train, prior, {
    ids: o.images,
    perId: 1,
    seed: o.seed,
    minDistance,
    zDim: o.zDim,
  });
  return {
    requests,
    realStats: gaussianStats(ref.heldOut.descriptor, 128, 'frechetSetup: held-out real descriptors'),
  };
}
