/**
 * PNG, PGM/PPM and zlib decoding (src/data/png.ts, pgm.ts, inflate.ts) and the format dispatcher
 * (src/data/decode-image.ts), against fixtures made by tools/fixtures/make_image_fixtures.py
 * (test/fixtures/images/) and against Node's zlib.
 *
 * PNG: every colour type x bit depth, plain and Adam7, must equal Pillow's decode exactly (alpha
 * dropped, palette looked up, 16-bit -> high byte). PNM: the script's samples scaled to 8 bits.
 * Corruption: a PNG with any byte flipped or cut at any offset must throw an Error whose message
 * starts with the source name (every byte is under a CRC, a length or the signature). A zlib
 * stream with a flipped byte must throw, or, when only unused padding bits changed (Node's zlib
 * accepts it too), return exactly the original data.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, deflateRawSync, deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../src/data/decode-image.js';
import { inflate, inflateRaw } from '../src/data/inflate.js';
import { decodeJpeg } from '../src/data/jpeg.js';
import { decodePnm } from '../src/data/pgm.js';
import { decodePng } from '../src/data/png.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(HERE, 'fixtures', 'images');
const LFW_IMAGES = resolve(HERE, '../../shared/data/lfw-devtrain/images');

interface ImageCase {
  file: string;
  how: string;
  width: number;
  height: number;
  channels: 1 | 3;
  pixels: string;
}
interface ZlibCase {
  file: string;
  data: string;
  how: string;
}
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as {
  png: ImageCase[];
  pnm: ImageCase[];
  zlib_streams: ZlibCase[];
};
const fixture = (file: string) => new Uint8Array(readFileSync(join(FIXTURES, file)));
const pixels = (c: ImageCase) => new Uint8Array(Buffer.from(c.pixels, 'base64'));

/** Why `fn` does not throw an Error whose message starts with `source: `, or '' if it does. */
function problemOf(fn: () => unknown, source: string): string {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof Error)) return `threw a non-Error ${String(e)}`;
    return e.message.startsWith(`${source}: `)
      ? ''
      : `message does not start with "${source}: ": ${e.message}`;
  }
  return 'no error';
}

/** The Error thrown by fn (fails the test if none); its message must start with `source: `. */
function errorOf(fn: () => unknown, source: string): Error {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error, `${source}: no error`).toBeInstanceOf(Error);
  const message = (error as Error).message;
  expect(message.startsWith(`${source}: `), message).toBe(true);
  return error as Error;
}

/** Run `check(i)` for every i < n; expect no problems (collected, so a loop of thousands stays fast). */
function expectAllThrow(n: number, what: string, check: (i: number) => string): void {
  const problems: string[] = [];
  for (let i = 0; i < n && problems.length < 10; i++) {
    const p = check(i);
    if (p) problems.push(`${what} ${i}: ${p}`);
  }
  expect(problems).toEqual([]);
}

function expectImage(
  got: { width: number; height: number; channels: number; data: Uint8Array },
  c: ImageCase,
): void {
  expect([got.width, got.height, got.channels], c.file).toEqual([c.width, c.height, c.channels]);
  expect(got.data.length, c.file).toBe(c.width * c.height * c.channels);
  const want = pixels(c);
  const firstDiff = got.data.findIndex((v, i) => v !== want[i]);
  expect(firstDiff, `${c.file}: first differing byte`).toBe(-1);
}

/** CRC-32 (written here independently of src/data/png.ts), for hand-made PNG chunks. */
function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A PNG from an IHDR's fields, raw (filtered) scanlines and optional extra chunks before IDAT. */
function makePng(
  w: number,
  h: number,
  depth: number,
  colourType: number,
  raw: Uint8Array,
  extra: [string, Uint8Array][] = [],
): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length);
    out.set(
      Array.from(type, (ch) => ch.charCodeAt(0)),
      4,
    );
    out.set(data, 8);
    view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, w);
  new DataView(ihdr.buffer).setUint32(4, h);
  ihdr.set([depth, colourType, 0, 0, 0], 8);
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra.map(([t, d]) => chunk(t, d)),
    chunk('IDAT', new Uint8Array(deflateSync(raw))),
    chunk('IEND', new Uint8Array(0)),
  ];
  return new Uint8Array(Buffer.concat(parts));
}

