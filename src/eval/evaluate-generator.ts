/**
 * `synface eval-generator`'s work (Node: reads the weights, the factors file, the split, the
 * recognizer and the images): the face generator judged on synthetic identities it never saw.
 *
 *   identities  `ids` new ones from the identity prior of the training people (identity-prior.ts,
 *               its spread scaled by `identitySpread`, default 1),
 *               none closer to a training person's mean descriptor than `minDistanceQuantile`
 *               of the real people are to their nearest other person (0.25: as the training
 *               run's grid); each shown `perId` times, expression, pose and lighting drawn per
 *               image from the training measurements (factor-prior.ts), z ~ N(0, I)
 *   measured    by the face analysis `synface analyze` runs (same networks, same landmark
 *               network as the factors file, same crops): generator-samples.ts
 *   consistency dlib on every pair (generator-metrics.ts); the shipped recognizer's mean cosine
 *               over the same-identity pairs next to its mean over the real same-person pairs
 *               of the split's val-pairs.txt; dlib's share of those real pairs verified and
 *               of its different-person pairs rejected (the factors file's descriptors), and
 *               of the requested identity descriptors' pairs rejected: the floors to read
 *               the synthetic figures against
 *   control     requested vs measured yaw, pitch (degrees), expression code (the factors file's
 *               PCA; both sides centred on the identity's mean over its usable images, the
 *               measured side as analyze centres a person), lighting code: correlation (pooled
 *               over a code's components, generator-metrics.ts) and mean absolute error, over
 *               the images of analyze's quality 0
 *   realism     FD and KID of the generated descriptors against the held-out people's real ones,
 *               with the real-vs-real floor (generator-metrics.ts realism)
 *   novelty     quantiles of each identity's mean measured descriptor's distance to the nearest
 *               training person's mean
 */
import { existsSync, readFileSync } from 'node:fs';
import { cachedLfw, type CacheOptions } from '../data/lfw-cache.js';
import { readValPairs, readValPeople } from '../data/split-files.js';
import type { ImageCache } from '../data/image-cache.js';
import { loadFaceNets } from '../face/analyze-dataset.js';
import type { FactorsTable } from '../face/factors-file.js';
import { FACE_PREPROCESS, readsFaceCrops } from '../face/measure-faces.js';
import { loadRecognizer } from '../models/recognizer-weights.js';
import { nearestPersonDistance } from '../models/generator/identity-prior.js';
import { embedRows } from './embed.js';
import { openGeneratorFromBytes } from './generator-setup.js';
import { euclideanDistance } from './verification.js';
import {
  measureGenerated,
  renderImages,
  syntheticRequests,
  type GeneratorReference,
} from './generator-samples.js';
import {
  DLIB_THRESHOLD,
  identityConsistency,
  meanAbsError,
  meanPairCosine,
  pearson,
  pooledCorrelation,
  quantiles,
  realism,
  sameIdentityPairs,
  type Realism,
} from './generator-metrics.js';

export interface EvalGeneratorOptions {
  /** The generator's weights (generator.safetensors of a run, or the shipped one). */
  weights: string;
  /** The analyze file of the data. */
  factors: string;
  /** LFW-layout data folder and its people file (the real pairs' images). */
  data: string;
  people: string;
  /** Folder of val-people.txt and val-pairs.txt. */
  split: string;
  /** The recognizer's weights. */
  recognizer: string;
  ids: number;
  perId: number;
  seed: number;
  /** Images per forward pass (default 16). */
  batch?: number;
  /** The identity prior's rejection distance as a quantile of the real nearest-other distances (default 0.25). */
  minDistanceQuantile?: number;
  /** The rejection distance itself (overrides the quantile; tests with 2 training people). */
  minDistance?: number;
  /** Scale of the identity prior's spread (default 1: as fitted; identity-prior.ts widenPrior). */
  identitySpread?: number;
  /** KID subsets (default 100). */
  kidSubsets?: number;
  cache?: CacheOptions;
  say?: (line: string) => void;
}

