/**
 * The generator and what it is sampled with, from bytes (no Node imports: `synface generate`,
 * `synface synthesize` and the browser page open it the same way). The training people (the
 * factors file minus the split's validation people, quality 0) give the identity prior, the
 * factor draws and the allowed ranges, as in the training run; generate.ts's openGenerator
 * reads the three files and calls openGeneratorFromBytes.
 */
import { loadGenerator } from '../models/generator/weights.js';
import type { FaceGenerator } from '../models/generator/generator.js';
import type { GeneratorConfig } from '../models/generator/config.js';
import {
  fitIdentityPrior,
  peopleNearestDistances,
  widenPrior,
  type IdentityPrior,
} from '../models/generator/identity-prior.js';
import { decodeFactors, type FactorsTable } from '../face/factors-file.js';
import { generatorReference, type GeneratorReference } from './generator-samples.js';
import { quantiles } from './generator-metrics.js';

export interface GeneratorSetup {
  G: FaceGenerator;
  config: GeneratorConfig;
  ref: GeneratorReference;
  /** The factors file as decoded (its settings, every image's row). */
  table: FactorsTable;
  /** Each training person's distance to the nearest other (their mean descriptors). */
  nearest: Float64Array;
  /** The identity prior, widened by identitySpread. */
  prior: IdentityPrior;
  minDistance: number;
  identitySpread: number;
  /** The weights file's info (its run: step, kimg, command ...). */
  info: Record<string, unknown>;
}

export interface GeneratorBytes {
  /** A generator weights file (synface-generator/1) and its name for errors. */
  weights: Uint8Array;
  weightsSource: string;
  /** An analyze factors file and its name for errors. */
  factors: Uint8Array;
  factorsSource: string;
  /** The split's validation people: left out of the priors. */
  heldOut: ReadonlySet<string>;
  /** The identity prior's rejection distance (default: the minDistanceQuantile of the training people's nearest-other distances). */
  minDistance?: number;
  /** The quantile of those distances that is the default minDistance (0.25). */
  minDistanceQuantile?: number;
  /** The image size the caller needs, when it needs one (a generator of another is refused by name). */
  resolution?: number;
  /** Scale of the identity prior's spread (default 1: as fitted; identity-prior.ts widenPrior). */
  identitySpread?: number;
}

/**
 * The generator, the training rows of the factors file and the identity prior fitted to them,
 * every input checked (errors name the command and the file). The caller disposes `G`.
 */
export function openGeneratorFromBytes(o: GeneratorBytes, command: string): GeneratorSetup {
  const table = decodeFactors(o.factors, o.factorsSource);
  const ref = generatorReference(table, o.heldOut, o.factorsSource);
  // the identity prior is in dlib's space, the lighting code analyze's 6 numbers
  const {
    generator: G,
    config,
    info,
  } = loadGenerator(o.weights, o.weightsSource, {
    descriptorDim: 128,
    lightDim: 6,
    ...(o.resolution === undefined ? {} : { resolution: o.resolution }),
  });
  try {
    const k = ref.expressionModel.variances.length;
    if (config.expDim !== k)
      throw new Error(
        `${command}: ${o.weightsSource} takes ${config.expDim} expression components, ${o.factorsSource} has ${k}: the weights were trained on another factors file`,
      );
    const identitySpread = o.identitySpread ?? 1;
    const fitted = fitIdentityPrior(ref.train.descriptor, ref.person, config.descriptorDim);
    const nearest = peopleNearestDistances(fitted);
    const minDistance = o.minDistance ?? quantiles(nearest, [o.minDistanceQuantile ?? 0.25])[0];
    const prior = widenPrior(fitted, identitySpread);
    return { G, config, ref, table, nearest, prior, minDistance, identitySpread, info };
  } catch (e) {
    G.dispose();
    throw e;
  }
}
