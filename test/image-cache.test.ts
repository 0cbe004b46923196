// The on-disk image cache (src/data/cache-entry.ts, lfw-cache.ts) and the training data built on it
// (src/data/recognizer-data.ts): an undecodable image is left out with a count (or fails under
// strict), and the cache notices changed, fixed and added files. Data: copies of the embedded
// sample (data/lfw-sample, 64x64 PNGs). No GPU.
import { spawn } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { batchPixels } from '../src/data/image-cache.js';
import { cachedIdentityFolders, cachedLfw } from '../src/data/lfw-cache.js';
import { parsePairs, type LfwImageRef } from '../src/data/lfw-pairs.js';
import { decodeImage } from '../src/data/decode-image.js';
import { toUint8CHW, type CropOptions } from '../src/data/preprocess.js';
import { prepareRecognizerData, type RecognizerDataOptions } from '../src/data/recognizer-data.js';
import type { Preprocess } from '../src/data/preprocess.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLE = join(ROOT, 'data/lfw-sample');
const TMP = mkdtempSync(join(tmpdir(), 'synface-image-cache-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

/** Images listed in the sample's people.txt. */
const ALL = readFileSync(join(SAMPLE, 'people.txt'), 'utf8')
  .split('\n')
  .slice(1)
  .filter((l) => l.trim())
  .reduce((n, l) => n + Number(l.split(/\s+/)[1]), 0);
const PRE: Preprocess = { crop: [112, 112], out: [64, 64] }; // how the sample is aligned
const ALIGNED: CropOptions = { crop: [64, 64], out: [64, 64], channels: 3 };

/** A fresh copy of the sample and an empty cache folder. */
function sampleCopy(name: string): { data: string; cacheDir: string } {
  const data = join(TMP, name);
  cpSync(SAMPLE, data, { recursive: true });
  const cacheDir = join(TMP, `${name}-cache`);
  mkdirSync(cacheDir);
  return { data, cacheDir };
}

const image = (data: string, name: string, i: number) =>
  join(data, 'images', name, `${name}_${String(i).padStart(4, '0')}.png`);

/** Cuts a file to half its length, as an interrupted download leaves it. */
function truncate(file: string): void {
  const bytes = readFileSync(file);
  writeFileSync(file, bytes.subarray(0, bytes.length >> 1));
}

/** Replaces `file` with another image's bytes, with an mtime of its own (an edit made later). */
function replaceWith(file: string, from: string, mtimeSeconds: number): void {
  writeFileSync(file, readFileSync(from));
  utimesSync(file, mtimeSeconds, mtimeSeconds);
}

/** The cached pixels of one image equal a fresh decode of `file`. */
function servesPixelsOf(lfw: ReturnType<typeof cachedLfw>, ref: LfwImageRef, file: string): boolean {
  const cached = batchPixels(lfw.cache, [lfw.rowOf(ref)]);
  return Buffer.from(cached).equals(Buffer.from(toUint8CHW(decodeImage(readFileSync(file), file), ALIGNED)));
}

describe('training data with an undecodable image', () => {
  const { data, cacheDir } = sampleCopy('bad-image');
  const train = { name: 'Antonio_Banderas', index: 2 }; // in train-people.txt (5 images)
  const pairs = parsePairs(readFileSync(join(data, 'val-pairs.txt'), 'utf8'), 'val-pairs.txt').pairs;
  const val = pairs[0].a; // Ranil_Wickremasinghe 2
  const pairsNamingVal = pairs.filter((p) =>
    [p.a, p.b].some((r) => r.name === val.name && r.index === val.index),
  ).length;
  truncate(image(data, train.name, train.index));
  truncate(image(data, val.name, val.index));
  const trainImages = readFileSync(join(data, 'train-people.txt'), 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim())
    .reduce((n, l) => n + Number(l.split('\t')[1]), 0);
  const options = (lines: string[], strict = false): RecognizerDataOptions => ({
    layout: 'lfw',
    data,
    people: 'people.txt',
    split: data,
    valFraction: 0.15,
    minImages: 1,
    out: join(TMP, 'bad-image-run'),
    log: (s) => lines.push(s),
    strict,
  });
  process.env.SYNFACE_CACHE = cacheDir;

  it('is left out of training and validation with a count in the log', () => {
    const lines: string[] = [];
    const run = prepareRecognizerData(options(lines), PRE);
    expect(run.rows.length).toBe(trainImages - 1);
    expect(run.val!.pairs.length).toBe(pairs.length - pairsNamingVal);
    expect(run.describe).toMatchObject({ skipped_images: 1, skipped_val_pairs: pairsNamingVal });
    expect(lines.join('\n')).toContain(
      `images: left out 1 undecodable training images and ${pairsNamingVal} of ${pairs.length} validation pairs that name one (--strict fails instead)`,
    );
    expect(() => run.val!.rowOf(train)).toThrow(
      /Antonio_Banderas_0002\.png could not be decoded \(.*truncated.*\); it is left out of the cache/,
    );
  });

  it('with strict, fails naming the files (also when the cache is read, not built)', () => {
    const lines: string[] = [];
    expect(() => prepareRecognizerData(options(lines, true), PRE)).toThrow(
      /--strict: 2 images could not be decoded: .*Antonio_Banderas_0002\.png \(.*truncated.*\), .*Ranil_Wickremasinghe_0002\.png/,
    );
    expect(lines[0]).toMatch(new RegExp(`^images: ${ALL - 2} from the cache `));
  });

  it('once replaced by a good image, it is read again and trains', () => {
    cpSync(image(SAMPLE, train.name, train.index), image(data, train.name, train.index));
    cpSync(image(SAMPLE, val.name, val.index), image(data, val.name, val.index));
    const lines: string[] = [];
    const run = prepareRecognizerData(options(lines, true), PRE);
    expect(run.rows.length).toBe(trainImages);
    expect(run.val!.pairs.length).toBe(pairs.length);
    expect(lines.join('\n')).toContain('images: re-read 2 new or changed files of');
  });
});

describe('the image cache notices changed files', () => {
  it('an edited image is decoded again and its new pixels are served; the others are kept', () => {
    const { data, cacheDir } = sampleCopy('edited');
    const edited = { name: 'Ana_Guevara', index: 3 };
    const file = image(data, edited.name, edited.index);
    const first = cachedLfw(data, 'people.txt', PRE, { cacheDir });
    expect(first.cache.count).toBe(ALL);
    expect(servesPixelsOf(first, edited, file)).toBe(true);

    replaceWith(file, image(SAMPLE, 'Antonio_Banderas', 1), 1_000_000_000);
    expect(servesPixelsOf(first, edited, file)).toBe(false); // the edit changes the pixels
    const lines: string[] = [];
    const second = cachedLfw(data, 'people.txt', PRE, { cacheDir, log: (s) => lines.push(s) });
    expect(servesPixelsOf(second, edited, file)).toBe(true); // the new pixels, not stale ones
    expect(second.cachePath).toBe(first.cachePath);
    expect(lines).toEqual([
      `images: re-read 1 new or changed files of ${join(data, 'people.txt')}, dropped 0 no longer listed; ${ALL} images in ${second.cachePath}`,
    ]);
    expect(servesPixelsOf(second, { name: 'Ana_Guevara', index: 2 }, image(data, 'Ana_Guevara', 2))).toBe(
      true,
    );

    const third: string[] = [];
    cachedLfw(data, 'people.txt', PRE, { cacheDir, log: (s) => third.push(s) });
    expect(third).toEqual([`images: ${ALL} from the cache ${second.cachePath}`]);
    expect(readdirSync(cacheDir).sort()).toEqual([
      second.cachePath.split('/').pop(),
      `${second.cachePath.split('/').pop()}.json`,
    ]); // no lock or temp files left
  });

  it('identity folders: an added file is decoded alone, a removed one dropped', () => {
    const root = join(TMP, 'folders');
    const cacheDir = join(TMP, 'folders-cache');
    for (const name of ['Ana_Guevara', 'Antonio_Banderas'])
      cpSync(join(SAMPLE, 'images', name), join(root, name), { recursive: true });
    writeFileSync(join(root, 'dataset.json'), readFileSync(join(SAMPLE, 'dataset.json')));
    expect(cachedIdentityFolders(root, PRE, { cacheDir }).cache.count).toBe(11);
    cpSync(image(SAMPLE, 'Arnold_Palmer', 1), join(root, 'Ana_Guevara', 'extra.png'));
    rmSync(join(root, 'Antonio_Banderas', 'Antonio_Banderas_0005.png'));
    const lines: string[] = [];
    const f = cachedIdentityFolders(root, PRE, { cacheDir, log: (s) => lines.push(s) });
    expect(f.cache.count).toBe(11);
    expect(lines).toContain(
      `images: re-read 1 new or changed files of ${root}, dropped 1 no longer listed; 11 images in ${f.cachePath}`,
    );
  });
});

describe('the cache entry lock', () => {
  it('waits while another process holds the entry, then reads it', async () => {
    const { data, cacheDir } = sampleCopy('locked');
    const { cachePath } = cachedLfw(data, 'people.txt', PRE, { cacheDir });
    // a child holds the entry's lock for a moment, as a process building it would
    const script = join(TMP, 'hold-entry.ts');
    writeFileSync(
      script,
      `import { acquireLock } from ${JSON.stringify(join(ROOT, 'src/io/lock.ts'))};\n` +
        `const lock = acquireLock(process.argv[2], 'the image cache', { command: 'builder' });\n` +
        `console.log('held');\nsetTimeout(() => lock.release(), 1500);\n`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script, cachePath], { cwd: ROOT });
    await new Promise<void>((ok) => child.stdout.on('data', (d) => String(d).includes('held') && ok()));
    const { started } = JSON.parse(readFileSync(`${cachePath}.lock`, 'utf8'));
    const lines: string[] = [];
    const lfw = cachedLfw(data, 'people.txt', PRE, { cacheDir, log: (s) => lines.push(s) });
    expect(lfw.cache.count).toBe(ALL);
    expect(lines).toEqual([
      `lock: waiting for pid ${child.pid} on ${hostname()} (builder), started ${started} to release ${cachePath}.lock ...`,
      `images: ${ALL} from the cache ${cachePath}`,
    ]);
  });
});
