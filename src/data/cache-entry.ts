/**
 * One entry of the on-disk image cache (lfw-cache.ts), kept up to date file by file. Node only.
 *
 *   <key>.sfic        the pixels (image-cache.ts): one row per decodable source file, in item order
 *   <key>.sfic.json   the manifest: how the images were decoded, and which version of each file
 *   <key>.sfic.lock   held while the entry is checked or updated (src/io/lock.ts); another
 *                     process using the same entry waits for it
 *
 * The manifest (format 2):
 *
 *   { "format": 2, "what": "data/lfw-sample/people.txt",
 *     "crop": { "crop": [112, 112], "offsetY": 0, "out": [56, 48], "channels": 3 },
 *     "files": [ { "path": "Name/Name_0001.jpg", "size": 13911, "mtimeMs": 1.7e12, "ctimeMs": 1.7e12, "row": 0 },
 *                { "path": "Name/Name_0002.jpg", "size": 6000, ..., "error": "truncated ..." }, ... ] }
 *
 * Every use stats the source files (cheap next to decoding them). A file is decoded again when
 * the manifest does not list it or its size, mtime or ctime differ; ctime also catches a file put
 * back with its old mtime (`cp -p`, `touch -d`), and a false alarm costs one decode. Unchanged
 * files keep their pixels; unchanged undecodable files stay skipped without being read again, so
 * every run knows which files were skipped. Files no longer listed are dropped. Another format
 * or crop rebuilds the whole entry.
 *
 * Update order: delete the manifest, write the pixels, write the manifest (each atomic). A crash
 * in between leaves pixels without a manifest, which the next use rebuilds.
 */
import { existsSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock } from '../io/lock.js';
import { writeFileAtomic } from '../io/node-files.js';
import type { DatasetItem } from './folder-dataset.js';
import { encodeImageCache, type ImageCache } from './image-cache.js';
import { decodeToCHW, readImageCache, resolveCrop } from './node-dataset.js';
import { ImageSizeMismatch } from './preprocess.js';
import type { CropOptions } from './preprocess.js';

const FORMAT = 2;

