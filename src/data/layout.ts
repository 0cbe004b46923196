/**
 * How the images of an LFW-layout folder are stored, from an optional `dataset.json` beside
 * `images/` (no file: LFW's own, deep-funneled 250x250 JPEGs):
 *
 *   { "extension": "png", "aligned": { "crop": [112, 112], "out": [64, 64] } }
 *
 * `aligned` says the images were already centre-cropped and resized that way (the embedded
 * sample is stored like this): they are used as they are, every one exactly `out` in size (an
 * image of another size is an error, not a crop), and only a model with the same
 * preprocessing can read them.
 */
import type { CropOptions, Preprocess } from './preprocess.js';

export interface DatasetLayout {
  extension: string;
  aligned: Preprocess | null;
}

export const LFW_LAYOUT: DatasetLayout = { extension: 'jpg', aligned: null };

const pair = (v: unknown) =>
  Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x) && x > 0);

export function parseLayout(text: string, source: string): DatasetLayout {
  let j: { extension?: unknown; aligned?: { crop?: unknown; out?: unknown } | null };
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON: ${(e as Error).message}`);
  }
  const extension = j.extension ?? 'jpg';
  if (typeof extension !== 'string' || !/^[a-z0-9]+$/i.test(extension))
    throw new Error(`${source}: "extension" ${JSON.stringify(extension)} is not a file extension`);
  const a = j.aligned ?? null;
  if (a !== null && !(pair(a.crop) && pair(a.out)))
    throw new Error(`${source}: "aligned" needs "crop" and "out", each [h, w] positive integers`);
  return { extension, aligned: a && { crop: a.crop as [number, number], out: a.out as [number, number] } };
}

/**
 * The crop options that turn this folder's images into `preprocess`'s input: the preprocessing
 * itself for raw LFW images, nothing (a crop of the whole image at its size) for aligned ones,
 * whose images must then be exactly that size (`size`: another size is an error naming the file).
 */
export function cropFor(layout: DatasetLayout, preprocess: Preprocess, source: string): CropOptions {
  if (!layout.aligned) return { crop: preprocess.crop, out: preprocess.out, channels: 3 };
  if (JSON.stringify(layout.aligned) !== JSON.stringify({ crop: preprocess.crop, out: preprocess.out })) {
    throw new Error(
      `${source}: images are aligned as ${JSON.stringify(layout.aligned)}, the model needs ${JSON.stringify(preprocess)}`,
    );
  }
  return { crop: preprocess.out, out: preprocess.out, channels: 3, size: preprocess.out };
}
