/**
 * Image preprocessing for face recognition: a fixed crop (centred, optional vertical offset),
 * resampled to the network's input size, as planar CHW.
 *
 * Resampling, per axis (separable), in continuous source coordinates of the crop:
 *   - output pixel i covers the source interval [x0 + i s, x0 + (i + 1) s), s = crop / out.
 *   - downscaling (s >= 1): area averaging. Each source pixel j (interval [j, j + 1)) gets the
 *     weight |overlap| / s, so the weights sum to 1 (a constant image stays constant).
 *   - upscaling (s < 1): bilinear, pixel centres aligned (source position x0 + (i + 0.5) s - 0.5,
 *     clamped to the crop), weights (1 - f, f).
 * The 2-D result is sum_y sum_x wy * wx * src: rows first, then columns.
 *
 * Defaults for deep-funneled LFW (250x250): crop 112x96 (h x w) centred, no vertical offset,
 * out 56x48 (an exact 2x2 area average). Measured on sample images: eyes at y ~ 105-110, mouth
 * ~ 155, chin ~ 180, so the face spans roughly the central 110-120 px; the box (rows 69..180,
 * cols 77..172) goes from the eyebrows to the chin. Moving it up cuts the chin.
 *
 * Normalization: v -> (v / 255 - 0.5) / 0.5, in [-1, 1]. No Node imports (browser too).
 */
import type { DecodedImage } from './jpeg.js';

export interface CropOptions {
  /** [h, w] in source pixels. Default LFW_CROP. */
  crop?: readonly [number, number];
  /** Vertical offset of the crop's centre in source pixels (negative = up). Default 0. */
  offsetY?: number;
  /** Output [H, W]. Default LFW_OUT. */
  out?: readonly [number, number];
  /** Output channels: 3 (grey sources are replicated) or 1 (RGB -> luma 0.299/0.587/0.114). Default 3. */
  channels?: 1 | 3;
  /**
   * The [h, w] every source image must have (an aligned dataset, layout.ts: its images are used
   * as they are). Another size is an ImageSizeMismatch, never a silent crop.
   */
  size?: readonly [number, number];
}

/**
 * An image whose size is not the one its aligned dataset declares: the data is not what its
 * dataset.json says, so this is never skipped as one undecodable file.
 */
export class ImageSizeMismatch extends Error {}

/**
 * A recognizer's input, as its weights file records it: the centre crop [h, w] of a
 * deep-funneled 250x250 LFW image and the size [H, W] it is resized to.
 */
export interface Preprocess {
  crop: [number, number];
  out: [number, number];
}

export const LFW_CROP: readonly [number, number] = [112, 96];
export const LFW_OFFSET_Y = 0;
export const LFW_OUT: readonly [number, number] = [56, 48];

/** Per-axis weights: for output i, source indices idx[k] with weights w[k], k in start[i]..start[i+1]. */
interface AxisWeights {
  start: Int32Array;
  idx: Int32Array;
  w: Float64Array;
}

/** Weights mapping source pixels [origin, origin + length) to `out` samples (see header). */
export function axisWeights(origin: number, length: number, out: number): AxisWeights {
  const s = length / out;
  const start = new Int32Array(out + 1);
  const idx: number[] = [];
  const w: number[] = [];
  for (let i = 0; i < out; i++) {
    start[i] = idx.length;
    if (s >= 1) {
      const a = i * s;
      const b = (i + 1) * s;
      for (let j = Math.floor(a); j < Math.ceil(b) && j < length; j++) {
        const overlap = Math.min(b, j + 1) - Math.max(a, j);
        if (overlap > 1e-12) {
          idx.push(origin + j);
          w.push(overlap / s);
        }
      }
    } else {
      const p = Math.min(Math.max((i + 0.5) * s - 0.5, 0), length - 1);
      const j = Math.floor(p);
      const f = p - j;
      idx.push(origin + j);
      w.push(1 - f);
      if (f > 0) {
        idx.push(origin + j + 1);
        w.push(f);
      }
    }
  }
  start[out] = idx.length;
  return { start, idx: Int32Array.from(idx), w: Float64Array.from(w) };
}

/**
 * The crop box [top, left, h, w] in source pixels, checked to lie inside the image. `source`
 * names the image in the error.
 */
export function cropBox(
  img: { width: number; height: number },
  crop: readonly [number, number],
  offsetY = 0,
  source = 'image',
): [number, number, number, number] {
  const [h, w] = crop;
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0))
    throw new Error(`crop [${h}, ${w}] is not two positive integers`);
  const top = Math.round((img.height - h) / 2 + offsetY);
  const left = Math.round((img.width - w) / 2);
  if (top < 0 || left < 0 || top + h > img.height || left + w > img.width) {
    throw new Error(
      `${source}: crop ${h}x${w} (offsetY ${offsetY}) at top ${top}, left ${left} does not fit in the ${img.height}x${img.width} image (h x w)`,
    );
  }
  return [top, left, h, w];
}