/** Deterministic test data: a mix of random bytes and repeats of earlier stretches. */
function testData(n: number, seed: number): Uint8Array {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  const out = new Uint8Array(n);
  for (let i = 0; i < n;) {
    if (i > 10 && next() % 3 === 0) {
      const from = next() % i;
      for (let k = 0, len = 3 + (next() % 300); k < len && i < n; k++) out[i++] = out[from + k];
    } else {
      out[i++] = next() >>> 24;
    }
  }
  return out;
}

describe('decodePng vs Pillow', () => {
  it('covers every colour type and bit depth, plain and interlaced', () => {
    const combos = new Set<string>();
    for (const c of manifest.png) {
      const b = fixture(c.file);
      combos.add(`${b[25]}/${b[24]}/${b[28]}`); // IHDR: colour type, bit depth, interlace
    }
    const want = [
      '0/1',
      '0/2',
      '0/4',
      '0/8',
      '0/16',
      '2/8',
      '2/16',
      '3/1',
      '3/2',
      '3/4',
      '3/8',
      '4/8',
      '4/16',
      '6/8',
      '6/16',
    ];
    for (const ct of want)
      for (const il of [0, 1]) expect(combos.has(`${ct}/${il}`), `${ct} interlace ${il}`).toBe(true);
  });

  for (const c of manifest.png) {
    it(`${c.file}: ${c.how}`, () => {
      expectImage(decodePng(fixture(c.file), c.file), c);
    });
  }
});

describe('decodePnm', () => {
  for (const c of manifest.pnm) {
    it(`${c.file}: ${c.how}`, () => {
      expectImage(decodePnm(fixture(c.file), c.file), c);
    });
  }

  it('a comment right after maxval in a binary file', () => {
    const bytes = new Uint8Array(Buffer.from('P5 2 1 255# note\n\x07\xff', 'latin1'));
    expect(Array.from(decodePnm(bytes).data)).toEqual([7, 255]);
  });

  it('rounds when scaling: v * 255 / maxval, halves up', () => {
    const img = decodePnm(new Uint8Array(Buffer.from('P2 5 1 4\n0 1 2 3 4\n')));
    expect(Array.from(img.data)).toEqual([0, 64, 128, 191, 255]); // 63.75, 127.5, 191.25
  });

  it('errors: sample above maxval, bad tokens, unsupported kinds', () => {
    const bad = (text: string, pattern: RegExp) =>
      expect(
        errorOf(() => decodePnm(new Uint8Array(Buffer.from(text, 'latin1')), 'x.pgm'), 'x.pgm').message,
      ).toMatch(pattern);
    bad('P2 2 1 10\n3 11\n', /sample 1 is 11, above maxval 10/);
    bad('P5 1 1 255\n', /truncated pixel data/);
    bad('P5 2 1 256\n\x00\x01\x00', /truncated pixel data/);
    bad('P2 2 x 255\n', /expected a number \(the height\)/);
    bad('P2 2 1 255\n1 2a\n', /bad character/);
    bad('P2 0 1 255\n', /bad image size/);
    bad('P2 1 1 0\n0\n', /bad maxval 0/);
    bad('P2 1 1 65536\n0\n', /bad maxval 65536/);
    bad('P4 1 1\n\x00', /unsupported Netpbm format P4/);
    bad('P2', /truncated/);
    bad('', /not a PGM\/PPM file/);
  });

  it('binary files cut at any offset throw; ASCII ones cut before the last sample throw', () => {
    for (const c of manifest.pnm) {
      const bytes = fixture(c.file);
      const ascii = bytes[1] === 0x32 || bytes[1] === 0x33;
      // In ASCII, cutting the last number's digits leaves a valid (different) number; stop before it.
      let end = bytes.length;
      if (ascii) {
        const text = Buffer.from(bytes).toString('latin1').trimEnd();
        end = text.search(/\d+$/);
      }
      expectAllThrow(end, `${c.file} cut at`, (cut) =>
        problemOf(() => decodePnm(bytes.subarray(0, cut), c.file), c.file),
      );
    }
  });
});

