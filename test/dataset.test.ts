/**
 * Data preparation: crop and resize, folder datasets, the binary image cache on real LFW images.
 * Oracle: hand-computed pixels, the LFW README's counts, and file round trips.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { folderDatasetFromLfwPeople, folderDatasetFromPaths } from '../src/data/folder-dataset.js';
import { encodeImageCache, parseImageCache } from '../src/data/image-cache.js';
import type { DecodedImage } from '../src/data/jpeg.js';
import { decodeJpeg } from '../src/data/jpeg.js';
import { cropFor, parseLayout } from '../src/data/layout.js';
import { cachedLfw } from '../src/data/lfw-cache.js';
import { parsePairs } from '../src/data/lfw-pairs.js';
import { loadPairImages } from '../src/data/pair-images.js';
import type { Preprocess } from '../src/data/preprocess.js';
import {
  buildImageCache,
  loadIdentityFolders,
  loadLfwPeople,
  readImageCache,
} from '../src/data/node-dataset.js';
import {
  centerCropResize,
  cropBox,
  LFW_CROP,
  LFW_OUT,
  toUint8CHW,
  u8ToNormalized,
} from '../src/data/preprocess.js';

// CI copies shared/ beside the repo: <repo>/../shared. No guard: a missing file is a failure.
const DATA = resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/data/lfw-devtrain');
const TMP = mkdtempSync(join(tmpdir(), 'synface-dataset-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const grey = (width: number, height: number, values: number[]): DecodedImage => ({
  width,
  height,
  channels: 1,
  data: Uint8Array.from(values),
});
const norm = (v: number) => (v / 255 - 0.5) / 0.5;

describe('centerCropResize / toUint8CHW', () => {
  it('2x area average, hand computed (4x4 -> 2x2)', () => {
    const img = grey(4, 4, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150]);
    const u8 = toUint8CHW(img, { crop: [4, 4], out: [2, 2], channels: 1 });
    expect(Array.from(u8)).toEqual([25, 45, 105, 125]); // (0+10+40+50)/4, ...
    const f = centerCropResize(img, { crop: [4, 4], out: [2, 2], channels: 1 });
    [25, 45, 105, 125].forEach((v, i) => expect(f[i]).toBeCloseTo(norm(v), 6));
  });

  it('fractional area weights (3 -> 2) and bilinear upscaling (2 -> 4)', () => {
    const f = centerCropResize(grey(3, 1, [0, 30, 90]), { crop: [1, 3], out: [1, 2], channels: 1 });
    // out0 = (1*0 + 0.5*30) / 1.5 = 10, out1 = (0.5*30 + 1*90) / 1.5 = 70
    expect(f[0]).toBeCloseTo(norm(10), 6);
    expect(f[1]).toBeCloseTo(norm(70), 6);
    const g = centerCropResize(grey(2, 1, [0, 200]), { crop: [1, 2], out: [1, 4], channels: 1 });
    // source positions -0.25 (clamped 0), 0.25, 0.75, 1.25 (clamped 1)
    [0, 50, 150, 200].forEach((v, i) => expect(g[i]).toBeCloseTo(norm(v), 6));
  });

  it('crop placement: centred, vertical offset, out of bounds', () => {
    const vals = Array.from({ length: 24 }, (_, i) => i); // 4 wide, 6 high
    expect(cropBox({ width: 4, height: 6 }, [2, 2], -1)).toEqual([1, 1, 2, 2]);
    const u8 = toUint8CHW(grey(4, 6, vals), { crop: [2, 2], offsetY: -1, out: [2, 2], channels: 1 });
    expect(Array.from(u8)).toEqual([5, 6, 9, 10]);
    expect(() =>
      toUint8CHW(grey(4, 6, vals), { crop: [6, 2], offsetY: 1, out: [2, 2], channels: 1 }),
    ).toThrow(/does not fit/);
  });

  it('a constant image stays constant; RGB -> CHW planes; range [-1, 1]', () => {
    const w = 250,
      h = 250;
    const data = new Uint8Array(w * h * 3);
    for (let p = 0; p < w * h; p++) data.set([200, 0, 255], p * 3);
    const f = centerCropResize(
      { width: w, height: h, channels: 3, data },
      { crop: [110, 90], out: [37, 29] },
    );
    const plane = 37 * 29;
    expect(f.length).toBe(3 * plane);
    for (let i = 0; i < plane; i++) {
      expect(Math.abs(f[i] - norm(200))).toBeLessThan(1e-6);
      expect(f[plane + i]).toBe(-1);
      expect(f[2 * plane + i]).toBe(1);
    }
    const u8 = toUint8CHW({ width: w, height: h, channels: 3, data }, {});
    expect(u8.length).toBe(3 * LFW_OUT[0] * LFW_OUT[1]);
    expect(new Set(u8.subarray(0, LFW_OUT[0] * LFW_OUT[1]))).toEqual(new Set([200]));
  });

  it('normalization range on a real face', () => {
    const path = join(DATA, 'images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg');
    const img = decodeJpeg(readFileSync(path), path);
    const f = centerCropResize(img);
    let lo = Infinity,
      hi = -Infinity;
    for (const v of f) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBeGreaterThanOrEqual(-1);
    expect(hi).toBeLessThanOrEqual(1);
    expect(hi - lo).toBeGreaterThan(1); // a real face has contrast
    const back = u8ToNormalized(toUint8CHW(img));
    for (let i = 0; i < f.length; i++) expect(Math.abs(back[i] - f[i])).toBeLessThanOrEqual(1 / 255 + 1e-6);
  });
});

describe('folder dataset', () => {
  it('paths -> identities and labels in order of first appearance', () => {
    const ds = folderDatasetFromPaths(['b/1.jpg', 'a/1.jpg', 'b/2.jpg']);
    expect(ds.classes).toEqual(['b', 'a']);
    expect(ds.items.map((i) => i.label)).toEqual([0, 1, 0]);
    expect(() => folderDatasetFromPaths(['x.jpg'])).toThrow(/x\.jpg.*<identity>\/<file>/);
    expect(() => folderDatasetFromPaths(['a/1.jpg', 'a/1.jpg'])).toThrow(/twice/);
  });

  it('people file: a missing image names the file and the line', () => {
    const text = '3\nAnn\t2\nBob\t1\nCy\t3\n';
    const have = new Set([
      'Ann/Ann_0001.jpg',
      'Ann/Ann_0002.jpg',
      'Bob/Bob_0001.jpg',
      'Cy/Cy_0001.jpg',
      'Cy/Cy_0003.jpg',
    ]);
    expect(() => folderDatasetFromLfwPeople(text, 'people.txt', (p) => have.has(p))).toThrow(
      /people\.txt:4: image Cy\/Cy_0002\.jpg is missing/,
    );
    have.add('Cy/Cy_0002.jpg');
    const ds = folderDatasetFromLfwPeople(text, 'people.txt', (p) => have.has(p), { minImages: 2 });
    expect(ds.classes).toEqual(['Ann', 'Cy']);
    expect(ds.items.length).toBe(5);
  });
});

describe('image cache on real LFW', () => {
  const lfw = loadLfwPeople(DATA, 'peopleDevTrain.txt', { minImages: 2 });
  const items = lfw.items.slice(0, 30);
  const cachePath = join(TMP, 'lfw30.bin');

  it('people with >= 2 images: 1184 people, 6671 images (README)', () => {
    expect(lfw.classes.length).toBe(1184);
    expect(lfw.items.length).toBe(6671);
    expect(items[0].path).toBe('Aaron_Peirsol/Aaron_Peirsol_0001.jpg');
  });

  it('build 30 images, read back identical', () => {
    const r = buildImageCache(items, { root: lfw.imageRoot }, cachePath);
    console.log(
      `decode + preprocess: ${r.msPerImage.toFixed(2)} ms/image (${items.length} images, ${LFW_CROP.join('x')} -> ${LFW_OUT.join('x')})`,
    );
    expect(r.count).toBe(30);
    expect(r.bad).toEqual([]);
    const c = readImageCache(cachePath);
    expect([c.count, c.C, c.H, c.W]).toEqual([30, 3, LFW_OUT[0], LFW_OUT[1]]);
    expect(Array.from(c.labels)).toEqual(items.map((i) => i.label));
    const size = 3 * LFW_OUT[0] * LFW_OUT[1];
    for (let n = 0; n < 30; n++) {
      const path = join(lfw.imageRoot, items[n].path);
      const want = toUint8CHW(decodeJpeg(readFileSync(path), path));
      expect(Buffer.from(c.pixels.subarray(n * size, (n + 1) * size)).equals(Buffer.from(want))).toBe(true);
    }
    // encode(parse(file)) is the file
    expect(Buffer.from(encodeImageCache(c)).equals(readFileSync(cachePath))).toBe(true);
  });

  it('truncated or foreign cache -> clear error', () => {
    const bytes = readFileSync(cachePath);
    const cut = join(TMP, 'cut.bin');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    expect(() => readImageCache(cut)).toThrow(
      /cut\.bin: truncated: \d+ bytes, header \(30 images of 3x56x48\) needs \d+/,
    );
    writeFileSync(cut, bytes.subarray(0, 10));
    expect(() => readImageCache(cut)).toThrow(/truncated.*header/);
    const bad = Uint8Array.from(bytes);
    bad[0] = 0x58;
    expect(() => parseImageCache(bad, 'x.bin')).toThrow(/x\.bin: not an image cache/);
    expect(() => parseImageCache(Uint8Array.from([...bytes, 0]), 'x.bin')).toThrow(/trailing/);
  });

  it('corrupt JPEG: error naming the file, or counted with skipBad', () => {
    const dir = join(TMP, 'corrupt');
    mkdirSync(join(dir, 'Aaron_Peirsol'), { recursive: true });
    for (const it of items.slice(0, 2)) {
      const bytes = readFileSync(join(lfw.imageRoot, it.path));
      writeFileSync(join(dir, it.path), it === items[1] ? bytes.subarray(0, bytes.length >> 1) : bytes);
    }
    const two = items.slice(0, 2);
    expect(() => buildImageCache(two, { root: dir }, join(TMP, 'c.bin'))).toThrow(
      /bad image .*Aaron_Peirsol_0002\.jpg/,
    );
    const r = buildImageCache(two, { root: dir, skipBad: true }, join(TMP, 'c.bin'));
    expect(r.count).toBe(1);
    expect(r.bad.length).toBe(1);
    expect(r.bad[0].path).toMatch(/Aaron_Peirsol_0002\.jpg$/);
    expect(readImageCache(join(TMP, 'c.bin')).count).toBe(1);
  });
});

describe('loadIdentityFolders (folder-per-identity, as CASIA-WebFace)', () => {
  it('lists identities and image files in sorted order, counts other entries, builds a cache from PNG and JPEG', async () => {
    const root = join(TMP, 'casia');
    const sample = resolve(dirname(fileURLToPath(import.meta.url)), '../data/lfw-sample/images');
    for (const [id, files] of [
      ['0000045', ['002.png', '001.png', 'notes.txt']],
      ['0000002', ['001.png']],
    ] as const) {
      mkdirSync(join(root, id), { recursive: true });
      for (const f of files)
        writeFileSync(
          join(root, id, f),
          f.endsWith('.png') ? readFileSync(join(sample, 'Ana_Guevara', `Ana_Guevara_000${f[2]}.png`)) : 'x',
        );
    }
    writeFileSync(join(root, 'README'), 'not a folder');
    const ds = loadIdentityFolders(root);
    expect(ds.classes).toEqual(['0000002', '0000045']);
    expect(ds.items.map((i) => [i.path, i.label])).toEqual([
      ['0000002/001.png', 0],
      ['0000045/001.png', 1],
      ['0000045/002.png', 1],
    ]);
    expect(ds.ignored).toEqual(['0000045/notes.txt', 'README']);
    const built = buildImageCache(ds.items, { root, crop: [64, 64], out: [32, 32] }, join(TMP, 'casia.sfic'));
    expect(built.count).toBe(3);
    expect(Array.from(readImageCache(join(TMP, 'casia.sfic')).labels)).toEqual([0, 1, 1]);
    expect(() => loadIdentityFolders(join(TMP, 'nowhere'))).toThrow(/nowhere is not a directory/);
  });
});

describe('images that do not match their dataset (issue 14, defects 7 and 9)', () => {
  /** A binary PGM of width x height, all `v`. */
  const pgm = (width: number, height: number, v = 128) =>
    Buffer.concat([Buffer.from(`P5 ${width} ${height} 255\n`), Buffer.alloc(width * height, v)]);
  /** An LFW-layout folder of PGM images: `files` maps `Name/Name_0001.pgm` to its bytes. */
  const folder = (name: string, layout: object, files: Record<string, Buffer>) => {
    const root = join(TMP, name);
    for (const [rel, bytes] of Object.entries(files)) {
      mkdirSync(dirname(join(root, 'images', rel)), { recursive: true });
      writeFileSync(join(root, 'images', rel), bytes);
    }
    writeFileSync(join(root, 'dataset.json'), JSON.stringify(layout));
    return root;
  };
  const pairs = parsePairs('1\nA\t1\t2\nA\t1\tB\t1\n', 'pairs.txt').pairs;
  const preprocess: Preprocess = { crop: [112, 112], out: [64, 64] };

  it('an aligned dataset refuses an image of another size, naming the file and both sizes', () => {
    const aligned = { extension: 'pgm', aligned: preprocess };
    const good = { 'A/A_0001.pgm': pgm(64, 64), 'A/A_0002.pgm': pgm(64, 64), 'B/B_0001.pgm': pgm(64, 64) };
    expect(loadPairImages(folder('aligned-ok', aligned, good), pairs, preprocess, 'p').cache.count).toBe(3);
    // A 250x250 LFW image dropped into a 64x64 aligned dataset used to be centre-cropped silently.
    const root = folder('aligned-bad', aligned, { ...good, 'A/A_0002.pgm': pgm(250, 250) });
    expect(() => loadPairImages(root, pairs, preprocess, 'p')).toThrow(
      /images\/A\/A_0002\.pgm: the image is 250x250 \(h x w\), but its dataset is aligned: every image is 64x64/,
    );
    // Nor does the training's cache (it skips undecodable files, not this).
    writeFileSync(join(root, 'people.txt'), '2\nA\t2\nB\t1\n');
    expect(() => cachedLfw(root, 'people.txt', preprocess, { cacheDir: join(TMP, 'cache') })).toThrow(
      /A_0002\.pgm: the image is 250x250 \(h x w\), but its dataset is aligned: every image is 64x64/,
    );
    // Building a cache with skipBad does not skip it as an undecodable file either.
    const items = folderDatasetFromPaths(Object.keys(good)).items;
    const crop = cropFor(parseLayout(JSON.stringify(aligned), 'dataset.json'), preprocess, 'dataset.json');
    expect(() =>
      buildImageCache(items, { root: join(root, 'images'), ...crop, skipBad: true }, join(TMP, 'al.bin')),
    ).toThrow(/A_0002\.pgm.*is 250x250 \(h x w\), but its dataset is aligned: every image is 64x64/);
  });

  it("eval's crop error names the file", () => {
    // Raw (not aligned) images smaller than the model's 112x112 crop.
    const root = folder(
      'raw-small',
      { extension: 'pgm' },
      {
        'A/A_0001.pgm': pgm(250, 250),
        'A/A_0002.pgm': pgm(100, 100),
        'B/B_0001.pgm': pgm(250, 250),
      },
    );
    expect(() => loadPairImages(root, pairs, preprocess, 'p')).toThrow(
      /images\/A\/A_0002\.pgm: crop 112x112 .* does not fit in the 100x100 image/,
    );
  });
});
