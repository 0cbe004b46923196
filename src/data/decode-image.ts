/**
 * Decode a JPEG, PNG, PGM or PPM file, choosing the decoder by the file's first bytes (its
 * "magic"), never by its name. Pure TypeScript, for Node and browsers.
 *
 *   FF D8                      JPEG  (./jpeg.ts)
 *   89 50 4E 47 ("\x89PNG")    PNG   (./png.ts; it checks the rest of the 8-byte signature)
 *   "P2" "P3" "P5" "P6"        PGM / PPM, ASCII or binary (./pgm.ts)
 *
 * Anything else is an Error naming the file and its first bytes in hex (and the format, for a
 * few common ones we do not decode). Every decoder refuses an image of more than
 * MAX_IMAGE_PIXELS (image-size.ts) from its header, before allocating the pixels.
 */
import { decodeJpeg, type DecodedImage } from './jpeg.js';
import { decodePng } from './png.js';
import { decodePnm } from './pgm.js';

export { MAX_IMAGE_PIXELS } from './image-size.js';

/** Formats we recognize but do not decode, by their magic bytes, for a clearer error. */
const UNSUPPORTED: [string, number[]][] = [
  ['GIF', [0x47, 0x49, 0x46, 0x38]], // "GIF8"
  ['BMP', [0x42, 0x4d]], // "BM"
  ['TIFF', [0x49, 0x49, 0x2a, 0x00]], // "II*\0"
  ['TIFF', [0x4d, 0x4d, 0x00, 0x2a]], // "MM\0*"
  ['WebP or other RIFF', [0x52, 0x49, 0x46, 0x46]], // "RIFF"
];

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/** Decode an image file of any supported format. `source` names the file in error messages. */
export function decodeImage(bytes: Uint8Array, source = 'image'): DecodedImage {
  if (startsWith(bytes, [0xff, 0xd8])) return decodeJpeg(bytes, source);
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47])) return decodePng(bytes, source);
  if (bytes[0] === 0x50 && [0x32, 0x33, 0x35, 0x36].includes(bytes[1])) return decodePnm(bytes, source);

  if (bytes.length === 0) throw new Error(`${source}: empty file, not an image`);
  const first = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  const known = UNSUPPORTED.find(([, magic]) => startsWith(bytes, magic));
  const what = known ? `${known[0]} images are not supported` : 'unknown image format';
  throw new Error(`${source}: ${what} (first bytes: ${first}); expected JPEG, PNG, PGM or PPM`);
}
