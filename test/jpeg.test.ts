/**
 * The JPEG decoder (src/data/jpeg.ts) against Pillow 9.4 + libjpeg-turbo 2.1 decodes of the same
 * files (fixtures in test/fixtures/jpeg/, made by tools/fixtures/make_jpeg_fixtures.py).
 *
 * Tolerances. Our decoder differs from libjpeg only in the IDCT: a float IDCT rounded once,
 * against libjpeg's integer "islow" IDCT (13-bit fixed-point constants, rounded between passes).
 * Both are within about +-1 level of the exact IDCT, so Y, Cb, Cr samples differ by at most
 * 1 (rarely 2). Huffman decoding, dequantization, fancy upsampling and the color conversion are
 * bit-exact with libjpeg, but the conversion amplifies chroma differences (R uses 1.402 Cr,
 * B uses 1.772 Cb), so a +-1 chroma difference plus a +-1 luma difference can reach 3 in RGB.
 * Hence: gray max |diff| <= 2, color max |diff| <= 4, and mean |diff| <= 0.1 (differences are
 * rare: observed max 3, mean <= 0.055). The same bounds hold for subsampled images because the
 * upsampling (libjpeg's triangle filter for 2x, replication otherwise) is exact integer code.
 * Differences have no sign bias (exact halves round up in both), so averages agree closely.
 * LFW (250x250, 4:2:0): we keep only summaries of Pillow's decode; mean per channel within 0.1
 * (observed <= 0.005), 25x25-block means within 0.5, sampled pixels within 4 (as above).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeJpeg } from '../src/data/jpeg.js';
import { MAX_IMAGE_PIXELS } from '../src/data/decode-image.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(HERE, 'fixtures', 'jpeg');
const LFW_IMAGES = resolve(HERE, '../../shared/data/lfw-devtrain/images');

interface Case {
  name: string;
  how: string;
  width: number;
  height: number;
  mode: 'RGB' | 'L';
  progressive: boolean;
  pixels?: string;
}

interface LfwSummary {
  file: string;
  width: number;
  height: number;
  mean: number[];
  grid: number[];
  samples: number[][];
}

const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as { cases: Case[] };
const lfw = JSON.parse(readFileSync(join(FIXTURES, 'lfw.json'), 'utf8')) as { files: LfwSummary[] };
const jpegBytes = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, `${name}.jpg`)));
const sequential = manifest.cases.filter((c) => !c.progressive);

/** Expect `fn` to throw an Error whose message names `source` and matches `pattern`. */
function expectDecodeError(bytes: Uint8Array, source: string, pattern: RegExp): void {
  let error: unknown;
  try {
    decodeJpeg(bytes, source);
  } catch (e) {
    error = e;
  }
  expect(error, `${source}: no error`).toBeInstanceOf(Error);
  const message = (error as Error).message;
  expect(message.startsWith(`${source}: `), message).toBe(true);
  expect(message).toMatch(pattern);
}

/** Index of the first byte after marker 0xFF `code`, or -1. */
function findMarker(bytes: Uint8Array, code: number): number {
  for (let i = 0; i + 1 < bytes.length; i++) if (bytes[i] === 0xff && bytes[i + 1] === code) return i + 2;
  return -1;
}

/** Start of the entropy-coded data of the first scan (after the SOS header). */
function scanDataStart(bytes: Uint8Array): number {
  const sos = findMarker(bytes, 0xda);
  return sos + ((bytes[sos] << 8) | bytes[sos + 1]);
}

describe('decodeJpeg vs Pillow (synthetic fixtures)', () => {
  it('has the expected fixtures', () => {
    expect(sequential.length).toBeGreaterThanOrEqual(11);
    expect(manifest.cases.filter((c) => c.progressive).length).toBe(1);
  });
  for (const c of sequential) {
    it(`${c.name} (${c.how})`, () => {
      const image = decodeJpeg(jpegBytes(c.name), c.name);
      expect([image.width, image.height, image.channels]).toEqual([
        c.width,
        c.height,
        c.mode === 'L' ? 1 : 3,
      ]);
      const reference = Buffer.from(c.pixels!, 'base64');
      expect(image.data.length).toBe(reference.length);
      let max = 0;
      let sum = 0;
      for (let i = 0; i < reference.length; i++) {
        const d = Math.abs(image.data[i] - reference[i]);
        max = Math.max(max, d);
        sum += d;
      }
      expect(max).toBeLessThanOrEqual(c.mode === 'L' ? 2 : 4);
      expect(sum / reference.length).toBeLessThanOrEqual(0.1);
    });
  }
});

