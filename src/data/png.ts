/**
 * A small, from-scratch PNG decoder (ISO/IEC 15948, the W3C PNG specification), written to be
 * read. Pure TypeScript on Uint8Array (decompression by ./inflate.ts), for Node and browsers.
 *
 * Supported: every standard PNG: colour types 0 (grey), 2 (RGB), 3 (palette), 4 (grey + alpha)
 * and 6 (RGB + alpha), all their bit depths (1, 2, 4, 8, 16), the five row filters and Adam7
 * interlacing. Every chunk's CRC-32 is checked, and the zlib data's Adler-32.
 *
 * Output (a `DecodedImage`, as from the JPEG decoder): 8 bits per sample, 1 channel for the
 * grey colour types 0 and 4, 3 channels (RGB) for 2, 3 and 6.
 *  - Alpha is dropped, not composited: an RGBA pixel (r, g, b, a) becomes (r, g, b), whatever a
 *    is. Likewise tRNS (transparency for palette entries or one grey / RGB value) is ignored,
 *    and a palette index gives the palette's RGB. This is what Pillow's convert('RGB') /
 *    convert('L') does, and it keeps the colour of fully transparent pixels.
 *  - 16-bit samples keep their high byte (v >> 8), as libpng's png_set_strip_16 and Pillow do.
 *  - 1-, 2- and 4-bit grey samples are scaled to 0..255 (times 255, 85 and 17).
 * Ancillary chunks (gAMA, sRGB, iCCP, tEXt, pHYs, ...) are skipped: no colour management.
 *
 * The pipeline, in the order the code runs:
 *
 * 1. Chunks. After the 8-byte signature 89 50 4E 47 0D 0A 1A 0A, a PNG is a list of chunks:
 *    a 4-byte big-endian data length, a 4-letter type, the data, and a CRC-32 of type + data.
 *    IHDR (first) gives width, height, bit depth, colour type and interlace method; PLTE the
 *    palette; one or more consecutive IDAT chunks hold one zlib stream; IEND ends the file.
 *    A chunk whose type starts with a lower-case letter is ancillary and may be skipped; an
 *    unknown critical (upper-case) chunk is an error. (`readChunks`)
 *
 * 2. Decompression. The IDAT data is inflated to the filtered scanlines. Their total size
 *    follows from the header, so anything longer or shorter is an error. (`decodePng`)
 *
 * 3. Interlacing. Without interlacing there is one "pass", the whole image. Adam7 splits the
 *    image into 7 sub-images (passes), each taking every dx-th pixel of every dy-th row from an
 *    offset (x0, y0); they are stored one after the other, each with its own scanlines and
 *    filters. A pass with no pixels has no bytes at all. (`ADAM7`, `passSize`)
 *
 * 4. Filters. Each scanline is one filter-type byte, then ceil(width * bitsPerPixel / 8) bytes.
 *    Filters predict each byte from the byte `bpp` to the left (a), the byte above (b) and the
 *    byte above-left (c), where bpp = bytes per pixel, at least 1; outside the image these are 0.
 *    Type 0 none, 1 Sub (+a), 2 Up (+b), 3 Average (+floor((a + b) / 2)), 4 Paeth (+ whichever
 *    of a, b, c is nearest to a + b - c, ties in that order), all modulo 256. (`unfilterRow`)
 *
 * 5. Samples. A row packs samples (grey, R, G, B, alpha, or palette index) big-endian, several
 *    per byte when the bit depth is below 8, from the most significant bits down. (`writeRow`)
 *
 * Every error message starts with `source` and names the problem; every loop is bounded by the
 * input or the header's sizes, so a corrupt file ends in an Error, never a hang.
 */
import { imageSizeProblem } from './image-size.js';
import type { DecodedImage } from './jpeg.js';
import { inflate } from './inflate.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Allowed bit depths per colour type, and the number of samples per pixel. */
const COLOUR_TYPES: Record<number, { depths: number[]; samples: number; name: string }> = {
  0: { depths: [1, 2, 4, 8, 16], samples: 1, name: 'grey' },
  2: { depths: [8, 16], samples: 3, name: 'RGB' },
  3: { depths: [1, 2, 4, 8], samples: 1, name: 'palette' },
  4: { depths: [8, 16], samples: 2, name: 'grey + alpha' },
  6: { depths: [8, 16], samples: 4, name: 'RGB + alpha' },
};

/** Adam7 passes: start (x0, y0) and step (dx, dy). */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

interface Header {
  width: number;
  height: number;
  depth: number;
  colourType: number;
  interlaced: boolean;
}