describe('inflate', () => {
  it('python zlib streams (levels 0, 1, 6, 9, fixed / Huffman-only / RLE, small window, sync flush)', () => {
    expect(manifest.zlib_streams.length).toBeGreaterThanOrEqual(20);
    for (const c of manifest.zlib_streams) {
      const out = inflate(fixture(c.file), c.file);
      expect(Buffer.from(out).equals(Buffer.from(fixture(c.data))), `${c.file}: ${c.how}`).toBe(true);
    }
  });

  it("Node's zlib at every level and strategy, zlib and raw DEFLATE, up to 200 KB", () => {
    const strategies = [
      constants.Z_DEFAULT_STRATEGY,
      constants.Z_FIXED,
      constants.Z_HUFFMAN_ONLY,
      constants.Z_RLE,
      constants.Z_FILTERED,
    ];
    for (const [n, seed] of [
      [1, 1],
      [300, 2],
      [5000, 3],
      [70_000, 4],
      [200_000, 5],
    ]) {
      const data = testData(n, seed);
      for (let level = 0; level <= 9; level++) {
        for (const strategy of strategies) {
          const z = new Uint8Array(deflateSync(data, { level, strategy }));
          expect(
            Buffer.from(inflate(z, 'z')).equals(data),
            `n ${n} level ${level} strategy ${strategy}`,
          ).toBe(true);
        }
        const raw = new Uint8Array(deflateRawSync(data, { level, windowBits: 10 }));
        expect(Buffer.from(inflateRaw(raw, 'raw')).equals(data), `raw n ${n} level ${level}`).toBe(true);
      }
    }
  });

  it('maxOutput stops an over-long output', () => {
    const z = new Uint8Array(deflateSync(new Uint8Array(100_000)));
    expect(errorOf(() => inflate(z, 'bomb', { maxOutput: 1000 }), 'bomb').message).toMatch(
      /longer than the expected 1000 bytes/,
    );
  });

  it('errors: bad header, block type 3, bad stored length, distance too far, checksum', () => {
    const bad = (bytes: number[], pattern: RegExp) =>
      expect(errorOf(() => inflate(new Uint8Array(bytes), 'z.bin'), 'z.bin').message).toMatch(pattern);
    bad([], /truncated zlib header/);
    bad([0x78], /truncated zlib header/);
    bad([0x79, 0x9c], /unknown zlib compression method 9/);
    bad([0x78, 0x9d], /FCHECK/);
    bad([0x78, 0xbb, 0, 0, 0, 0], /preset dictionary/); // FDICT set, FCHECK valid
    bad([0x78, 0x9c, 0x07], /invalid DEFLATE block type 3/);
    bad([0x78, 0x9c, 0x01, 0x05, 0x00, 0xfa, 0xfe], /stored block length check failed/); // LEN 5, NLEN not ~5
    bad([0x78, 0x9c, 0x01, 0x05, 0x00, 0xfa, 0xff, 1, 2], /truncated stored block/);
    bad([0x78, 0x9c, 0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 2], /Adler-32 checksum mismatch/); // empty: adler is 1
    bad([0x78, 0x9c, 0x01, 0x00, 0x00, 0xff, 0xff, 0, 0], /missing Adler-32/);
    // Fixed block: bits 1, 01, then length symbol 257 (7-bit code 0000001), distance code 0 (00000).
    bad([0x78, 0x9c, 0x03, 0x02, 0x00], /invalid distance 1 with only 0 bytes of output/);
    bad([0x78, 0x9c, 0x03], /truncated DEFLATE data/);
  });

  it('every byte flipped in a stream: an error naming the source, or exactly the original data', () => {
    for (const name of [
      'zlib_text_l6.zlib',
      'zlib_text_fixed.zlib',
      'zlib_random_l0.zlib',
      'zlib_repetitive_l9.zlib',
    ]) {
      const c = manifest.zlib_streams.find((s) => s.file === name)!;
      const good = fixture(c.file);
      const data = Buffer.from(fixture(c.data));
      let errors = 0;
      expectAllThrow(good.length * 3, `${name} flip`, (k) => {
        const bad = good.slice();
        bad[(k / 3) | 0] ^= [0x01, 0x80, 0xff][k % 3];
        let out: Uint8Array;
        try {
          out = inflate(bad, name);
        } catch (e) {
          errors++;
          return (e as Error).message.startsWith(`${name}: `) ? '' : `bad message ${(e as Error).message}`;
        }
        // Only unused bits (padding after the last block) may change without an error.
        const same = Buffer.from(out).equals(data) && Buffer.from(inflateSync(bad)).equals(data);
        return same ? '' : 'returned other data';
      });
      expect(errors).toBeGreaterThan(3 * good.length - 8);
    }
  });

  it('every truncation of a stream throws', () => {
    for (const name of ['zlib_text_l6.zlib', 'zlib_text_l0.zlib', 'zlib_random_l1.zlib']) {
      const good = fixture(name);
      expectAllThrow(good.length, `${name} cut at`, (cut) =>
        problemOf(() => inflate(good.subarray(0, cut), name), name),
      );
    }
  });
});