/** The summary; fd ... kid_subsets are realism()'s figures (generator-metrics.ts). */
export interface GeneratorEvalSummary extends Omit<Realism, 'generated' | 'real'> {
  same_identity_verified: number;
  different_identity_rejected: number;
  same_pairs: number;
  different_pairs: number;
  same_distance_mean: number;
  different_distance_mean: number;
  real_same_verified: number;
  /** dlib's share of the split's real different-person pairs rejected (the floor of different_identity_rejected). */
  real_different_rejected: number;
  real_different_pairs: number;
  /** The same figures for the requested identity descriptors themselves (before rendering). */
  requested_different_rejected: number;
  requested_different_distance_mean: number;
  /** The identity prior's spread (identity-prior.ts widenPrior; 1: as fitted). */
  identity_spread: number;
  recognizer_same_cosine: number;
  recognizer_different_cosine: number;
  recognizer_real_same_cosine: number;
  real_same_pairs: number;
  yaw_corr: number;
  yaw_mae_deg: number;
  pitch_corr: number;
  pitch_mae_deg: number;
  expression_corr: number;
  expression_mae: number;
  expression_corr_per_component: number[];
  lighting_corr: number;
  lighting_mae: number;
  lighting_corr_per_component: number[];
  usable_images: number;
  usable_fraction: number;
  real_images: number;
  novelty_min: number;
  novelty_p05: number;
  novelty_p25: number;
  novelty_median: number;
  novelty_p75: number;
  novelty_p95: number;
  novelty_max: number;
  novelty_rejection_distance: number;
  real_nearest_other_median: number;
  identity_error_mean: number;
  ids: number;
  per_id: number;
  images: number;
  seed: number;
  weights: string;
  factors: string;
  training_people: number;
  seconds: number;
  images_per_s: number;
}

const NOVELTY_QS = [0, 0.05, 0.25, 0.5, 0.75, 0.95, 1];

/**
 * The real pairs of val-pairs.txt, the floor of the consistency figures: the recognizer's mean
 * cosine over the same-person pairs, and dlib's share of the same-person pairs verified and of
 * the different-person pairs rejected (from the factors file's descriptors, measured on the
 * same 64 px crops the generator renders).
 */
async function realPairs(
  o: EvalGeneratorOptions,
  table: FactorsTable,
  recognizer: ReturnType<typeof loadRecognizer>,
): Promise<{
  cosine: number;
  dlibVerified: number;
  pairs: number;
  dlibRejected: number;
  differentPairs: number;
}> {
  const { pairs, path: pairsPath } = readValPairs(o.split, 'eval-generator');
  const same = pairs.filter((p) => p.same);
  const different = pairs.filter((p) => !p.same);
  if (!same.length || !different.length)
    throw new Error(
      `eval-generator: ${pairsPath} has ${same.length} same-person and ${different.length} different-person pairs; both kinds are needed`,
    );
  const tableRow = new Map(table.images.map(([name, index], i) => [`${name}/${index}`, i]));
  const descriptorOf = (r: { name: string; index: number }) => {
    const i = tableRow.get(`${r.name}/${r.index}`);
    if (i === undefined)
      throw new Error(
        `eval-generator: ${o.factors} has no row for ${r.name} ${r.index} (named in ${pairsPath})`,
      );
    return table.columns.descriptor.subarray(i * 128, (i + 1) * 128);
  };
  const dlibDistance = (p: (typeof pairs)[number]) => euclideanDistance(descriptorOf(p.a), descriptorOf(p.b));
  const cached = cachedLfw(o.data, o.people, FACE_PREPROCESS, o.cache);
  const rows: number[] = [];
  const pos = new Map<number, number>();
  const at = (ref: { name: string; index: number }) => {
    const r = cached.rowOf(ref);
    if (!pos.has(r)) {
      pos.set(r, rows.length);
      rows.push(r);
    }
    return pos.get(r)!;
  };
  const ends = same.map((p) => [at(p.a), at(p.b)] as [number, number]);
  const { data, dim } = await embedRows(recognizer.backbone, cached.cache, rows, {
    input: recognizer.file.backbone.input,
    batch: 64,
    model: o.recognizer,
  });
  return {
    cosine: meanPairCosine(data, dim, ends),
    dlibVerified: same.filter((p) => dlibDistance(p) < DLIB_THRESHOLD).length / same.length,
    pairs: same.length,
    dlibRejected: different.filter((p) => !(dlibDistance(p) < DLIB_THRESHOLD)).length / different.length,
    differentPairs: different.length,
  };
}

