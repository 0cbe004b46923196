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
import { tileImages } from '../plot/histogram.js';
import { writePng } from '../plot/png-node.js';
import type { RgbaImage } from '../plot/raster.js';
import { renderImages } from './generator-samples.js';
import { gridRequests, type GenerateRequest } from './generator-requests.js';
import { openGeneratorFromBytes, type GeneratorSetup } from './generator-setup.js';

export interface GenerateOptions extends GenerateRequest {
  weights: string;
  factors: string;
  /** Folder of val-people.txt (left out of the priors). */
  split: string;
  out: string;
  /** The identity prior's rejection distance (default: the 25th percentile of the training people's nearest-other distances). */
  minDistance?: number;
  /** Scale of the identity prior's spread (default 1). */
  identitySpread?: number;
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

export type { GeneratorSetup } from './generator-setup.js';

/**
 * openGeneratorFromBytes (generator-setup.ts) on the three files, each checked to exist first
 * (errors name the command and the file). The caller disposes `G`.
 */
export function openGenerator(
  o: { weights: string; factors: string; split: string; minDistance?: number; identitySpread?: number },
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
  return openGeneratorFromBytes(
    {
      weights: readFileSync(o.weights),
      weightsSource: o.weights,
      factors: readFileSync(o.factors),
      factorsSource: o.factors,
      heldOut,
      minDistance: o.minDistance,
      identitySpread: o.identitySpread,
    },
    command,
  );
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
