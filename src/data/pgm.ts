/**
 * A small PGM / PPM decoder (Netpbm "PNM" formats), pure TypeScript for Node and browsers.
 *
 * Supported: P2 (grey, ASCII), P5 (grey, binary), P3 (RGB, ASCII), P6 (RGB, binary), with any
 * maxval 1..65535. Not supported (a clear Error): P1 / P4 (PBM bitmaps), P7 (PAM), PFM.
 *
 * Format: the magic "P2" / "P3" / "P5" / "P6", then width, height and maxval as ASCII decimal
 * numbers separated by whitespace; '#' starts a comment that runs to the end of the line.
 *  - Binary (P5, P6): exactly one whitespace byte after maxval, then height rows of width pixels
 *    of 1 (grey) or 3 (R, G, B) samples, each 1 byte if maxval < 256, else 2 bytes big-endian.
 *  - ASCII (P2, P3): the samples as decimal numbers separated by whitespace (comments are
 *    accepted between them too).
 * A sample above maxval is an error. Bytes after the last sample are ignored (a Netpbm file may
 * hold several images; we read the first).
 *
 * Output: 8 bits per sample, 1 channel (PGM) or 3 (PPM). maxval 255 is kept as is; any other
 * maxval is scaled with rounding: v8 = round(v * 255 / maxval), halves rounded up, in exact
 * integer arithmetic. (Pillow computes round(v / maxval * 255) in floating point with Python's
 * round-half-to-even, which differs by one on the rare exact halves, e.g. maxval 2, v 1.)
 *
 * Every error message starts with `source` and names the problem.
 */
import { imageSizeProblem } from './image-size.js';
import type { DecodedImage } from './jpeg.js';

const isSpace = (c: number) =>
  c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** Decode a P2 / P3 / P5 / P6 file. `source` names the file in error messages. */
export function decodePnm(bytes: Uint8Array, source = 'pnm'): DecodedImage {
  const fail = (message: string): never => {
    throw new Error(`${source}: ${message}`);
  };
  if (bytes.length < 2 || bytes[0] !== 0x50 /* P */) fail('not a PGM/PPM file (no "P" magic at byte 0)');
  const kind = String.fromCharCode(bytes[1]);
  if (!'2356'.includes(kind)) fail(`unsupported Netpbm format P${kind} (only P2, P3, P5, P6)`);
  const channels = kind === '3' || kind === '6' ? 3 : 1;
  const binary = kind === '5' || kind === '6';

  let pos = 2;
  /** Skip whitespace and comments, then read one decimal number. */
  const readNumber = (what: string): number => {
    for (;;) {
      if (pos >= bytes.length) fail(`truncated: end of file at byte ${pos} before the ${what}`);
      const c = bytes[pos];
      if (c === 0x23 /* # */) {
        while (pos < bytes.length && bytes[pos] !== 0x0a && bytes[pos] !== 0x0d) pos++;
      } else if (isSpace(c)) {
        pos++;
      } else {
        break;
      }
    }
    const start = pos;
    let value = 0;
    while (pos < bytes.length && isDigit(bytes[pos])) {
      value = value * 10 + bytes[pos] - 0x30;
      if (value > 0xffffffff) fail(`number too large at byte ${start} (the ${what})`);
      pos++;
    }
    if (pos === start)
      fail(
        `expected a number (the ${what}) at byte ${pos}, found 0x${bytes[pos].toString(16).padStart(2, '0')}`,
      );
    if (pos < bytes.length && !isSpace(bytes[pos]) && bytes[pos] !== 0x23) {
      fail(`bad character 0x${bytes[pos].toString(16).padStart(2, '0')} after a number at byte ${pos}`);
    }
    return value;
  };

  if (bytes.length > 2 && !isSpace(bytes[2]) && bytes[2] !== 0x23)
    fail(`bad magic: "P${kind}" is not followed by whitespace`);
  const width = readNumber('width');
  const height = readNumber('height');
  const maxval = readNumber('maxval');
  if (width === 0 || height === 0) fail(`bad image size ${width}x${height}`);
  const tooLarge = imageSizeProblem(width, height);
  if (tooLarge) fail(tooLarge);
  if (maxval === 0 || maxval > 65535) fail(`bad maxval ${maxval} (must be 1..65535)`);

  const count = width * height * channels;
  const out = new Uint8Array(count);
  const scale = (v: number, i: number): number => {
    if (v > maxval) fail(`sample ${i} is ${v}, above maxval ${maxval}`);
    return maxval === 255 ? v : Math.floor((v * 510 + maxval) / (2 * maxval));
  };
  if (binary) {
    if (pos >= bytes.length) fail(`truncated: no pixel data after the header (byte ${pos})`);
    // One whitespace byte ends the header; a comment right after maxval runs up to it.
    if (bytes[pos] === 0x23) while (pos < bytes.length && bytes[pos] !== 0x0a && bytes[pos] !== 0x0d) pos++;
    pos++;
    const size = maxval < 256 ? 1 : 2;
    if (pos + count * size > bytes.length) {
      fail(`truncated pixel data: needs ${count * size} bytes from byte ${pos}, has ${bytes.length - pos}`);
    }
    for (let i = 0; i < count; i++) {
      const v = size === 1 ? bytes[pos + i] : (bytes[pos + 2 * i] << 8) | bytes[pos + 2 * i + 1];
      out[i] = scale(v, i);
    }
  } else {
    for (let i = 0; i < count; i++) out[i] = scale(readNumber(`sample ${i} of ${count}`), i);
  }
  return { width, height, channels, data: out };
}