/** Control metrics of yaw, pitch, expression and lighting over the usable images. */
function control(
  ref: GeneratorReference,
  req: ReturnType<typeof syntheticRequests>,
  m: Awaited<ReturnType<typeof measureGenerated>>,
) {
  const usable = Array.from({ length: m.count }, (_, i) => i).filter((i) => m.quality[i] === 0);
  const yawReq = usable.map((i) => req.pose[i * 3]),
    yawMeas = usable.map((i) => m.pose[i * 3]);
  const pitchReq = usable.map((i) => req.pose[i * 3 + 1]),
    pitchMeas = usable.map((i) => m.pose[i * 3 + 1]);
  const all = usable.map((_, k) => k);
  // expression: identities with 2+ usable images (the measured code is centred on their mean);
  // the requested codes centred on the same images' mean
  const k = ref.expressionModel.variances.length;
  const byId = new Map<number, number[]>();
  for (const i of usable) byId.set(req.identityOf[i], [...(byId.get(req.identityOf[i]) ?? []), i]);
  const expRows = [...byId.values()].filter((l) => l.length >= 2).flat();
  const expReq = new Float64Array(expRows.length * k),
    expMeas = new Float64Array(expRows.length * k);
  let at = 0;
  for (const list of byId.values()) {
    if (list.length < 2) continue;
    const mean = new Float64Array(k);
    for (const i of list) for (let c = 0; c < k; c++) mean[c] += req.expression[i * k + c] / list.length;
    for (const i of list) {
      for (let c = 0; c < k; c++) {
        expReq[at * k + c] = req.expression[i * k + c] - mean[c];
        expMeas[at * k + c] = m.expression[i * k + c];
      }
      at++;
    }
  }
  const expAll = expRows.map((_, j) => j).filter((j) => Number.isFinite(expMeas[j * k]));
  const lightReq = Float64Array.from(usable.flatMap((i) => [...req.lighting.subarray(i * 6, i * 6 + 6)]));
  const lightMeas = Float64Array.from(usable.flatMap((i) => [...m.lighting.subarray(i * 6, i * 6 + 6)]));
  const perComponent = (a: Float64Array, b: Float64Array, d: number, keep: number[]) =>
    Array.from({ length: d }, (_, c) =>
      pearson(
        keep.map((j) => a[j * d + c]),
        keep.map((j) => b[j * d + c]),
      ),
    );
  return {
    usable: usable.length,
    yaw_corr: pearson(yawReq, yawMeas),
    yaw_mae_deg: meanAbsError(yawReq, yawMeas, 1, all),
    pitch_corr: pearson(pitchReq, pitchMeas),
    pitch_mae_deg: meanAbsError(pitchReq, pitchMeas, 1, all),
    expression_corr: pooledCorrelation(expReq, expMeas, k, expAll),
    expression_mae: meanAbsError(expReq, expMeas, k, expAll),
    expression_corr_per_component: perComponent(expReq, expMeas, k, expAll),
    lighting_corr: pooledCorrelation(lightReq, lightMeas, 6, all),
    lighting_mae: meanAbsError(lightReq, lightMeas, 6, all),
    lighting_corr_per_component: perComponent(lightReq, lightMeas, 6, all),
  };
}

