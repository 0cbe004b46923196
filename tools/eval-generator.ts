/**
 * `synface eval-generator [--weights W] [--ids 200] [--per-id 10] [--seed S] [--json]`
 *
 * The face generator judged on synthetic identities it never saw (src/eval/evaluate-generator.ts):
 * identity consistency (dlib on every pair; the shipped recognizer's mean cosine beside its mean
 * on real same-person validation pairs), factor control (requested vs measured yaw, pitch,
 * expression and lighting codes), realism (FD and KID in dlib's descriptor space against the
 * held-out people's faces, with the real-vs-real floor) and identity novelty. `--json` prints
 * one object (fractions, not percents); progress goes to stderr then.
 */
import { evaluateGenerator, type GeneratorEvalSummary } from '../src/eval/evaluate-generator.js';
import { shippedGeneratorPath, shippedRecognizerPath } from '../src/io/package-files.js';
import { parseArgs, usage, type OptionSpec } from './args.js';
import { LFW_FACTORS } from './train-generator.js';
import { PRIOR_OPTIONS, priorChoice } from './generate.js';

const SPEC: Record<string, OptionSpec> = {
  weights: { type: 'string', help: 'generator weights (default: the shipped weights/generator.safetensors)' },
  ids: { type: 'number', help: 'synthetic identities', default: 200, int: true, min: 2 },
  'per-id': { type: 'number', help: 'images per identity', default: 10, int: true, min: 2 },
  seed: { type: 'number', help: 'seed of identities, factors and z', default: 0, int: true, min: 0 },
  factors: {
    type: 'string',
    help: "the data's analyze file (priors, ranges, held-out real faces)",
    default: LFW_FACTORS,
  },
  data: {
    type: 'string',
    help: 'LFW-layout folder (real validation pairs)',
    default: '../shared/data/lfw-devtrain',
  },
  people: { type: 'string', help: 'people file inside --data', default: 'peopleDevTrain.txt' },
  split: { type: 'string', help: 'folder of val-people.txt and val-pairs.txt', default: 'weights/split' },
  recognizer: { type: 'string', help: 'recognizer weights (default: the shipped one)' },
  'min-distance': PRIOR_OPTIONS['min-distance'],
  'identity-spread': PRIOR_OPTIONS['identity-spread'],
  batch: { type: 'number', help: 'images per forward pass', default: 16, int: true, min: 1 },
  'kid-subsets': {
    type: 'number',
    help: 'random subsets the KID is averaged over',
    default: 100,
    int: true,
    min: 1,
  },
  json: { type: 'flag', help: 'print one JSON object' },
  help: { type: 'flag', help: 'this text' },
};

export async function evalGeneratorCommand(args: string[]): Promise<number> {
  const o = parseArgs('eval-generator', args, SPEC);
  if (o.help) {
    console.log(usage('eval-generator', 'The face generator judged on unseen synthetic identities.', SPEC));
    return 0;
  }
  const say = o.json ? (s: string) => console.error(s) : (s: string) => console.log(s);
  const s = await evaluateGenerator({
    weights: o.weights ? String(o.weights) : shippedGeneratorPath(),
    factors: String(o.factors),
    data: String(o.data),
    people: String(o.people),
    split: String(o.split),
    recognizer: o.recognizer ? String(o.recognizer) : shippedRecognizerPath(),
    ids: Number(o.ids),
    perId: Number(o['per-id']),
    seed: Number(o.seed),
    batch: Number(o.batch),
    kidSubsets: Number(o['kid-subsets']),
    ...priorChoice(o),
    say,
  });
  if (o.json) console.log(JSON.stringify(s));
  else console.log(formatSummary(s));
  return 0;
}

/** The human-readable table. */
export function formatSummary(s: GeneratorEvalSummary): string {
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const f = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : String(v));
  const row = (name: string, value: string, note = '') =>
    `  ${name.padEnd(31)} ${value.padEnd(15)} ${note}`.trimEnd();
  return [
    `${s.weights}: ${s.ids} unseen identities x ${s.per_id} images (seed ${s.seed}), ${s.usable_images} usable to the face analysis (${pct(s.usable_fraction)})`,
    'identity consistency',
    row(
      'same identity verified (dlib)',
      pct(s.same_identity_verified),
      `${s.same_pairs} pairs, distance < 0.6; real val pairs ${pct(s.real_same_verified)}`,
    ),
    row(
      'different identity rejected',
      pct(s.different_identity_rejected),
      `${s.different_pairs} pairs; requested descriptors ${pct(s.requested_different_rejected)} (spread ${s.identity_spread}), real val pairs ${pct(s.real_different_rejected)}`,
    ),
    row(
      'dlib distance same / different',
      `${f(s.same_distance_mean)} / ${f(s.different_distance_mean)}`,
      `requested identities ${f(s.requested_different_distance_mean)} apart`,
    ),
    row(
      'recognizer same cosine',
      f(s.recognizer_same_cosine),
      `real same-person pairs ${f(s.recognizer_real_same_cosine)} (${s.real_same_pairs})`,
    ),
    row('recognizer different cosine', f(s.recognizer_different_cosine)),
    'factor control (requested vs measured)',
    row('yaw', `r ${f(s.yaw_corr)}`, `mean error ${f(s.yaw_mae_deg, 1)} deg`),
    row('pitch', `r ${f(s.pitch_corr)}`, `mean error ${f(s.pitch_mae_deg, 1)} deg`),
    row('expression code', `r ${f(s.expression_corr)}`, `mean error ${f(s.expression_mae)}`),
    row('lighting code', `r ${f(s.lighting_corr)}`, `mean error ${f(s.lighting_mae)}`),
    `realism (dlib descriptors vs ${s.real_images} held-out real faces)`,
    row(
      'Frechet distance',
      f(s.fd, 4),
      `real vs real floor ${f(s.fd_real_floor, 4)} (${s.fd_sample} vs ${s.fd_sample})`,
    ),
    row(
      'KID',
      f(s.kid, 5),
      `+- ${f(s.kid_std, 5)}; floor ${f(s.kid_real_floor, 5)} (${s.kid_subsets} subsets of ${s.kid_subset})`,
    ),
    'identity novelty (distance of an identity to the nearest training person)',
    row(
      'min / median / max',
      `${f(s.novelty_min)} / ${f(s.novelty_median)} / ${f(s.novelty_max)}`,
      `5th..95th ${f(s.novelty_p05)} .. ${f(s.novelty_p95)}; rejection ${f(s.novelty_rejection_distance)}, real people's nearest other ${f(s.real_nearest_other_median)} (median)`,
    ),
    row('requested vs measured identity', f(s.identity_error_mean), 'mean distance'),
    `${s.images} images in ${s.seconds.toFixed(1)} s (${s.images_per_s.toFixed(2)} images/s overall)`,
  ].join('\n');
}