/** Crop + resample to float values in source units (0..255), CHW. `source` names the image in errors. */
function resampleCHW(
  img: DecodedImage,
  options: CropOptions,
  source: string,
): { data: Float64Array; C: number; H: number; W: number } {
  const crop = options.crop ?? LFW_CROP;
  const [H, W] = options.out ?? LFW_OUT;
  const C = options.channels ?? 3;
  if (!(Number.isInteger(H) && Number.isInteger(W) && H > 0 && W > 0))
    throw new Error(`out [${H}, ${W}] is not two positive integers`);
  if (C !== 1 && C !== 3) throw new Error(`channels ${C} is not 1 or 3`);
  if (img.channels !== 1 && img.channels !== 3)
    throw new Error(`${source}: image has ${img.channels} channels, expected 1 or 3`);
  if (img.data.length !== img.width * img.height * img.channels)
    throw new Error(
      `${source}: image data has ${img.data.length} bytes, expected ${img.width}x${img.height}x${img.channels}`,
    );
  if (options.size && (img.height !== options.size[0] || img.width !== options.size[1])) {
    const [sh, sw] = options.size;
    throw new ImageSizeMismatch(
      `${source}: the image is ${img.height}x${img.width} (h x w), but its dataset is aligned: every image is ${sh}x${sw}, used as it is (a larger image would be cropped silently)`,
    );
  }
  const [top, left, h, w] = cropBox(img, crop, options.offsetY ?? 0, source);
  const wy = axisWeights(top, h, H);
  const wx = axisWeights(left, w, W);
  const sc = img.channels;
  const src = img.data;
  // Pass 1 (rows): tmp[c][i][x] for x over the crop's columns.
  const tmp = new Float64Array(sc * H * w);
  for (let i = 0; i < H; i++) {
    for (let k = wy.start[i]; k < wy.start[i + 1]; k++) {
      const row = wy.idx[k] * img.width;
      const wk = wy.w[k];
      for (let x = 0; x < w; x++) {
        const p = (row + left + x) * sc;
        for (let c = 0; c < sc; c++) tmp[(c * H + i) * w + x] += wk * src[p + c];
      }
    }
  }
  // Pass 2 (columns).
  const res = new Float64Array(sc * H * W);
  for (let c = 0; c < sc; c++) {
    for (let i = 0; i < H; i++) {
      const t = (c * H + i) * w;
      for (let j = 0; j < W; j++) {
        let acc = 0;
        for (let k = wx.start[j]; k < wx.start[j + 1]; k++) acc += wx.w[k] * tmp[t + wx.idx[k] - left];
        res[(c * H + i) * W + j] = acc;
      }
    }
  }
  if (C === sc) return { data: res, C, H, W };
  const plane = H * W;
  const data = new Float64Array(C * plane);
  if (C === 3)
    for (let c = 0; c < 3; c++) data.set(res, c * plane); // grey -> RGB
  else
    for (let p = 0; p < plane; p++)
      data[p] = 0.299 * res[p] + 0.587 * res[plane + p] + 0.114 * res[2 * plane + p];
  return { data, C, H, W };
}

/** Normalizes a 0..255 value to [-1, 1]: (v / 255 - 0.5) / 0.5. */
export const normalizePixel = (v: number): number => (v / 255 - 0.5) / 0.5;

/** Crop + resample + normalize: Float32Array CHW in [-1, 1], length C*H*W. `source` names the image in errors. */
export function centerCropResize(
  img: DecodedImage,
  options: CropOptions = {},
  source = 'image',
): Float32Array {
  const { data } = resampleCHW(img, options, source);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = normalizePixel(data[i]);
  return out;
}

/** Crop + resample, rounded to u8 CHW (compact caching; normalize later with u8ToNormalized). `source` names the image in errors. */
export function toUint8CHW(img: DecodedImage, options: CropOptions = {}, source = 'image'): Uint8Array {
  const { data } = resampleCHW(img, options, source);
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(data[i])));
  return out;
}

/** u8 values -> Float32 in [-1, 1] (same formula as centerCropResize). */
export function u8ToNormalized(u8: Uint8Array, out = new Float32Array(u8.length)): Float32Array {
  if (out.length !== u8.length)
    throw new Error(`u8ToNormalized: out has ${out.length} elements, input ${u8.length}`);
  for (let i = 0; i < u8.length; i++) out[i] = (u8[i] / 255 - 0.5) / 0.5;
  return out;
}
