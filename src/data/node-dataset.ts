/**
 * The Node edge of the data pipeline: reads the LFW folder and people file, decodes JPEGs,
 * preprocesses them (preprocess.ts) and writes / reads the binary image cache (image-cache.ts).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/node-files.js';
import {
  folderDatasetFromLfwPeople,
  folderDatasetFromPaths,
  type DatasetItem,
  type FolderDataset,
  type LfwPeopleOptions,
} from './folder-dataset.js';
import { encodeImageCache, parseImageCache, type ImageCache } from './image-cache.js';
import { decodeImage } from './decode-image.js';
import {
  ImageSizeMismatch,
  LFW_CROP,
  LFW_OFFSET_Y,
  LFW_OUT,
  toUint8CHW,
  type CropOptions,
} from './preprocess.js';

export interface LfwDataset extends FolderDataset {
  /** Directory the item paths are relative to: `<root>/images`. */
  imageRoot: string;
}

/**
 * `root` is the dataset directory (e.g. shared/data/lfw-devtrain), holding `peopleFile` and
 * `images/<Name>/<Name>_NNNN.jpg`. Every listed image must exist.
 */
export function loadLfwPeople(
  root: string,
  peopleFile = 'peopleDevTrain.txt',
  options: LfwPeopleOptions = {},
): LfwDataset {
  const imageRoot = join(root, 'images');
  if (!existsSync(imageRoot) || !statSync(imageRoot).isDirectory())
    throw new Error(`loadLfwPeople: ${imageRoot} is not a directory`);
  const peoplePath = join(root, peopleFile);
  const text = readFileSync(peoplePath, 'utf8');
  const ds = folderDatasetFromLfwPeople(text, peoplePath, (rel) => existsSync(join(imageRoot, rel)), options);
  return { ...ds, imageRoot };
}

const IMAGE_FILE = /\.(jpe?g|png|pgm|ppm|pnm)$/i;

/**
 * A folder-per-identity dataset (as CASIA-WebFace is distributed): `<root>/<identity>/<file>`,
 * every image file (.jpg, .jpeg, .png, .pgm, .ppm, .pnm) of every sub-folder, identities and
 * files in sorted order so the labels never depend on the file system's listing order. Other
 * files are counted in `ignored`, never silently dropped from the count.
 */
export function loadIdentityFolders(root: string): FolderDataset & { imageRoot: string; ignored: string[] } {
  if (!existsSync(root) || !statSync(root).isDirectory())
    throw new Error(`loadIdentityFolders: ${root} is not a directory`);
  const paths: string[] = [];
  const ignored: string[] = [];
  for (const identity of readdirSync(root).sort()) {
    const dir = join(root, identity);
    if (!statSync(dir).isDirectory()) {
      ignored.push(identity);
      continue;
    }
    for (const file of readdirSync(dir).sort())
      (IMAGE_FILE.test(file) && statSync(join(dir, file)).isFile() ? paths : ignored).push(
        `${identity}/${file}`,
      );
  }
  if (paths.length === 0)
    throw new Error(
      `loadIdentityFolders: no images in ${root}/<identity>/ (${ignored.length} other entries)`,
    );
  return { ...folderDatasetFromPaths(paths), imageRoot: root, ignored };
}

export interface BuildCacheOptions extends CropOptions {
  /** Directory the item paths are relative to (default: paths used as given). */
  root?: string;
  /** Skip undecodable files (counted and named in the result) instead of throwing. */
  skipBad?: boolean;
}

export interface BuildCacheResult {
  /** Images written. */
  count: number;
  /** Files that failed (only with skipBad; otherwise the first one throws). */
  bad: { path: string; error: string }[];
  /** The items written, in cache order (labels as in `items`). */
  items: DatasetItem[];
  /** Mean wall time per input image, read + decode + preprocess, milliseconds. */
  msPerImage: number;
}

/** The crop options with their defaults filled in: the LFW crop (preprocess.ts), 3 channels. */
export function resolveCrop(options: CropOptions): CropOptions {
  return {
    crop: options.crop ?? LFW_CROP,
    offsetY: options.offsetY ?? LFW_OFFSET_Y,
    out: options.out ?? LFW_OUT,
    channels: options.channels ?? 3,
    size: options.size,
  };
}

/** One image file, decoded and cropped/resized to u8 CHW (`opts` resolved by resolveCrop). */
export function decodeToCHW(file: string, opts: CropOptions): Uint8Array {
  return toUint8CHW(decodeImage(readFileSync(file), file), opts, file); // errors name the file
}

/**
 * Decodes every item's JPEG, crops/resizes it to u8 CHW and writes one cache file atomically
 * (format: image-cache.ts). Defaults: the LFW crop (preprocess.ts), 3 channels.
 */
export function buildImageCache(
  items: readonly DatasetItem[],
  options: BuildCacheOptions,
  cachePath: string,
): BuildCacheResult {
  const opts = resolveCrop(options);
  const [H, W] = opts.out!;
  const C = opts.channels!;
  const size = C * H * W;
  const pixels = new Uint8Array(items.length * size);
  const labels: number[] = [];
  const kept: DatasetItem[] = [];
  const bad: { path: string; error: string }[] = [];
  const t0 = performance.now();
  for (const item of items) {
    const file = options.root === undefined ? item.path : join(options.root, item.path);
    let chw: Uint8Array;
    try {
      chw = decodeToCHW(file, opts);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      // an aligned dataset's image of another size: the data is not as described, never skipped
      if (!options.skipBad || e instanceof ImageSizeMismatch)
        throw new Error(`buildImageCache: bad image ${file}: ${msg}`);
      bad.push({ path: file, error: msg });
      continue;
    }
    pixels.set(chw, kept.length * size);
    labels.push(item.label);
    kept.push(item);
  }
  const msPerImage = items.length ? (performance.now() - t0) / items.length : 0;
  const cache: ImageCache = {
    count: kept.length,
    C,
    H,
    W,
    labels: Int32Array.from(labels),
    pixels: pixels.subarray(0, kept.length * size),
  };
  writeFileAtomic(cachePath, encodeImageCache(cache));
  return { count: kept.length, bad, items: kept, msPerImage };
}

/** Reads and validates a cache file (magic, version, sizes, exact length). */
export function readImageCache(path: string): ImageCache {
  return parseImageCache(readFileSync(path), path);
}