describe('decodeJpeg vs Pillow (20 LFW images)', () => {
  it.each(lfw.files.map((f) => [f.file, f] as const))('%s', (_, f) => {
    const image = decodeJpeg(new Uint8Array(readFileSync(join(LFW_IMAGES, f.file))), f.file);
    expect([image.width, image.height, image.channels]).toEqual([f.width, f.height, 3]);
    const { width, height, data } = image;
    const mean = [0, 0, 0];
    for (let i = 0; i < data.length; i++) mean[i % 3] += data[i];
    for (let c = 0; c < 3; c++)
      expect(Math.abs(mean[c] / (width * height) - f.mean[c])).toBeLessThanOrEqual(0.1);

    const g = 10;
    const bw = Math.floor(width / g);
    const bh = Math.floor(height / g);
    let gridMax = 0;
    for (let gy = 0; gy < g; gy++) {
      for (let gx = 0; gx < g; gx++) {
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let y = gy * bh; y < (gy + 1) * bh; y++) {
            for (let x = gx * bw; x < (gx + 1) * bw; x++) s += data[(y * width + x) * 3 + c];
          }
          gridMax = Math.max(gridMax, Math.abs(s / (bw * bh) - f.grid[(gy * g + gx) * 3 + c]));
        }
      }
    }
    expect(gridMax).toBeLessThanOrEqual(0.5);

    for (const [x, y, r, gr, b] of f.samples) {
      const o = (y * width + x) * 3;
      const d = Math.max(Math.abs(data[o] - r), Math.abs(data[o + 1] - gr), Math.abs(data[o + 2] - b));
      expect(d, `pixel (${x}, ${y})`).toBeLessThanOrEqual(4);
    }
  });

  it('decode speed of a 250x250 LFW image', () => {
    const bytes = new Uint8Array(readFileSync(join(LFW_IMAGES, lfw.files[0].file)));
    for (let i = 0; i < 5; i++) decodeJpeg(bytes); // warm up the JIT
    const times: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      decodeJpeg(bytes);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const median = times[times.length >> 1];
    console.log(`decodeJpeg 250x250 LFW: median ${median.toFixed(2)} ms, min ${times[0].toFixed(2)} ms`);
    expect(median).toBeLessThan(200); // a sanity bound, not a benchmark
  });
});

describe('decodeJpeg errors', () => {
  it('refuses progressive JPEG clearly', () => {
    expectDecodeError(
      jpegBytes('progressive'),
      'progressive.jpg',
      /progressive JPEG is not supported \(marker 0xFFC2\)/,
    );
  });

  it('refuses non-JPEG data', () => {
    expectDecodeError(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0]), 'x.png', /not a JPEG/);
    expectDecodeError(new Uint8Array(0), 'empty.jpg', /not a JPEG/);
  });

  it('names unsupported and arithmetic-coded frame markers', () => {
    const bytes = jpegBytes('rgb444');
    const sof = findMarker(bytes, 0xc0);
    const lossless = bytes.slice();
    lossless[sof - 1] = 0xc3;
    expectDecodeError(lossless, 'lossless.jpg', /unsupported marker 0xFFC3/);
    const arithmetic = bytes.slice();
    arithmetic[sof - 1] = 0xc9;
    expectDecodeError(arithmetic, 'arith.jpg', /arithmetic-coded JPEG is not supported \(marker 0xFFC9\)/);
  });

  for (const name of ['rgb444', 'rgb420', 'gray_restart', 'rgb420_cjpeg_restart']) {
    it(`${name}: every truncation throws an Error naming the source`, () => {
      const bytes = jpegBytes(name);
      const start = scanDataStart(bytes);
      expectDecodeError(
        bytes.subarray(0, start + 40),
        `${name}.jpg`,
        /truncated in scan data at byte \d+|unexpected marker/,
      );
      expectDecodeError(bytes.subarray(0, bytes.length - 2), `${name}.jpg`, /truncated/);
      for (let n = 0; n < bytes.length - 1; n++) {
        expectDecodeError(
          bytes.subarray(0, n),
          `${name}.jpg`,
          /truncated|not a JPEG|unexpected|too short|bad|missing/,
        );
      }
    });
  }

  it('refuses a frame header of more than MAX_IMAGE_PIXELS before allocating (issue 14, defect 6)', () => {
    // SOI, then an SOF0 frame header claiming 20000x20000 pixels in 3 components (4:4:4), and
    // nothing else: the size must be refused from the header. (The old decoder allocated the
    // three 400 MB planes first, then failed on the missing scan.)
    const u16 = (v: number) => [v >> 8, v & 255];
    const components = [1, 2, 3].flatMap((id) => [id, 0x11, 0]);
    const sof = [
      0xff,
      0xc0,
      ...u16(8 + components.length),
      8,
      ...u16(20000),
      ...u16(20000),
      3,
      ...components,
    ];
    const bytes = new Uint8Array([0xff, 0xd8, ...sof]);
    expectDecodeError(
      bytes,
      'huge.jpg',
      /image too large: the header says 20000x20000 = 400,000,000 pixels, more than MAX_IMAGE_PIXELS = 67,108,864/,
    );
    expect(MAX_IMAGE_PIXELS).toBe(2 ** 26);
  });

  it('reports a bad Huffman code', () => {
    const bytes = jpegBytes('rgb444');
    const start = scanDataStart(bytes);
    const corrupt = bytes.slice();
    // 0xFF 0x00 is a stuffed 0xFF: all-ones bits, and no standard table has a 16-bit all-ones code.
    for (let i = start; i + 1 < start + 16; i += 2) {
      corrupt[i] = 0xff;
      corrupt[i + 1] = 0x00;
    }
    expectDecodeError(corrupt, 'huff.jpg', /bad Huffman code/);
  });

  it('reports a wrong restart marker', () => {
    const bytes = jpegBytes('gray_restart').slice();
    const rst = findMarker(bytes, 0xd0);
    bytes[rst - 1] = 0xd3;
    expectDecodeError(bytes, 'rst.jpg', /bad restart marker 0xFFD3 .*expected 0xFFD0/);
  });

  it('random byte corruption: an image of the right size or an Error naming the source', () => {
    let seed = 12345;
    const random = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (const c of sequential) {
      const bytes = jpegBytes(c.name);
      for (let trial = 0; trial < 40; trial++) {
        const corrupt = bytes.slice();
        for (let k = 0; k < 3; k++)
          corrupt[2 + Math.floor(random() * (bytes.length - 2))] = Math.floor(random() * 256);
        try {
          const image = decodeJpeg(corrupt, `${c.name}#${trial}`);
          expect(image.data.length).toBe(image.width * image.height * image.channels);
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          expect((e as Error).message.startsWith(`${c.name}#${trial}: `), (e as Error).message).toBe(true);
        }
      }
    }
  });
});
