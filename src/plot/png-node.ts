/**
 * The Node edge of plotting: RGBA images to PNG files (pngjs, pure JavaScript), replacing the
 * file atomically (writeFileAtomic), so a reader never sees half a PNG.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';
import { writeFileAtomic } from '../io/node-files.js';
import type { RgbaImage } from './raster.js';

/**
 * The PNG bytes of `image`: 8-bit RGBA, or 8-bit RGB with `alpha: false` (the alpha dropped).
 * The same image gives the same bytes (pngjs's filters and zlib are deterministic).
 */
export function encodePng(image: RgbaImage, options: { alpha?: boolean } = {}): Uint8Array {
  const { width, height, rgba } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0)
    throw new Error(`encodePng: bad size ${width}x${height}`);
  if (rgba.length !== width * height * 4)
    throw new Error(
      `encodePng: ${width}x${height} RGBA needs ${width * height * 4} bytes, got ${rgba.length}`,
    );
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.length);
  return PNG.sync.write(png, options.alpha === false ? { colorType: 2 } : {});
}

/** Writes `image` as a PNG file at `path` (creating its directory), atomically. */
export function writePng(path: string, image: RgbaImage): void {
  const bytes = encodePng(image);
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, bytes);
}