/** Decode a PNG file. `source` names the file in error messages. */
export function decodePng(bytes: Uint8Array, source = 'png'): DecodedImage {
  const fail = (message: string): never => {
    throw new Error(`${source}: ${message}`);
  };
  const { header, palette, idat } = readChunks(bytes, fail);
  const { width, height, depth, colourType, interlaced } = header;
  const samples = COLOUR_TYPES[colourType].samples;
  const bitsPerPixel = samples * depth;
  const passes = (interlaced ? ADAM7 : [[0, 0, 1, 1]]).map(([x0, y0, dx, dy]) => ({
    x0,
    y0,
    dx,
    dy,
    width: passSize(width, x0, dx),
    height: passSize(height, y0, dy),
  }));
  const rowBytes = (w: number) => Math.ceil((w * bitsPerPixel) / 8);
  let expected = 0;
  for (const p of passes) if (p.width > 0 && p.height > 0) expected += p.height * (1 + rowBytes(p.width));

  const raw = inflate(idat, `${source}: IDAT data`, { maxOutput: expected, sizeHint: expected });
  if (raw.length !== expected) {
    fail(`IDAT data too short: ${raw.length} bytes after decompression, the header needs ${expected}`);
  }

  const channels = colourType === 0 || colourType === 4 ? 1 : 3;
  const out = new Uint8Array(width * height * channels);
  const bpp = Math.max(1, bitsPerPixel >> 3);
  let pos = 0;
  for (const pass of passes) {
    if (pass.width === 0 || pass.height === 0) continue;
    const n = rowBytes(pass.width);
    let previous: Uint8Array = new Uint8Array(n); // the row above the first row is all zeros
    for (let y = 0; y < pass.height; y++) {
      const filter = raw[pos];
      const row = raw.subarray(pos + 1, pos + 1 + n);
      if (filter > 4)
        fail(
          `bad filter type ${filter} in row ${y}${interlaced ? ` of Adam7 pass ${passes.indexOf(pass) + 1}` : ''}`,
        );
      unfilterRow(filter, row, previous, bpp);
      writeRow(row, pass, y, header, palette, channels, out, fail);
      previous = row;
      pos += 1 + n;
    }
  }
  return { width, height, channels, data: out };
}

/** Number of pixels of a pass along one axis: positions start, start + step, ... below size. */
function passSize(size: number, start: number, step: number): number {
  return size > start ? Math.ceil((size - start) / step) : 0;
}

// ------------------------------------------------------------------------------------------
// 1. Chunks
// ------------------------------------------------------------------------------------------

function readChunks(bytes: Uint8Array, fail: (m: string) => never) {
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== SIGNATURE[i]) {
      fail(
        bytes.length < 8 && i === bytes.length
          ? `truncated PNG signature (${bytes.length} bytes)`
          : `not a PNG file (bad signature byte ${i})`,
      );
    }
  }
  let header: Header | undefined;
  let palette: Uint8Array | undefined;
  const idatParts: Uint8Array[] = [];
  let idatEnded = false;
  let pos = 8;
  for (;;) {
    if (pos + 8 > bytes.length) fail(`truncated: no IEND chunk (file ends at byte ${bytes.length})`);
    const length = readU32(bytes, pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (!/^[A-Za-z]{4}$/.test(type))
      fail(`bad chunk type at byte ${pos + 4} (bytes ${hexBytes(bytes.subarray(pos + 4, pos + 8))})`);
    if (length > 0x7fffffff) fail(`bad ${type} chunk length ${length} at byte ${pos}`);
    const end = pos + 12 + length;
    if (end > bytes.length)
      fail(`truncated ${type} chunk at byte ${pos} (needs ${length + 12} bytes, has ${bytes.length - pos})`);
    const data = bytes.subarray(pos + 8, pos + 8 + length);
    const storedCrc = readU32(bytes, pos + 8 + length);
    const crc = crc32(bytes.subarray(pos + 4, pos + 8 + length));
    if (crc !== storedCrc)
      fail(
        `CRC mismatch in ${type} chunk at byte ${pos} (stored 0x${hex32(storedCrc)}, computed 0x${hex32(crc)})`,
      );

    if (!header && type !== 'IHDR') fail(`first chunk is ${type}, not IHDR`);
    if (type !== 'IDAT' && idatParts.length > 0) idatEnded = true;
    switch (type) {
      case 'IHDR':
        if (header) fail('second IHDR chunk');
        header = parseHeader(data, fail);
        break;
      case 'PLTE':
        if (idatParts.length > 0) fail('PLTE chunk after IDAT');
        if (length % 3 !== 0 || length === 0 || length > 768) fail(`bad PLTE chunk length ${length}`);
        palette = data;
        break;
      case 'IDAT':
        if (idatEnded) fail(`IDAT chunks are not consecutive (another IDAT at byte ${pos})`);
        idatParts.push(data);
        break;
      case 'IEND':
        if (idatParts.length === 0) fail('no IDAT chunk before IEND');
        if (header!.colourType === 3 && !palette) fail('palette image without a PLTE chunk');
        return { header: header!, palette, idat: concat(idatParts) };
      default:
        // Bit 5 of the first letter (lower case) marks an ancillary chunk, safe to skip.
        if (!(bytes[pos + 4] & 0x20)) fail(`unknown critical chunk ${type} at byte ${pos}`);
    }
    pos = end;
  }
}

