/**
 * SynFace's training augmentations on the GPU, fused into one kernel (shaders/augment.ts):
 *
 *   out = erase(flip(resize(crop(normalize(src)))))        (N, C, H, W) -> (N, C, OH, OW)
 *
 *   crop       a random zoom-crop box, aspect fixed to the output's (below), integer pixels
 *   resize     bilinear to OH x OW, PyTorch's F.interpolate(align_corners=False) of the crop,
 *              no antialiasing (downscaling by more than 2x aliases, as torch without antialias)
 *   flip       horizontal mirror with probability 0.5 (torchvision RandomHorizontalFlip)
 *   erase      torchvision RandomErasing(p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0):
 *              a rectangle of the output set to `eraseValue` (default 0) in output units, i.e.
 *              after normalization (0 = mid-grey for the u8 path). A constant, not random noise.
 *   normalize  u8 sources only: v -> (v / 255 - 0.5) / 0.5 (src/data/preprocess.ts); f32
 *              sources are used as they are (already normalized).
 *
 * The random parameters are drawn on the CPU (`sampleAugmentParams`) from a Philox Generator
 * (src/tensor/random.ts), a fixed AUGMENT_DRAWS_PER_SAMPLE u32 per sample whatever the outcome,
 * so the parameters of sample k of a batch depend only on (seed, offset + 12 k): saving
 * `gen.state()` with a checkpoint reproduces them on resumption, and sampling a batch in two
 * parts gives the same parameters as in one. Use a Generator reserved for augmentation.
 *
 * None of this is differentiable: the op takes data, not parameters, and refuses inputs that
 * require grad. `flipHorizontal` is an ordinary op with a gradient (itself).
 */
import { record } from '../autograd/tape.js';
import { getDevice } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/create.js';
import { nd, type NdArray } from '../tensor/ndarray.js';
import { flatGrid } from '../../shaders/common.js';
import { augmentKey, augmentWgsl, flipWWgsl } from '../../shaders/augment.js';
import { requireF32 } from '../tensor/kernel.js';
import { reference as resampleRef } from './resample.js';

// ---------------------------------------------------------------- parameters

export interface AugmentOptions {
  /** Output [OH, OW]. Default: the input size. */
  out?: readonly [number, number];
  /** Probability of a horizontal flip. Default 0.5. */
  flipProb?: number;
  /**
   * Zoom-crop: the crop's area is a fraction s ~ U[zoomMin, 1] of the largest box of the
   * output's aspect that fits in the source, its position uniform inside the source.
   * Default 0.8 (each side scaled by sqrt(s) in [0.894, 1]); 1 disables zooming.
   */
  zoomMin?: number;
  /** RandomErasing probability. Default 0.5 (0 disables erasing). */
  eraseProb?: number;
  /** Erased area as a fraction of the output's, [min, max]. Default [0.02, 0.33]. */
  eraseScale?: readonly [number, number];
  /** Aspect ratio h / w of the erased box, log-uniform in [min, max]. Default [0.3, 3.3]. */
  eraseRatio?: readonly [number, number];
  /** Value written in the erased box, in output (normalized) units. Default 0. */
  eraseValue?: number;
}

/** The augmentation of a batch: plain typed arrays, one entry (or 4) per sample. */
export interface AugmentParams {
  N: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  /** (N): 1 mirrors the sample's output horizontally, 0 does not. */
  flip: Uint8Array;
  /** (N, 4): zoom-crop box top, left, height, width in source pixels (inside inH x inW, h, w >= 1). */
  crop: Int32Array;
  /** (N, 4): erased box top, left, height, width in output pixels (h * w = 0: nothing erased). */
  erase: Int32Array;
  /** The value written in erased boxes (output units). */
  eraseValue: number;
}

/** u32 draws consumed per sample (12 Philox blocks), whatever the outcome. */
export const AUGMENT_DRAWS_PER_SAMPLE = 48;
const ERASE_ATTEMPTS = 10;

function positiveInt(v: number, what: string, op: string): void {
  if (!Number.isInteger(v) || v < 1)
    throw new RangeError(`${op}: ${what} must be a positive integer, got ${v}`);
}

function probability(v: number, what: string, op: string): void {
  if (!(v >= 0 && v <= 1)) throw new RangeError(`${op}: ${what} must be in [0, 1], got ${v}`);
}

function range(v: readonly [number, number], lo: number, what: string, op: string): void {
  if (!(v.length === 2 && v[0] > lo && v[0] <= v[1] && Number.isFinite(v[1])))
    throw new RangeError(`${op}: ${what} must be [min, max] with ${lo} < min <= max, got [${v}]`);
}

