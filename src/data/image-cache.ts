/**
 * The preprocessed-image cache format (one binary file, little-endian). No Node imports: a
 * browser can fetch and parse the same file.
 *
 *   offset  size       field
 *   0       4          magic "SFIC" (SynFace Image Cache)
 *   4       4  u32     version = 1
 *   8       4  u32     count N
 *   12      4  u32     C
 *   16      4  u32     H
 *   20      4  u32     W
 *   24      4N i32     labels
 *   24+4N   N*C*H*W u8 pixels, image after image, each CHW (values 0..255, normalize later)
 * The file length must be exactly 24 + 4N + N*C*H*W.
 */
export const IMAGE_CACHE_MAGIC = 'SFIC';
export const IMAGE_CACHE_VERSION = 1;
const HEADER = 24;

export interface ImageCache {
  count: number;
  C: number;
  H: number;
  W: number;
  labels: Int32Array;
  /** count * C * H * W bytes; image n is pixels.subarray(n * C*H*W, (n + 1) * C*H*W). */
  pixels: Uint8Array;
}

export function encodeImageCache(cache: ImageCache): Uint8Array {
  const { count, C, H, W, labels, pixels } = cache;
  for (const [k, v] of Object.entries({ count, C, H, W })) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
      throw new Error(`encodeImageCache: ${k} ${v} is not a u32`);
  }
  if (labels.length !== count)
    throw new Error(`encodeImageCache: ${labels.length} labels for ${count} images`);
  if (pixels.length !== count * C * H * W)
    throw new Error(`encodeImageCache: ${pixels.length} pixel bytes, expected ${count}x${C}x${H}x${W}`);
  const bytes = new Uint8Array(HEADER + 4 * count + pixels.length);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 4; i++) bytes[i] = IMAGE_CACHE_MAGIC.charCodeAt(i);
  view.setUint32(4, IMAGE_CACHE_VERSION, true);
  view.setUint32(8, count, true);
  view.setUint32(12, C, true);
  view.setUint32(16, H, true);
  view.setUint32(20, W, true);
  for (let n = 0; n < count; n++) view.setInt32(HEADER + 4 * n, labels[n], true);
  bytes.set(pixels, HEADER + 4 * count);
  return bytes;
}

/** Parses and validates a cache; every error starts with `source`. The result copies nothing but the labels. */
export function parseImageCache(bytes: Uint8Array, source = 'image cache'): ImageCache {
  if (bytes.length < HEADER)
    throw new Error(`${source}: truncated: ${bytes.length} bytes, shorter than the ${HEADER}-byte header`);
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== IMAGE_CACHE_MAGIC)
    throw new Error(
      `${source}: not an image cache (magic ${JSON.stringify(magic)}, expected "${IMAGE_CACHE_MAGIC}")`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== IMAGE_CACHE_VERSION)
    throw new Error(`${source}: version ${version}, this reader knows ${IMAGE_CACHE_VERSION}`);
  const count = view.getUint32(8, true);
  const C = view.getUint32(12, true);
  const H = view.getUint32(16, true);
  const W = view.getUint32(20, true);
  if (C !== 1 && C !== 3) throw new Error(`${source}: C = ${C}, expected 1 or 3`);
  if (H === 0 || W === 0) throw new Error(`${source}: image size ${H}x${W} is empty`);
  const expected = HEADER + 4 * count + count * C * H * W;
  if (bytes.length < expected)
    throw new Error(
      `${source}: truncated: ${bytes.length} bytes, header (${count} images of ${C}x${H}x${W}) needs ${expected}`,
    );
  if (bytes.length > expected)
    throw new Error(
      `${source}: ${bytes.length - expected} unexpected trailing bytes after ${expected} (header: ${count} images of ${C}x${H}x${W})`,
    );
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    labels[n] = view.getInt32(HEADER + 4 * n, true);
    if (labels[n] < 0) throw new Error(`${source}: label ${labels[n]} of image ${n} is negative`);
  }
  const pixels = bytes.subarray(HEADER + 4 * count, expected);
  return { count, C, H, W, labels, pixels };
}

/**
 * The pixels of cache rows `rows`, image after image (rows.length * C*H*W bytes): one batch,
 * ready for uploadU8Images. A row outside the cache is an error naming it (`op` first).
 */
export function batchPixels(cache: ImageCache, rows: ArrayLike<number>, op = 'batchPixels'): Uint8Array {
  const size = cache.C * cache.H * cache.W;
  const out = new Uint8Array(rows.length * size);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k];
    if (!(Number.isInteger(r) && r >= 0 && r < cache.count))
      throw new RangeError(`${op}: row ${r} is not in the cache's 0..${cache.count - 1}`);
    out.set(cache.pixels.subarray(r * size, (r + 1) * size), k * size);
  }
  return out;
}