function parseHeader(data: Uint8Array, fail: (m: string) => never): Header {
  if (data.length !== 13) fail(`bad IHDR chunk length ${data.length} (must be 13)`);
  const width = readU32(data, 0);
  const height = readU32(data, 4);
  const [depth, colourType, compression, filterMethod, interlace] = data.subarray(8, 13);
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff)
    fail(`bad image size ${width}x${height}`);
  const tooLarge = imageSizeProblem(width, height);
  if (tooLarge) fail(tooLarge);
  const type = COLOUR_TYPES[colourType];
  if (!type) fail(`bad colour type ${colourType}`);
  if (!type.depths.includes(depth))
    fail(`bad bit depth ${depth} for colour type ${colourType} (${type.name})`);
  if (compression !== 0) fail(`unknown compression method ${compression}`);
  if (filterMethod !== 0) fail(`unknown filter method ${filterMethod}`);
  if (interlace > 1) fail(`unknown interlace method ${interlace}`);
  return { width, height, depth, colourType, interlaced: interlace === 1 };
}

function readU32(bytes: Uint8Array, pos: number): number {
  return ((bytes[pos] << 24) | (bytes[pos + 1] << 16) | (bytes[pos + 2] << 8) | bytes[pos + 3]) >>> 0;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** CRC-32 as in PNG, zlib and gzip: polynomial 0xEDB88320 (bit-reversed), one table byte at a time. */
let crcTable: Uint32Array | undefined;
function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// ------------------------------------------------------------------------------------------
// 4. Filters
// ------------------------------------------------------------------------------------------

/** Undo the row filter in place. `previous` is the unfiltered row above (zeros for the first). */
function unfilterRow(filter: number, row: Uint8Array, previous: Uint8Array, bpp: number): void {
  const n = row.length;
  switch (filter) {
    case 0: // None
      break;
    case 1: // Sub
      for (let i = bpp; i < n; i++) row[i] = (row[i] + row[i - bpp]) & 0xff;
      break;
    case 2: // Up
      for (let i = 0; i < n; i++) row[i] = (row[i] + previous[i]) & 0xff;
      break;
    case 3: // Average
      for (let i = 0; i < n; i++) {
        const left = i >= bpp ? row[i - bpp] : 0;
        row[i] = (row[i] + ((left + previous[i]) >> 1)) & 0xff;
      }
      break;
    case 4: // Paeth
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? row[i - bpp] : 0;
        const b = previous[i];
        const c = i >= bpp ? previous[i - bpp] : 0;
        row[i] = (row[i] + paeth(a, b, c)) & 0xff;
      }
      break;
  }
}

/** The Paeth predictor: whichever of a, b, c is closest to a + b - c (ties: a, then b). */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

// ------------------------------------------------------------------------------------------
// 5. Samples to 8-bit pixels
// ------------------------------------------------------------------------------------------

/** Write the pixels of unfiltered row `y` of `pass` into the output image. */
function writeRow(
  row: Uint8Array,
  pass: { x0: number; y0: number; dx: number; dy: number; width: number },
  y: number,
  header: Header,
  palette: Uint8Array | undefined,
  channels: number,
  out: Uint8Array,
  fail: (m: string) => never,
): void {
  const { width, depth, colourType } = header;
  const samples = COLOUR_TYPES[colourType].samples;
  // Sample k of the row: bit depths below 8 pack 8 / depth samples per byte, high bits first;
  // 16-bit samples keep their high (first) byte.
  const sample = (k: number): number => {
    if (depth === 8) return row[k];
    if (depth === 16) return row[2 * k];
    const bit = k * depth;
    return (row[bit >> 3] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
  };
  const greyScale = depth < 8 ? 255 / ((1 << depth) - 1) : 1; // 1 -> 255, 2 -> 85, 4 -> 17
  const outY = pass.y0 + y * pass.dy;
  for (let x = 0; x < pass.width; x++) {
    const o = (outY * width + pass.x0 + x * pass.dx) * channels;
    const k = x * samples;
    if (colourType === 3) {
      const index = sample(k);
      if (3 * index + 2 >= palette!.length)
        fail(`palette index ${index} out of range (the palette has ${palette!.length / 3} entries)`);
      out[o] = palette![3 * index];
      out[o + 1] = palette![3 * index + 1];
      out[o + 2] = palette![3 * index + 2];
    } else if (channels === 1) {
      out[o] = sample(k) * greyScale; // types 0 and 4: the grey sample; alpha is dropped
    } else {
      out[o] = sample(k); // types 2 and 6: R, G, B; alpha is dropped
      out[o + 1] = sample(k + 1);
      out[o + 2] = sample(k + 2);
    }
  }
}