/**
 * Draws the augmentation of N samples of inH x inW (see the file header). Each sample uses
 * the uniforms u_k = bits_k / 2^32 in [0, 1), k = 0..47, of its 48 draws:
 *   u0 flip (< flipProb); u1 zoom area, u2 crop top, u3 crop left;
 *   u4 erase (< eraseProb); attempt a = 0..9: u(8+4a) area, u(9+4a) log ratio, u(10+4a) top, u(11+4a) left.
 * Erasing as torchvision: area = OH OW U[scale], r = exp(U[log ratio]), h = round(sqrt(area r)),
 * w = round(sqrt(area / r)); the first attempt with h < OH and w < OW wins, top ~ U{0..OH-h},
 * left ~ U{0..OW-w}; after 10 failures nothing is erased.
 */
export function sampleAugmentParams(
  gen: Generator | number,
  N: number,
  inH: number,
  inW: number,
  options: AugmentOptions = {},
): AugmentParams {
  const op = 'sampleAugmentParams';
  if (!Number.isInteger(N) || N < 0)
    throw new RangeError(`${op}: N must be a non-negative integer, got ${N}`);
  positiveInt(inH, 'inH', op);
  positiveInt(inW, 'inW', op);
  const [outH, outW] = options.out ?? [inH, inW];
  positiveInt(outH, 'out height', op);
  positiveInt(outW, 'out width', op);
  const flipProb = options.flipProb ?? 0.5,
    eraseProb = options.eraseProb ?? 0.5,
    zoomMin = options.zoomMin ?? 0.8;
  const eraseScale = options.eraseScale ?? [0.02, 0.33],
    eraseRatio = options.eraseRatio ?? [0.3, 3.3];
  const eraseValue = options.eraseValue ?? 0;
  probability(flipProb, 'flipProb', op);
  probability(eraseProb, 'eraseProb', op);
  if (!(zoomMin > 0 && zoomMin <= 1))
    throw new RangeError(`${op}: zoomMin must be in (0, 1], got ${zoomMin}`);
  range(eraseScale, 0, 'eraseScale', op);
  range(eraseRatio, 0, 'eraseRatio', op);
  if (!Number.isFinite(eraseValue))
    throw new RangeError(`${op}: eraseValue must be finite, got ${eraseValue}`);

  const g = typeof gen === 'number' ? new Generator(gen) : gen;
  const bits = g.bitsCpu(N * AUGMENT_DRAWS_PER_SAMPLE);
  // the largest box of the output's aspect OH / OW inside the source
  const baseH = Math.min(inH, (inW * outH) / outW),
    baseW = Math.min(inW, (inH * outW) / outH);
  const [logR0, logR1] = [Math.log(eraseRatio[0]), Math.log(eraseRatio[1])];
  const p: AugmentParams = {
    N,
    inH,
    inW,
    outH,
    outW,
    flip: new Uint8Array(N),
    crop: new Int32Array(4 * N),
    erase: new Int32Array(4 * N),
    eraseValue,
  };
  for (let n = 0; n < N; n++) {
    const u = (k: number) => bits[n * AUGMENT_DRAWS_PER_SAMPLE + k] / 2 ** 32;
    p.flip[n] = u(0) < flipProb ? 1 : 0;
    // zoom-crop: area fraction s of the base box, sides scaled by sqrt(s)
    const side = Math.sqrt(zoomMin + (1 - zoomMin) * u(1));
    const h = Math.min(inH, Math.max(1, Math.round(baseH * side)));
    const w = Math.min(inW, Math.max(1, Math.round(baseW * side)));
    p.crop.set([Math.floor(u(2) * (inH - h + 1)), Math.floor(u(3) * (inW - w + 1)), h, w], 4 * n);
    // random erasing
    if (!(u(4) < eraseProb)) continue;
    for (let a = 0; a < ERASE_ATTEMPTS; a++) {
      const k = 8 + 4 * a;
      const area = outH * outW * (eraseScale[0] + (eraseScale[1] - eraseScale[0]) * u(k));
      const r = Math.exp(logR0 + (logR1 - logR0) * u(k + 1));
      const eh = Math.round(Math.sqrt(area * r)),
        ew = Math.round(Math.sqrt(area / r));
      if (!(eh < outH && ew < outW)) continue;
      p.erase.set(
        [Math.floor(u(k + 2) * (outH - eh + 1)), Math.floor(u(k + 3) * (outW - ew + 1)), eh, ew],
        4 * n,
      );
      break;
    }
  }
  return p;
}

/** No augmentation: the full source resized to OH x OW (and normalized, for u8 sources). */
export function identityAugmentParams(
  N: number,
  inH: number,
  inW: number,
  outH = inH,
  outW = inW,
): AugmentParams {
  const crop = new Int32Array(4 * N);
  for (let n = 0; n < N; n++) crop.set([0, 0, inH, inW], 4 * n);
  return {
    N,
    inH,
    inW,
    outH,
    outW,
    flip: new Uint8Array(N),
    crop,
    erase: new Int32Array(4 * N),
    eraseValue: 0,
  };
}

