/**
 * The largest image the decoders (jpeg.ts, png.ts, pgm.ts) accept, checked from each file's
 * header before any pixel memory is allocated, so a corrupt or hostile header that claims
 * 20000x20000 pixels is refused at once instead of allocating gigabytes.
 *
 * Why 2^26 pixels (67,108,864, e.g. 8192x8192): a face dataset's images are small (LFW and
 * CASIA-WebFace 250x250, MS1M 112x112), and even a 61-megapixel camera photo fits. Decoding
 * costs about 9 bytes per pixel at its peak (a JPEG's three component planes, their upsampled
 * copies and the interleaved RGB output), so an image at the cap needs about 600 MB; 2^28
 * (PNG's old cap) would have allowed 2.4 GB. No Node imports.
 */
export const MAX_IMAGE_PIXELS = 2 ** 26;

/** Why an image of this size is refused (to follow the file's name), or undefined when it is accepted. */
export function imageSizeProblem(width: number, height: number): string | undefined {
  if (width * height <= MAX_IMAGE_PIXELS) return undefined;
  const n = (v: number) => v.toLocaleString('en-US');
  return (
    `image too large: the header says ${width}x${height} = ${n(width * height)} pixels, ` +
    `more than MAX_IMAGE_PIXELS = ${n(MAX_IMAGE_PIXELS)} (2^26, e.g. 8192x8192)`
  );
}
