/**
 * LFW-layout data, decoded and aligned once: the images of a people file, centre-cropped and
 * resized (preprocess.ts), kept in one binary cache file (image-cache.ts) beside a JSON list of
 * the images it holds, so later runs read one file instead of decoding thousands of JPEGs.
 * The cache's name hashes the data folder, the people file and the preprocessing, so a change
 * of any of them builds a new one. Node only.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/node-files.js';
import type { Preprocess } from '../models/recognizer-weights.js';
import type { ImageCache } from './image-cache.js';
import { imagePath, type LfwImageRef } from './lfw-pairs.js';
import { buildImageCache, loadLfwPeople, readImageCache, type LfwDataset } from './node-dataset.js';
import { cropFor, LFW_LAYOUT, parseLayout, type DatasetLayout } from './layout.js';

/** The folder's dataset.json (layout.ts), or LFW's own layout when there is none. */
export function readLayout(root: string): DatasetLayout {
  const path = join(root, 'dataset.json');
  return existsSync(path) ? parseLayout(readFileSync(path, 'utf8'), path) : LFW_LAYOUT;
}

export interface CachedLfw {
  dataset: LfwDataset;
  cache: ImageCache;
  /** Paths (`Name/Name_0001.jpg`) of the cache's rows. */
  paths: string[];
  /** Cache row of an image; throws naming the image when it is not in the data. */
  rowOf(ref: LfwImageRef): number;
  cachePath: string;
  /** Undecodable files skipped while building (empty when read from the cache). */
  bad: { path: string; error: string }[];
}

export function defaultCacheDir(): string {
  return process.env.SYNFACE_CACHE ?? join(homedir(), '.cache', 'synface-gpu');
}

export function cachedLfw(root: string, peopleFile: string, preprocess: Preprocess, options: { cacheDir?: string; log?: (s: string) => void } = {}): CachedLfw {
  const log = options.log ?? (() => {});
  const layout = readLayout(root);
  const crop = cropFor(layout, preprocess, join(root, 'dataset.json'));
  const dataset = loadLfwPeople(root, peopleFile, { extension: layout.extension });
  const peopleText = readFileSync(join(root, peopleFile), 'utf8');
  const hash = createHash('sha1').update(realpathSync(root)).update('\0').update(peopleText).update('\0').update(JSON.stringify(layout === LFW_LAYOUT ? preprocess : [preprocess, layout])).digest('hex').slice(0, 12);
  const dir = options.cacheDir ?? defaultCacheDir();
  mkdirSync(dir, { recursive: true });
  const cachePath = join(dir, `lfw-${hash}.sfic`);
  const listPath = `${cachePath}.json`;
  let bad: { path: string; error: string }[] = [];
  let paths: string[];
  let cache: ImageCache;
  if (existsSync(cachePath) && existsSync(listPath)) {
    cache = readImageCache(cachePath);
    paths = JSON.parse(readFileSync(listPath, 'utf8')).paths;
    if (!Array.isArray(paths) || paths.length !== cache.count) throw new Error(`${listPath}: lists ${paths?.length} images, the cache ${cachePath} holds ${cache.count}; delete both to rebuild`);
    log(`images: ${cache.count} from the cache ${cachePath}`);
  } else {
    log(`images: decoding ${dataset.items.length} JPEGs of ${join(root, peopleFile)} into ${cachePath} (once) ...`);
    const built = buildImageCache(dataset.items, { root: dataset.imageRoot, ...crop, skipBad: true }, cachePath);
    bad = built.bad;
    if (bad.length) log(`images: skipped ${bad.length} undecodable files, e.g. ${bad[0].path}: ${bad[0].error}`);
    paths = built.items.map((it) => it.path);
    writeFileAtomic(listPath, new TextEncoder().encode(JSON.stringify({ root, peopleFile, preprocess, paths })));
    cache = readImageCache(cachePath);
    log(`images: ${cache.count} decoded, ${built.msPerImage.toFixed(1)} ms each`);
  }
  const rows = new Map(paths.map((p, i) => [p, i]));
  const rowOf = (ref: LfwImageRef) => {
    const r = rows.get(imagePath(ref.name, ref.index, layout.extension));
    if (r === undefined) throw new Error(`image ${imagePath(ref.name, ref.index, layout.extension)} is not among the ${paths.length} images of ${join(root, peopleFile)}`);
    return r;
  };
  return { dataset, cache, paths, rowOf, cachePath, bad };
}
