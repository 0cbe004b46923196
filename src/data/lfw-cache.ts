/**
 * LFW-layout data, decoded and aligned once: the images of a people file, centre-cropped and
 * resized (preprocess.ts), kept in one binary cache file (image-cache.ts) beside a manifest of
 * the files it holds (cache-entry.ts), so later runs read one file instead of decoding thousands
 * of JPEGs. The entry's name hashes the data folder, the people file (LFW layout) and the
 * preprocessing, so a change of any of them makes a new entry; a changed, added or removed image
 * file updates the entry, decoding only what changed (cache-entry.ts). Node only.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ImageCache } from './image-cache.js';
import { imagePath, type LfwImageRef } from './lfw-pairs.js';
import { loadIdentityFolders, loadLfwPeople, type LfwDataset } from './node-dataset.js';
import { updateCacheEntry, type SkippedImage } from './cache-entry.js';
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
  /** Cache row of an image; throws naming the image when it is not in the data or was skipped. */
  rowOf(ref: LfwImageRef): number;
  /** The image's entry in `bad` when it could not be decoded, else undefined. */
  skippedOf(ref: LfwImageRef): SkippedImage | undefined;
  cachePath: string;
  /** Undecodable files, left out of the cache's rows (known on every run, built or read). */
  bad: SkippedImage[];
}

export function defaultCacheDir(): string {
  return process.env.SYNFACE_CACHE ?? join(homedir(), '.cache', 'synface-gpu');
}

export interface Cached {
  cache: ImageCache;
  paths: string[];
  cachePath: string;
  bad: SkippedImage[];
}

/** The cache entry `key` of `items` (decoded, aligned with `crop`), up to date; `what` names the data in messages. */
export function cacheItems(
  items: readonly DatasetItem[],
  imageRoot: string,
  crop: CropOptions,
  key: string,
  what: string,
  options: CacheOptions,
): Cached {
  const dir = options.cacheDir ?? defaultCacheDir();
  mkdirSync(dir, { recursive: true });
  const e = updateCacheEntry(
    items,
    imageRoot,
    crop,
    join(dir, `${key}.sfic`),
    what,
    options.log ?? (() => {}),
  );
  return { cache: e.cache, paths: e.paths, cachePath: e.cachePath, bad: e.skipped };
}

export interface CacheOptions {
  cacheDir?: string;
  log?: (s: string) => void;
}

const sha1 = (...parts: string[]) => createHash('sha1').update(parts.join('\0')).digest('hex').slice(0, 12);

export function cachedLfw(
  root: string,
  peopleFile: string,
  preprocess: Preprocess,
  options: CacheOptions = {},
): CachedLfw {
  const layout = readLayout(root);
  const crop = cropFor(layout, preprocess, join(root, 'dataset.json'));
  const dataset = loadLfwPeople(root, peopleFile, { extension: layout.extension });
  const peopleText = readFileSync(join(root, peopleFile), 'utf8');
  const key = `lfw-${sha1(realpathSync(root), peopleText, JSON.stringify(layout === LFW_LAYOUT ? preprocess : [preprocess, layout]))}`;
  const { cache, paths, cachePath, bad } = cacheItems(
    dataset.items,
    dataset.imageRoot,
    crop,
    key,
    join(root, peopleFile),
    options,
  );
  const rows = new Map(paths.map((p, i) => [p, i]));
  const skipped = new Map(bad.map((b) => [b.path, b]));
  const skippedOf = (ref: LfwImageRef) => skipped.get(imagePath(ref.name, ref.index, layout.extension));
  const rowOf = (ref: LfwImageRef) => {
    const path = imagePath(ref.name, ref.index, layout.extension);
    const r = rows.get(path);
    if (r !== undefined) return r;
    const b = skipped.get(path);
    if (b) throw new Error(`image ${b.file} could not be decoded (${b.error}); it is left out of the cache`);
    throw new Error(
      `image ${path} is not among the ${paths.length + bad.length} images of ${join(root, peopleFile)}`,
    );
  };
  return { dataset, cache, paths, rowOf, skippedOf, cachePath, bad };
}

/**
 * A folder-per-identity dataset (loadIdentityFolders), cached like cachedLfw; labels are the sorted
 * identities. The entry's name leaves the file list out: added and removed files update the entry.
 */
export function cachedIdentityFolders(
  root: string,
  preprocess: Preprocess,
  options: CacheOptions = {},
): Cached & { dataset: FolderDataset } {
  const dataset = loadIdentityFolders(root);
  if (dataset.ignored.length)
    (options.log ?? (() => {}))(
      `images: ${dataset.ignored.length} entries of ${root} are not images in identity folders, e.g. ${dataset.ignored[0]}`,
    );
  const layout = readLayout(root); // a dataset.json may say the images are pre-aligned
  const crop = cropFor(layout, preprocess, join(root, 'dataset.json'));
  const key = `folders-${sha1(realpathSync(root), JSON.stringify([preprocess, layout]))}`;
  return { ...cacheItems(dataset.items, root, crop, key, root, options), dataset };
}