describe('decodePng errors', () => {
  const corruptible = [
    'png_ct2_d8.png',
    'png_ct3_d4_trns.png',
    'png_ct0_d16_adam7.png',
    'png_ct6_d8_split.png',
    'png_pillow_p4.png',
    'png_tiny_2x3_ct0_d1_adam7.png',
  ];

  it('every byte flipped (3 ways) throws an Error naming the file', () => {
    for (const file of corruptible) {
      const good = fixture(file);
      expectAllThrow(good.length * 3, `${file} flip`, (k) => {
        const bad = good.slice();
        bad[(k / 3) | 0] ^= [0x01, 0x40, 0xff][k % 3];
        return problemOf(() => decodePng(bad, file), file);
      });
    }
  });

  it('every truncation throws an Error naming the file', () => {
    for (const file of corruptible) {
      const good = fixture(file);
      expectAllThrow(good.length, `${file} cut at`, (cut) =>
        problemOf(() => decodePng(good.subarray(0, cut), file), file),
      );
    }
  });

  it('names the problem', () => {
    const bad = (bytes: Uint8Array, pattern: RegExp) =>
      expect(errorOf(() => decodePng(bytes, 'x.png'), 'x.png').message).toMatch(pattern);
    const good = fixture('png_ct2_d8.png');
    const flipped = good.slice();
    flipped[50] ^= 1; // inside the IDAT data
    bad(flipped, /CRC mismatch in IDAT chunk at byte 33/);
    bad(good.subarray(0, 100), /truncated IDAT chunk at byte 33/);
    bad(good.subarray(0, good.length - 12), /truncated: no IEND chunk/);
    bad(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a]), /truncated PNG signature/);
    bad(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x0a, 0x0a]), /bad signature byte 6/);
    // Hand-made files: 2x1 grey 8-bit, one row = filter byte + 2 samples.
    bad(makePng(2, 1, 8, 0, new Uint8Array([5, 1, 2])), /bad filter type 5 in row 0/);
    bad(makePng(2, 1, 8, 0, new Uint8Array([0, 1])), /IDAT data too short: 2 bytes .* needs 3/);
    bad(
      makePng(2, 1, 8, 0, new Uint8Array([0, 1, 2, 3])),
      /IDAT data: decompressed data is longer than the expected 3 bytes/,
    );
    bad(makePng(2, 1, 3, 0, new Uint8Array([0, 0])), /bad bit depth 3 for colour type 0/);
    bad(makePng(2, 1, 8, 5, new Uint8Array([0, 0])), /bad colour type 5/);
    bad(makePng(0, 1, 8, 0, new Uint8Array([0])), /bad image size 0x1/);
    bad(makePng(2, 1, 8, 3, new Uint8Array([0, 0, 1])), /palette image without a PLTE chunk/);
    bad(
      makePng(2, 1, 8, 3, new Uint8Array([0, 0, 1]), [['PLTE', new Uint8Array([9, 9, 9])]]),
      /palette index 1 out of range \(the palette has 1 entries\)/,
    );
    bad(
      makePng(2, 1, 8, 0, new Uint8Array([0, 1, 2]), [['ABCD', new Uint8Array(0)]]),
      /unknown critical chunk ABCD/,
    );
    // An ancillary chunk nobody knows is skipped.
    const ok = decodePng(makePng(2, 1, 8, 0, new Uint8Array([1, 10, 5]), [['abCD', new Uint8Array(3)]]));
    expect(Array.from(ok.data)).toEqual([10, 15]); // Sub filter: 10, 10 + 5
  });
});