/** Checks that the arrays have N entries and every box lies inside its image. */
function checkParams(op: string, p: AugmentParams): void {
  const { N, inH, inW, outH, outW } = p;
  if (!Number.isInteger(N) || N < 0)
    throw new RangeError(`${op}: params.N must be a non-negative integer, got ${N}`);
  for (const [k, v] of Object.entries({ inH, inW, outH, outW })) positiveInt(v, `params.${k}`, op);
  if (p.flip.length !== N || p.crop.length !== 4 * N || p.erase.length !== 4 * N) {
    throw new RangeError(
      `${op}: params for N = ${N} need flip (N), crop (4N) and erase (4N) entries, got ${p.flip.length}, ${p.crop.length}, ${p.erase.length}`,
    );
  }
  if (!Number.isFinite(p.eraseValue))
    throw new RangeError(`${op}: params.eraseValue must be finite, got ${p.eraseValue}`);
  for (let n = 0; n < N; n++) {
    const [t, l, h, w] = p.crop.subarray(4 * n, 4 * n + 4);
    if (!(h >= 1 && w >= 1 && t >= 0 && l >= 0 && t + h <= inH && l + w <= inW)) {
      throw new RangeError(
        `${op}: crop box [${t}, ${l}, ${h}, ${w}] (top, left, h, w) of sample ${n} is not a non-empty box inside the ${inH}x${inW} source`,
      );
    }
    const [et, el, eh, ew] = p.erase.subarray(4 * n, 4 * n + 4);
    if (!(eh >= 0 && ew >= 0 && et >= 0 && el >= 0 && et + eh <= outH && el + ew <= outW)) {
      throw new RangeError(
        `${op}: erase box [${et}, ${el}, ${eh}, ${ew}] (top, left, h, w) of sample ${n} is not inside the ${outH}x${outW} output`,
      );
    }
    if (p.flip[n] > 1) throw new RangeError(`${op}: flip of sample ${n} is ${p.flip[n]}, expected 0 or 1`);
  }
}

// ---------------------------------------------------------------- u8 upload

/** Words per packed row: 4 pixels per u32. */
const rowWords = (W: number) => Math.ceil(W / 4);

/**
 * Uploads u8 images (N*C*H*W bytes, CHW image after image, as the image cache stores them)
 * packed 4 per u32: a u32 tensor of shape (N, C, H, ceil(W / 4)), little-endian along W, each
 * row padded to whole words (no padding when W % 4 == 0, then the bytes are uploaded as they
 * are). Only augmentImages reads it (the true W comes from the params).
 */
export function uploadU8Images(pixels: Uint8Array, N: number, C: number, H: number, W: number): Tensor {
  const op = 'uploadU8Images';
  if (!Number.isInteger(N) || N < 0)
    throw new RangeError(`${op}: N must be a non-negative integer, got ${N}`);
  for (const [k, v] of Object.entries({ C, H, W })) positiveInt(v, k, op);
  if (pixels.length !== N * C * H * W)
    throw new RangeError(
      `${op}: ${pixels.length} bytes do not fill (N, C, H, W) = [${N}, ${C}, ${H}, ${W}] (${N * C * H * W} bytes)`,
    );
  const RW = rowWords(W);
  const t = Tensor.empty([N, C, H, RW], 'u32');
  let bytes = pixels;
  if (W % 4 !== 0) {
    bytes = new Uint8Array(N * C * H * RW * 4);
    for (let row = 0; row < N * C * H; row++)
      bytes.set(pixels.subarray(row * W, (row + 1) * W), row * RW * 4);
  }
  if (bytes.byteLength) getDevice().write(t.buffer, bytes);
  return t;
}

// ---------------------------------------------------------------- the op

/**
 * Applies `params` to a batch: src is (N, C, inH, inW) f32 (used as is, e.g. already in
 * [-1, 1]) or the u32 tensor of uploadU8Images (normalized to [-1, 1] in the kernel).
 * Returns (N, C, outH, outW) f32. Not differentiable: src must not require grad.
 */