/** Everything `synface eval-generator` prints (see the header). */
export async function evaluateGenerator(o: EvalGeneratorOptions): Promise<GeneratorEvalSummary> {
  const say = o.say ?? (() => {});
  const t0 = performance.now();
  for (const [k, v] of Object.entries({ ids: o.ids, perId: o.perId }))
    if (!(Number.isInteger(v) && v >= 2))
      throw new RangeError(`eval-generator: ${k} must be an integer >= 2, got ${v}`);
  if (!existsSync(o.weights))
    throw new Error(
      `eval-generator: ${o.weights} does not exist (no generator is shipped yet: pass a run's generator.safetensors with --weights)`,
    );
  if (!existsSync(o.factors))
    throw new Error(`eval-generator: ${o.factors} does not exist (make it with synface analyze)`);
  // the analysis and the recognizer read 64x64 crops of FACE_PREPROCESS; the prior is dlib's space
  const setup = openGeneratorFromBytes(
    {
      weights: readFileSync(o.weights),
      weightsSource: o.weights,
      factors: readFileSync(o.factors),
      factorsSource: o.factors,
      heldOut: readValPeople(o.split, 'eval-generator'),
      minDistance: o.minDistance,
      minDistanceQuantile: o.minDistanceQuantile,
      identitySpread: o.identitySpread,
      resolution: FACE_PREPROCESS.out[0],
    },
    'eval-generator',
  );
  const { G, config, ref, table, nearest, prior, minDistance, identitySpread: spread } = setup;
  let recognizer: ReturnType<typeof loadRecognizer> | undefined;
  let nets: ReturnType<typeof loadFaceNets>['nets'] | undefined;
  try {
    recognizer = loadRecognizer(readFileSync(o.recognizer), o.recognizer);
    nets = loadFaceNets((table.settings.landmarks as 'full' | 'tiny') ?? 'full', { expression: false }).nets;
    const rp = recognizer.file.preprocess;
    if (!readsFaceCrops(rp))
      throw new Error(
        `eval-generator: ${o.recognizer} was trained on crops ${JSON.stringify(rp)}, the generator's images are ${JSON.stringify(FACE_PREPROCESS)}`,
      );

    // ---- identities and requests
    const req = syntheticRequests(ref.train, prior, {
      ids: o.ids,
      perId: o.perId,
      seed: o.seed,
      minDistance,
      zDim: config.zDim,
    });
    say(
      `eval-generator: ${o.ids} new identities (at least ${minDistance.toFixed(3)} from each of ${nearest.length} training people) x ${o.perId} images`,
    );

    // ---- render and measure
    const t1 = performance.now();
    const R = config.resolution;
    const pixels = await renderImages(G, req, { batch: o.batch });
    say(`eval-generator: ${req.count} images generated in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    const t2 = performance.now();
    const m = await measureGenerated(nets, pixels, R, req.identityOf, ref.expressionModel, o.batch);
    const measureSeconds = (performance.now() - t2) / 1000;
    say(
      `eval-generator: measured (dlib, landmarks, pose, lighting, expression) in ${measureSeconds.toFixed(1)} s, ${(req.count / measureSeconds).toFixed(2)} images/s`,
    );

    // ---- identity consistency
    const ic = identityConsistency(m.descriptor, 128, req.identityOf);
    const requested = identityConsistency(
      req.identities,
      128,
      Array.from({ length: o.ids }, (_, id) => id),
    );
    const cache: ImageCache = {
      count: req.count,
      C: 3,
      H: R,
      W: R,
      labels: Int32Array.from(req.identityOf),
      pixels,
    };
    const rows = Array.from({ length: req.count }, (_, i) => i);
    const emb = await embedRows(recognizer.backbone, cache, rows, {
      input: recognizer.file.backbone.input,
      batch: 64,
      model: o.recognizer,
    });
    const samePairs = sameIdentityPairs(req.identityOf);
    // different-identity pairs for the recognizer: image i against the same slot of the next identity
    const diffPairs = rows
      .filter((i) => i + o.perId < req.count)
      .map((i) => [i, i + o.perId] as [number, number]);
    const real = await realPairs(o, table, recognizer);

    // ---- realism and novelty
    const re = realism(m.descriptor, ref.heldOut.descriptor, 128, { seed: o.seed, kidSubsets: o.kidSubsets });
    // fd ... kid_subsets in realism()'s order; its counts are reported as images and real_images
    const { generated: _generated, real: _real, ...realismFigures } = re;
    const novelty: number[] = [],
      identityError: number[] = [];
    for (let id = 0; id < o.ids; id++) {
      const mean = new Float64Array(128);
      for (let j = 0; j < o.perId; j++)
        for (let d = 0; d < 128; d++) mean[d] += m.descriptor[(id * o.perId + j) * 128 + d] / o.perId;
      novelty.push(nearestPersonDistance(prior, mean));
      identityError.push(euclideanDistance(mean, req.identities.subarray(id * 128, (id + 1) * 128)));
    }
    const nq = quantiles(novelty, NOVELTY_QS);
    const c = control(ref, req, m);
    const seconds = (performance.now() - t0) / 1000;
    return {
      same_identity_verified: ic.sameVerified,
      different_identity_rejected: ic.differentRejected,
      same_pairs: ic.samePairs,
      different_pairs: ic.differentPairs,
      same_distance_mean: ic.sameDistanceMean,
      different_distance_mean: ic.differentDistanceMean,
      real_same_verified: real.dlibVerified,
      real_different_rejected: real.dlibRejected,
      real_different_pairs: real.differentPairs,
      requested_different_rejected: requested.differentRejected,
      requested_different_distance_mean: requested.differentDistanceMean,
      identity_spread: spread,
      recognizer_same_cosine: meanPairCosine(emb.data, emb.dim, samePairs),
      recognizer_different_cosine: meanPairCosine(emb.data, emb.dim, diffPairs),
      recognizer_real_same_cosine: real.cosine,
      real_same_pairs: real.pairs,
      yaw_corr: c.yaw_corr,
      yaw_mae_deg: c.yaw_mae_deg,
      pitch_corr: c.pitch_corr,
      pitch_mae_deg: c.pitch_mae_deg,
      expression_corr: c.expression_corr,
      expression_mae: c.expression_mae,
      expression_corr_per_component: c.expression_corr_per_component,
      lighting_corr: c.lighting_corr,
      lighting_mae: c.lighting_mae,
      lighting_corr_per_component: c.lighting_corr_per_component,
      usable_images: c.usable,
      usable_fraction: c.usable / req.count,
      ...realismFigures,
      real_images: re.real,
      novelty_min: nq[0],
      novelty_p05: nq[1],
      novelty_p25: nq[2],
      novelty_median: nq[3],
      novelty_p75: nq[4],
      novelty_p95: nq[5],
      novelty_max: nq[6],
      novelty_rejection_distance: minDistance,
      real_nearest_other_median: quantiles(nearest, [0.5])[0],
      identity_error_mean: identityError.reduce((a, b) => a + b, 0) / identityError.length,
      ids: o.ids,
      per_id: o.perId,
      images: req.count,
      seed: o.seed,
      weights: o.weights,
      factors: o.factors,
      training_people: nearest.length,
      seconds,
      images_per_s: req.count / seconds,
    };
  } finally {
    G.dispose();
    recognizer?.backbone.dispose();
    for (const n of Object.values(nets ?? {})) n?.dispose();
  }
}