describe('decodeImage dispatch', () => {
  it('PNG, PGM, PPM (ASCII and binary) by magic bytes', () => {
    for (const c of [...manifest.png.slice(0, 6), ...manifest.pnm])
      expectImage(decodeImage(fixture(c.file), c.file), c);
  });

  it('a JPEG fixture gives what decodeJpeg gives', () => {
    const bytes = new Uint8Array(readFileSync(join(HERE, 'fixtures', 'jpeg', 'rgb420.jpg')));
    expect(decodeImage(bytes, 'rgb420.jpg')).toEqual(decodeJpeg(bytes, 'rgb420.jpg'));
  });

  it('a real LFW JPEG (AJ_Cook_0001.jpg)', () => {
    const file = 'AJ_Cook/AJ_Cook_0001.jpg';
    const image = decodeImage(new Uint8Array(readFileSync(join(LFW_IMAGES, file))), file);
    expect([image.width, image.height, image.channels]).toEqual([250, 250, 3]);
    // Pillow's mean per channel, from test/fixtures/jpeg/lfw.json (see test/jpeg.test.ts).
    const lfw = JSON.parse(readFileSync(join(HERE, 'fixtures', 'jpeg', 'lfw.json'), 'utf8')) as {
      files: { file: string; mean: number[] }[];
    };
    const mean = lfw.files.find((f) => f.file === file)!.mean;
    for (let ch = 0; ch < 3; ch++) {
      let sum = 0;
      for (let i = ch; i < image.data.length; i += 3) sum += image.data[i];
      expect(Math.abs(sum / (250 * 250) - mean[ch])).toBeLessThan(0.1);
    }
  });

  it('one size cap for every format, checked from the header (issue 14, defect 6)', () => {
    // 10000x10000 = 10^8 pixels: above MAX_IMAGE_PIXELS (2^26), below PNG's and PGM's old 2^28.
    const u16 = (v: number) => [v >> 8, v & 255];
    const jpeg = new Uint8Array([
      0xff,
      0xd8,
      0xff,
      0xc0,
      ...u16(11),
      8,
      ...u16(10000),
      ...u16(10000),
      1,
      1,
      0x11,
      0,
    ]);
    const files: [string, Uint8Array][] = [
      ['big.jpg', jpeg],
      ['big.png', makePng(10000, 10000, 8, 0, new Uint8Array(0))],
      ['big.pgm', new Uint8Array(Buffer.from('P5 10000 10000 255\n'))],
      ['big.ppm', new Uint8Array(Buffer.from('P3 8193 8192 255\n'))], // one column over the cap
    ];
    for (const [file, bytes] of files) {
      expect(errorOf(() => decodeImage(bytes, file), file).message).toMatch(
        /: image too large: the header says \d+x\d+ = [\d,]+ pixels, more than MAX_IMAGE_PIXELS = 67,108,864/,
      );
    }
    // At the cap the header is accepted: the error is the missing pixel data.
    expect(
      errorOf(() => decodeImage(Buffer.from('P5 8192 8192 255\n'), 'cap.pgm'), 'cap.pgm').message,
    ).toMatch(/truncated pixel data/);
  });

  it('errors name the file and the first bytes', () => {
    const err = (bytes: number[] | string, file: string) =>
      errorOf(
        () =>
          decodeImage(new Uint8Array(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes), file),
        file,
      ).message;
    expect(err('GIF89a\x01\x00\x01\x00', 'a.gif')).toMatch(
      /GIF images are not supported \(first bytes: 47 49 46 38 39 61 01 00\)/,
    );
    expect(err([1, 2, 255], 'x.dat')).toMatch(/unknown image format \(first bytes: 01 02 ff\)/);
    expect(err([], 'empty.jpg')).toMatch(/empty file/);
    expect(err('P7\n', 'x.pam')).toMatch(/unknown image format \(first bytes: 50 37 0a\)/);
    // Known magic, broken file: the format's own decoder reports it.
    expect(err([0xff, 0xd8, 0xff], 'cut.jpg')).toMatch(/truncated/);
    expect(err([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0], 'bad.png')).toMatch(/not a PNG file/);
    expect(err('P5 1 1 255\n', 'cut.pgm')).toMatch(/truncated/);
  });
});