/** What tells one version of a file from another. */
interface FileState {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

/** A manifest line: a source file, and either its row in the pixels file or why it was not decoded. */
interface ManifestFile extends FileState {
  path: string;
  row?: number;
  error?: string;
}

interface Manifest {
  format: number;
  what: string;
  crop: CropOptions;
  files: ManifestFile[];
}

/** A source file that could not be decoded: `path` as in the items, `file` on disk. */
export interface SkippedImage {
  path: string;
  file: string;
  error: string;
}

export interface CacheEntry {
  cache: ImageCache;
  /** The items' paths of the cache's rows. */
  paths: string[];
  cachePath: string;
  /** Undecodable files, left out of the rows (on every run, not only the one that decoded them). */
  skipped: SkippedImage[];
  /** Files decoded by this call (all of them on the first build; new or changed ones later). */
  reread: number;
}

function stateOf(file: string): FileState {
  const s = statSync(file);
  return { size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs };
}

const sameState = (a: FileState, b: FileState) =>
  a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;

/** The entry's manifest and pixels when both are readable and agree; else null, saying why in `log`. */
function readEntry(
  cachePath: string,
  crop: CropOptions,
  log: (s: string) => void,
): { manifest: Manifest; cache: ImageCache } | null {
  const listPath = `${cachePath}.json`;
  if (!existsSync(listPath)) return null;
  try {
    const manifest = JSON.parse(readFileSync(listPath, 'utf8')) as Manifest;
    if (manifest.format !== FORMAT || JSON.stringify(manifest.crop) !== JSON.stringify(crop)) {
      log(`images: ${listPath} is of another format or crop; decoding every image again`);
      return null;
    }
    const cache = readImageCache(cachePath);
    const rows = manifest.files.filter((f) => f.row !== undefined).length;
    if (rows !== cache.count)
      throw new Error(`${listPath} lists ${rows} rows, the pixels file ${cache.count}`);
    return { manifest, cache };
  } catch (e) {
    log(`images: cannot use the cache ${cachePath} (${(e as Error).message}); decoding every image again`);
    return null;
  }
}

/**
 * The cache entry `cachePath` of `items` (paths relative to `imageRoot`), decoded with `crop`:
 * read, updated for new and changed files, or built. `what` names the data in log lines.
 */
export function updateCacheEntry(
  items: readonly DatasetItem[],
  imageRoot: string,
  crop: CropOptions,
  cachePath: string,
  what: string,
  log: (s: string) => void,
): CacheEntry {
  const opts = resolveCrop(crop);
  const [H, W] = opts.out!;
  const size = opts.channels! * H * W;
  const lock = acquireLock(cachePath, `the image cache ${cachePath}`, { wait: true, log });
  try {
    const old = readEntry(cachePath, opts, log);
    const before = new Map((old?.manifest.files ?? []).map((f) => [f.path, f]));
    if (!old) log(`images: decoding ${items.length} images of ${what} into ${cachePath} (once) ...`);
    const files: ManifestFile[] = [];
    const rows: Uint8Array[] = []; // pixels of each row: a view into the old cache, or freshly decoded
    const labels: number[] = [];
    const paths: string[] = [];
    const skipped: SkippedImage[] = [];
    let reread = 0;
    let rowsMoved = !old; // does any row differ from the pixels file on disk?
    const t0 = performance.now();
    for (const item of items) {
      const file = join(imageRoot, item.path);
      const state = stateOf(file);
      const prev = before.get(item.path);
      let pixels: Uint8Array | undefined;
      let error = prev?.error;
      if (old && prev && sameState(prev, state)) {
        if (prev.row !== undefined)
          pixels = old.cache.pixels.subarray(prev.row * size, (prev.row + 1) * size);
      } else {
        reread++;
        rowsMoved = true;
        try {
          pixels = decodeToCHW(file, opts);
        } catch (e) {
          if (e instanceof ImageSizeMismatch) throw e; // the data is not what dataset.json says: never skipped
          error = e instanceof Error ? e.message : String(e);
        }
      }
      if (pixels) {
        const row = rows.length;
        if (prev?.row !== row || old?.cache.labels[row] !== item.label) rowsMoved = true;
        files.push({ path: item.path, ...state, row });
        rows.push(pixels);
        labels.push(item.label);
        paths.push(item.path);
      } else {
        files.push({ path: item.path, ...state, error });
        skipped.push({ path: item.path, file, error: error! });
      }
    }
    const listed = new Set(items.map((i) => i.path));
    const removed = [...before.keys()].filter((p) => !listed.has(p)).length;
    let cache: ImageCache;
    if (old && !rowsMoved && removed === 0 && rows.length === old.cache.count) {
      cache = old.cache;
      log(`images: ${cache.count} from the cache ${cachePath}`);
    } else {
      const pixels = new Uint8Array(rows.length * size);
      rows.forEach((r, k) => pixels.set(r, k * size));
      cache = { count: rows.length, C: opts.channels!, H, W, labels: Int32Array.from(labels), pixels };
      const listPath = `${cachePath}.json`;
      if (existsSync(listPath)) unlinkSync(listPath);
      writeFileAtomic(cachePath, encodeImageCache(cache));
      const manifest: Manifest = { format: FORMAT, what, crop: opts, files };
      writeFileAtomic(listPath, new TextEncoder().encode(JSON.stringify(manifest)));
      const ms = reread ? (performance.now() - t0) / reread : 0;
      log(
        old
          ? `images: re-read ${reread} new or changed files of ${what}, dropped ${removed} no longer listed; ${cache.count} images in ${cachePath}`
          : `images: ${reread} decoded, ${ms.toFixed(1)} ms each`,
      );
    }
    if (skipped.length)
      log(
        `images: ${skipped.length} undecodable files skipped, e.g. ${skipped[0].file}: ${skipped[0].error}`,
      );
    return { cache, paths, cachePath, skipped, reread };
  } finally {
    lock.release();
  }
}
