/**
 * `synface generate`'s work (Node: reads the weights, the factors file and the split; writes
 * the PNG): one image or a grid from a seed and explicit or sampled factors
 * (generator-requests.ts). The training people (the factors file minus the split's validation
 * people, quality 0) give the identity prior, the factor draws and the allowed ranges, as in
 * the training run. Every check runs before anything is written: on an error no file is
 * created or replaced.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readValPeople } from '../data/split-files.js';
import { decodeFactors } from '../face/factors-file.js';
import { loadGenerator } from '../models/generator/weights.js';
import type { FaceGenerator } from '../models/generator/generator.js';
import type { GeneratorConfig } from '../models/generator/config.js';
import {
  fitIdentityPrior,
  peopleNearestDistances,
  type IdentityPrior,
} from '../models/generator/identity-prior.js';
import { tileImages } from '../plot/histogram.js';
import { writePng } from '../plot/png-node.js';
import type { RgbaImage } from '../plot/raster.js';
import { generatorReference, renderImages, type GeneratorReference } from './generator-samples.js';
import { gridRequests, type GenerateRequest } from './generator-requests.js';
import { quantiles } from './generator-metrics.js';

export interface GenerateOptions extends GenerateRequest {
  weights: string;
  factors: string;
  /** Folder of val-people.txt (left out of the priors). */
  split: string;
  out: string;
  /** The identity prior's rejection distance (default: the 25th percentile of the training people's nearest-other distances). */
  minDistance?: number;
}

/** Image `offset` of u8 CHW RGB pixels (R x R) as RGBA. */
export function u8ToRgba(pixels: Uint8Array, offset: number, R: number): RgbaImage {
  const rgba = new Uint8Array(R * R * 4);
  for (let p = 0; p < R * R; p++) {
    for (let c = 0; c < 3; c++) rgba[p * 4 + c] = pixels[offset + c * R * R + p];
    rgba[p * 4 + 3] = 255;
  }
  return { width: R, height: R, rgba };
}

export interface GeneratorSetup {
  G: FaceGenerator;
  config: GeneratorConfig;
  ref: GeneratorReference;
  prior: IdentityPrior;
  minDistance: number;
}

/**
 * The generator, the training rows of the factors file (minus the split's validation people)
 * and the identity prior fitted to them, every file checked (errors name the command and the
 * file). The caller disposes `G`.
 */
export function openGenerator(
  o: { weights: string; factors: string; split: string; minDistance?: number },
  command: string,
): GeneratorSetup {
  for (const [what, path] of [
    ['weights', o.weights],
    ['factors file', o.factors],
  ])
    if (!existsSync(path))
      throw new Error(
        `${command}: the ${what} ${path} does not exist` +
          (what === 'weights'
            ? " (no generator is shipped yet: pass a run's generator.safetensors with --weights)"
            : ' (make it with synface analyze)'),
      );
  const heldOut = readValPeople(o.split, command);
  const ref = generatorReference(decodeFactors(readFileSync(o.factors), o.factors), heldOut, o.factors);
  // the identity prior is in dlib's space, the lighting code analyze's 6 numbers
  const { generator: G, config } = loadGenerator(readFileSync(o.weights), o.weights, {
    descriptorDim: 128,
    lightDim: 6,
  });
  try {
    const k = ref.expressionModel.variances.length;
    if (config.expDim !== k)
      throw new Error(
        `${command}: ${o.weights} takes ${config.expDim} expression components, ${o.factors} has ${k}: the weights were trained on another factors file`,
      );
    const prior = fitIdentityPrior(ref.train.descriptor, ref.person, config.descriptorDim);
    const minDistance = o.minDistance ?? quantiles(peopleNearestDistances(prior), [0.25])[0];
    return { G, config, ref, prior, minDistance };
  } catch (e) {
    G.dispose();
    throw e;
  }
}

/** Renders the request and writes `out` (PNG); returns the image. */
export async function generateFaces(o: GenerateOptions): Promise<{ image: RgbaImage; out: string }> {
  const { G, config, ref, prior, minDistance } = openGenerator(o, 'generate');
  try {
    const req = gridRequests(o, ref.train, prior, minDistance, config);
    const pixels = await renderImages(G, req, { noiseSeed: o.seed + 3 });
    const R = config.resolution;
    const tiles = Array.from({ length: req.count }, (_, i) => u8ToRgba(pixels, i * 3 * R * R, R));
    const image = tileImages(tiles, o.columns);
    writePng(o.out, image);
    return { image, out: o.out };
  } finally {
    G.dispose();
  }
}
