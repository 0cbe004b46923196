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
import type { ImageCache } from './image-cache.js';
import { imagePath, type LfwImageRef } from './lfw-pairs.js';
import { buildImageCache, loadIdentityFolders, loadLfwPeople, readImageCache, type LfwDataset } from './node-dataset.js';
import type { DatasetItem, FolderDataset } from './folder-dataset.js';
import type { CropOptions, Preprocess } from './preprocess.js';
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

interface Cached {
  cache: ImageCache;
  paths: string[];
  cachePath: string;
  bad: { path: string; error: string }[];
}

/**
 * The cache of `items` (decoded, aligned with `crop`): read when a cache with this `key` exists,
 * built (once) otherwise. `what` names the data in messages.
 */
function cacheItems(items: readonly DatasetItem[], imageRoot: string, crop: CropOptions, key: string, what: string, options: CacheOptions): Cached {
  const log = options.log ?? (() => {});
  const dir = options.cacheDir ?? defaultCacheDir();
  mkdirSync(dir, { recursive: true });
  const cachePath = join(dir, `${key}.sfic`);
  const listPath = `${cachePath}.json`;
  if (existsSync(cachePath) && existsSync(listPath)) {
    const cache = readImageCache(cachePath);
    const paths = JSON.parse(readFileSync(listPath, 'utf8')).paths;
    if (!Array.isArray(paths) || paths.length !== cache.count) throw new Error(`${listPath}: lists ${paths?.length} images, the cache ${cachePath} holds ${cache.count}; delete both to rebuild`);
    log(`images: ${cache.count} from the cache ${cachePath}`);
    return { cache, paths, cachePath, bad: [] };
  }
  log(`images: decoding ${items.length} images of ${what} into ${cachePath} (once) ...`);
  const built = buildImageCache(items, { root: imageRoot, ...crop, skipBad: true }, cachePath);
  if (built.bad.length) log(`images: skipped ${built.bad.length} undecodable files, e.g. ${built.bad[0].path}: ${built.bad[0].error}`);
  const paths = built.items.map((it) => it.path);
  writeFileAtomic(listPath, new TextEncoder().encode(JSON.stringify({ what, crop, paths })));
  log(`images: ${built.count} decoded, ${built.msPerImage.toFixed(1)} ms each`);
  return { cache: readImageCache(cachePath), paths, cachePath, bad: built.bad };
}

export interface CacheOptions {
  cacheDir?: string;
  log?: (s: string) => void;
}

const sha1 = (...parts: string[]) => createHash('sha1').update(parts.join('\0')).digest('hex').slice(0, 12);

export function cachedLfw(root: string, peopleFile: string, preprocess: Preprocess, options: CacheOptions = {}): CachedLfw {
  const layout = readLayout(root);
  const crop = cropFor(layout, preprocess, join(root, 'dataset.json'));
  const dataset = loadLfwPeople(root, peopleFile, { extension: layout.extension });
  const peopleText = readFileSync(join(root, peopleFile), 'utf8');
  const key = `lfw-${sha1(realpathSync(root), peopleText, JSON.stringify(layout === LFW_LAYOUT ? preprocess : [preprocess, layout]))}`;
  const { cache, paths, cachePath, bad } = cacheItems(dataset.items, dataset.imageRoot, crop, key, join(root, peopleFile), options);
  const rows = new Map(paths.map((p, i) => [p, i]));
  const rowOf = (ref: LfwImageRef) => {
    const r = rows.get(imagePath(ref.name, ref.index, layout.extension));
    if (r === undefined) throw new Error(`image ${imagePath(ref.name, ref.index, layout.extension)} is not among the ${paths.length} images of ${join(root, peopleFile)}`);
    return r;
  };
  return { dataset, cache, paths, rowOf, cachePath, bad };
}

/** A folder-per-identity dataset (loadIdentityFolders), cached like cachedLfw; labels are the sorted identities. */
export function cachedIdentityFolders(root: string, preprocess: Preprocess, options: CacheOptions = {}): Cached & { dataset: FolderDataset } {
  const dataset = loadIdentityFolders(root);
  if (dataset.ignored.length) (options.log ?? (() => {}))(`images: ${dataset.ignored.length} entries of ${root} are not images in identity folders, e.g. ${dataset.ignored[0]}`);
  const layout = readLayout(root); // a dataset.json may say the images are pre-aligned
  const crop = cropFor(layout, preprocess, join(root, 'dataset.json'));
  const key = `folders-${sha1(realpathSync(root), dataset.items.map((i) => i.path).join('\n'), JSON.stringify([preprocess, layout]))}`;
  return { ...cacheItems(dataset.items, root, crop, key, root, options), dataset };
}