export function augmentImages(src: Tensor, params: AugmentParams): Tensor {
  const op = 'augmentImages';
  checkParams(op, params);
  const { N, inH, inW, outH, outW } = params;
  if (src.requiresGrad)
    throw new Error(
      `${op}: the augmentation takes data, not parameters, and has no gradient; got an input [${src.shape}] that requires grad`,
    );
  if (src.dtype === 'i32')
    throw new TypeError(
      `${op}: expected f32 images or u32-packed u8 images (uploadU8Images), got i32 of shape [${src.shape}]`,
    );
  const u8 = src.dtype === 'u32';
  const want = `(N, C, H, W) = [${N}, C, ${inH}, ${u8 ? `ceil(${inW} / 4) = ${rowWords(inW)}` : inW}]`;
  if (
    src.rank !== 4 ||
    src.shape[0] !== N ||
    src.shape[2] !== inH ||
    src.shape[3] !== (u8 ? rowWords(inW) : inW) ||
    src.shape[1] < 1
  ) {
    throw new RangeError(
      `${op}: ${u8 ? 'packed u8' : 'f32'} images of shape [${src.shape}] do not match the params, which expect ${want}`,
    );
  }
  const C = src.shape[1];
  const out = Tensor.empty([N, C, outH, outW]);
  if (out.size === 0) return out;
  // per sample: crop (4), erase (4), flip + 3 padding words (three vec4<i32>)
  const box = new Int32Array(12 * N);
  for (let n = 0; n < N; n++) {
    box.set(params.crop.subarray(4 * n, 4 * n + 4), 12 * n);
    box.set(params.erase.subarray(4 * n, 4 * n + 4), 12 * n + 4);
    box[12 * n + 8] = params.flip[n];
  }
  const boxT = tensor(box, [N, 12], 'i32');
  const n = N * outH * outW;
  const p = new Params()
    .u32(n)
    .u32(C)
    .u32(inH)
    .u32(inW)
    .u32(outH)
    .u32(outW)
    .u32(rowWords(inW))
    .f32(params.eraseValue);
  const kind = u8 ? 'u8' : 'f32';
  getDevice().dispatch(
    { key: augmentKey(kind), code: () => augmentWgsl(kind) },
    p.bytes(),
    [src.binding(), boxT.binding(), out.binding()],
    flatGrid(n),
  );
  boxT.dispose();
  return out;
}

/** Mirrors the last axis (W of an (N, C, H, W) batch): out[..., j] = x[..., W - 1 - j]. Its gradient is itself. */
export function flipHorizontal(x: Tensor): Tensor {
  requireF32('flipHorizontal', x);
  if (x.rank < 1)
    throw new RangeError(`flipHorizontal: expected a tensor with at least one axis, got shape [${x.shape}]`);
  const out = Tensor.empty(x.shape);
  if (out.size > 0) {
    const W = x.shape[x.rank - 1];
    getDevice().dispatch(
      { key: 'flip-w', code: flipWWgsl },
      new Params().u32(out.size).u32(W).bytes(),
      [x.binding(), out.binding()],
      flatGrid(out.size),
    );
  }
  return record(out, 'flip_horizontal', [x], (g) => [flipHorizontal(g)]);
}

// ---------------------------------------------------------------- CPU reference (float64)

function normalizeU8Ref(pixels: Uint8Array, shape: readonly number[]): NdArray {
  return nd(
    shape,
    Array.from(pixels, (v) => (v / 255 - 0.5) / 0.5),
  );
}

function flipRef(x: NdArray): NdArray {
  const W = x.shape[x.shape.length - 1];
  const out = nd(x.shape);
  for (let i = 0; i < x.data.length; i++) {
    const j = i % W;
    out.data[i] = x.data[i - j + (W - 1 - j)];
  }
  return out;
}

/** Step by step, sample by sample: crop (a copy), resize (resample's reference), flip, erase. */
function augmentRef(x: NdArray, p: AugmentParams): NdArray {
  const [N, C, H, W] = x.shape;
  const { outH, outW } = p;
  const out = nd([N, C, outH, outW]);
  for (let n = 0; n < N; n++) {
    const [t, l, h, w] = p.crop.subarray(4 * n, 4 * n + 4);
    const crop = nd([1, C, h, w]);
    for (let c = 0; c < C; c++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++)
          crop.data[(c * h + i) * w + j] = x.data[((n * C + c) * H + t + i) * W + l + j];
    let y = resampleRef.resizeBilinear(crop, [outH, outW], false);
    if (p.flip[n]) y = flipRef(y);
    const [et, el, eh, ew] = p.erase.subarray(4 * n, 4 * n + 4);
    for (let c = 0; c < C; c++)
      for (let i = et; i < et + eh; i++)
        for (let j = el; j < el + ew; j++) y.data[(c * outH + i) * outW + j] = p.eraseValue;
    out.data.set(y.data, n * C * outH * outW);
  }
  return out;
}

export const reference = {
  /** (v / 255 - 0.5) / 0.5 of u8 pixels, as an NdArray of `shape`. */
  normalizeU8: normalizeU8Ref,
  /** x (N, C, H, W) in output units (normalize u8 first). */
  augmentImages: augmentRef,
  flipHorizontal: flipRef,
};
