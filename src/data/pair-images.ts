/**
 * The images a pairs file names, decoded and aligned in memory (no cache file): what
 * `synface eval` embeds, and the validation set of a training run whose data is elsewhere.
 * `data` is an LFW-layout folder (images/ inside, or the person folders themselves), with an
 * optional dataset.json (layout.ts). Node only.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage } from './decode-image.js';
import type { ImageCache } from './image-cache.js';
import { cropFor } from './layout.js';
import { readLayout } from './lfw-cache.js';
import { imagePath, type LfwImageRef, type LfwPair } from './lfw-pairs.js';
import { toUint8CHW, type Preprocess } from './preprocess.js';

/** `images/` when the folder has one, else the folder itself. */
export function imageRoot(data: string): string {
  if (!existsSync(data) || !statSync(data).isDirectory()) throw new Error(`${data} is not a directory`);
  const images = join(data, 'images');
  return existsSync(images) && statSync(images).isDirectory() ? images : data;
}

export interface PairImages {
  cache: ImageCache;
  rowOf(ref: LfwImageRef): number;
  seconds: number;
}

export function loadPairImages(
  data: string,
  pairs: readonly LfwPair[],
  preprocess: Preprocess,
  source: string,
): PairImages {
  const root = imageRoot(data);
  const layout = readLayout(data);
  const crop = cropFor(layout, preprocess, join(data, 'dataset.json'));
  const files = new Set<string>();
  for (const p of pairs) for (const r of [p.a, p.b]) files.add(imagePath(r.name, r.index, layout.extension));
  const [H, W] = preprocess.out;
  const size = 3 * H * W;
  const pixels = new Uint8Array(files.size * size);
  const rows = new Map<string, number>();
  const t0 = performance.now();
  for (const rel of files) {
    const path = join(root, rel);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw new Error(
        `${source} names ${rel}, but ${path} cannot be read (${(e as NodeJS.ErrnoException).code})`,
      );
    }
    pixels.set(toUint8CHW(decodeImage(bytes, path), crop, path), rows.size * size); // errors name the file
    rows.set(rel, rows.size);
  }
  const cache: ImageCache = { count: rows.size, C: 3, H, W, labels: new Int32Array(rows.size), pixels };
  return {
    cache,
    rowOf: (r) => rows.get(imagePath(r.name, r.index, layout.extension))!,
    seconds: (performance.now() - t0) / 1000,
  };
}
