/**
 * Resampling: StyleGAN2's upfirdn2d (upsample, pad, FIR filter, downsample) with its
 * upsample2d / downsample2d conventions, and bilinear resizing as PyTorch's F.interpolate.
 *
 * upfirdn2d(x, f, {up, down, padding: [x0, x1, y0, y1], gain, flip}) on (N, C, H, W):
 *   1. upsample: insert up - 1 zeros after every sample          -> H * up
 *   2. pad by [y0, y1] rows and [x0, x1] columns (negative crops) -> H * up + y0 + y1
 *   3. convolve with f * gain (true convolution; `flip` makes it a correlation)
 *   4. keep every down-th sample                                  -> OH = (H up + y0 + y1 - fh) / down + 1 (floor)
 * A 1-D filter [a, b, ...] means the separable 2-D filter outer(f, f) (gain applied once).
 * The gradient is upfirdn2d again, with up and down swapped, the filter flipped and the padding
 *   [fw - x0 - 1, W upx - OW downx + x0 - upx + 1, fh - y0 - 1, H upy - OH downy + y0 - upy + 1],
 * so gradients of any order come from the same kernel.
 */
import { noGrad, record } from '../autograd/tape.js';
import { getDevice } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import { Tensor } from '../tensor/tensor.js';
import { nd, type NdArray } from '../tensor/ndarray.js';
import { tensor } from '../tensor/create.js';
import { keep } from '../tensor/scope.js';
import { flatGrid } from '../../shaders/common.js';
import {
  bilinearBackwardWgsl,
  bilinearWgsl,
  FIR_WG,
  upfirdn2dKey,
  upfirdn2dWgsl,
} from '../../shaders/resample.js';
import { mul } from './elementwise.js';
import { requireF32 } from '../tensor/kernel.js';
import { reshape } from './shape.js';

export type Filter = Tensor | readonly number[] | readonly (readonly number[])[];

export interface Upfirdn2dOptions {
  up?: number | readonly [number, number];
  down?: number | readonly [number, number];
  /** [x0, x1, y0, y1], or [x, y], or one number for all four. Negative values crop. */
  padding?: number | readonly number[];
  gain?: number;
  flip?: boolean;
}

interface FirConfig {
  upx: number;
  upy: number;
  downx: number;
  downy: number;
  pad: [number, number, number, number];
  gain: number;
  flip: boolean;
}

function expandPadding(p: number | readonly number[], op: string): [number, number, number, number] {
  const v = typeof p === 'number' ? [p, p, p, p] : p.length === 2 ? [p[0], p[0], p[1], p[1]] : [...p];
  if (v.length !== 4 || v.some((d) => !Number.isInteger(d)))
    throw new RangeError(`${op}: padding must be an integer, [x, y] or [x0, x1, y0, y1], got [${p}]`);
  return v as [number, number, number, number];
}

function factorPair(v: number | readonly [number, number], name: string, op: string): [number, number] {
  const [fx, fy] = typeof v === 'number' ? [v, v] : v;
  if (![fx, fy].every((d) => Number.isInteger(d) && d >= 1))
    throw new RangeError(`${op}: ${name} must be a positive integer (or [x, y]), got ${v}`);
  return [fx, fy];
}

/** The 2-D filter as a tensor of shape (fh, fw). */
function filterTensor(f: Filter, op: string): Tensor {
  if (f instanceof Tensor) {
    requireF32(op, f);
    if (f.requiresGrad)
      throw new Error(`${op}: the filter is a constant (gradients flow to x only); it must not require grad`);
    if (f.rank === 2) return f;
    if (f.rank === 1) return noGrad(() => mul(reshape(f, [f.size, 1]), reshape(f, [1, f.size])));
    throw new RangeError(`${op}: the filter must be 1-D (separable) or 2-D, got shape [${f.shape}]`);
  }
  if (f.length === 0) throw new RangeError(`${op}: empty filter`);
  let shape: [number, number], values: number[];
  if (typeof f[0] === 'number') {
    const taps = f as readonly number[];
    shape = [taps.length, taps.length];
    values = taps.flatMap((a) => taps.map((b) => a * b));
  } else {
    const rows = f as readonly (readonly number[])[];
    if (rows.some((r) => !Array.isArray(r) || r.length !== rows[0].length || r.length === 0))
      throw new RangeError(`${op}: a 2-D filter must be a non-empty rectangle`);
    shape = [rows.length, rows[0].length];
    values = rows.flat();
  }
  if (values.some((v) => !Number.isFinite(v)))
    throw new RangeError(`${op}: filter taps must be finite numbers`);
  // Uploading is a queue write, which submits the pending dispatches: filters given as lists
  // (a handful of distinct ones per network) are uploaded once per device and kept.
  const device = getDevice();
  let cache = filterCache.get(device);
  if (!cache) filterCache.set(device, (cache = new Map()));
  const key = `${shape}:${values.map((v) => Math.fround(v)).join(',')}`;
  let t = cache.get(key);
  if (!t || t.isDisposed) {
    t = keep(tensor(values, shape));
    cache.set(key, t);
  }
  return t;
}

const filterCache = new WeakMap<object, Map<string, Tensor>>();

export function upfirdn2d(x: Tensor, filter: Filter, opts: Upfirdn2dOptions = {}): Tensor {
  const op = 'upfirdn2d';
  requireF32(op, x);
  if (x.rank !== 4) throw new RangeError(`${op}: expected an input of shape (N, C, H, W), got [${x.shape}]`);
  const [upx, upy] = factorPair(opts.up ?? 1, 'up', op);
  const [downx, downy] = factorPair(opts.down ?? 1, 'down', op);
  const cfg: FirConfig = {
    upx,
    upy,
    downx,
    downy,
    pad: expandPadding(opts.padding ?? 0, op),
    gain: opts.gain ?? 1,
    flip: opts.flip ?? false,
  };
  const f = filterTensor(filter, op);
  return firCore(x, f, cfg);
}

function firOutputSize(x: Tensor, f: Tensor, c: FirConfig): [number, number] {
  const [, , H, W] = x.shape;
  const [fh, fw] = f.shape;
  const nh = H * c.upy + c.pad[2] + c.pad[3] - fh,
    nw = W * c.upx + c.pad[0] + c.pad[1] - fw;
  if (nh < 0 || nw < 0) {
    throw new RangeError(
      `upfirdn2d: the ${fh} x ${fw} filter does not fit the upsampled and padded input (${H * c.upy + c.pad[2] + c.pad[3]} x ${W * c.upx + c.pad[0] + c.pad[1]}) of [${x.shape}]`,
    );
  }
  return [Math.floor(nh / c.downy) + 1, Math.floor(nw / c.downx) + 1];
}

/** Workgroups for OW columns by `rows` rows; rows past 65535 workgroups fold into z. */
function firGrid(OW: number, rows: number): [number, number, number] {
  const gx = Math.ceil(OW / FIR_WG[0]),
    gr = Math.ceil(rows / FIR_WG[1]);
  if (gx > 65535) throw new RangeError(`upfirdn2d: an output row of ${OW} is too wide`);
  const z = Math.ceil(gr / 65535);
  return [gx, Math.ceil(gr / z), z];
}

function firCore(x: Tensor, f: Tensor, c: FirConfig): Tensor {
  const [N, C, H, W] = x.shape;
  const [fh, fw] = f.shape;
  const [OH, OW] = firOutputSize(x, f, c);
  const y = Tensor.empty([N, C, OH, OW]);
  if (y.size > 0) {
    const rows = N * C * OH;
    const params = new Params()
      .u32(rows)
      .u32(H)
      .u32(W)
      .u32(OH)
      .u32(OW)
      .i32(c.pad[0])
      .i32(c.pad[2])
      .f32(c.gain);
    const spec = { upx: c.upx, upy: c.upy, downx: c.downx, downy: c.downy, fh, fw, rev: !c.flip };
    getDevice().dispatch(
      { key: upfirdn2dKey(spec), code: () => upfirdn2dWgsl(spec) },
      params.bytes(),
      [x.binding(), f.binding(), y.binding()],
      firGrid(OW, rows),
    );
  }
  return record(y, 'upfirdn2d', [x], (g) => {
    const back: FirConfig = {
      upx: c.downx,
      upy: c.downy,
      downx: c.upx,
      downy: c.upy,
      pad: [
        fw - c.pad[0] - 1,
        W * c.upx - OW * c.downx + c.pad[0] - c.upx + 1,
        fh - c.pad[2] - 1,
        H * c.upy - OH * c.downy + c.pad[2] - c.upy + 1,
      ],
      gain: c.gain,
      flip: !c.flip,
    };
    return [firCore(g, f, back)];
  });
}

/** The filter normalized to sum 1 (as StyleGAN2's setup_filter), as a 1-D or 2-D list. */
function normalized(f: readonly number[] | readonly (readonly number[])[]): number[] | number[][] {
  if (typeof f[0] === 'number') {
    const taps = f as readonly number[];
    const s = taps.reduce((a, b) => a + b, 0);
    return taps.map((v) => v / s);
  }
  const rows = f as readonly (readonly number[])[];
  const s = rows.flat().reduce((a, b) => a + b, 0);
  return rows.map((r) => r.map((v) => v / s));
}

function filterSize(f: readonly number[] | readonly (readonly number[])[]): [number, number] {
  return typeof f[0] === 'number' ? [f.length, f.length] : [f.length, (f[0] as readonly number[]).length];
}

/**
 * 2x (or `factor`x) upsampling as StyleGAN2: the filter normalized to sum 1, gain factor^2 (the
 * inserted zeros would otherwise dim the image), padding [(fw + up - 1) / 2, (fw - up) / 2] per
 * axis (floor) so the output is exactly H up x W up.
 */
export function upsample2d(
  x: Tensor,
  f: readonly number[] | readonly (readonly number[])[] = [1, 3, 3, 1],
  factor = 2,
  gain = 1,
): Tensor {
  const [fh, fw] = filterSize(f);
  const px0 = Math.floor((fw + factor - 1) / 2),
    px1 = Math.floor((fw - factor) / 2);
  const py0 = Math.floor((fh + factor - 1) / 2),
    py1 = Math.floor((fh - factor) / 2);
  return upfirdn2d(x, normalized(f), {
    up: factor,
    padding: [px0, px1, py0, py1],
    gain: gain * factor * factor,
  });
}

/** 2x (or `factor`x) downsampling as StyleGAN2: filter normalized to sum 1, padding [(fw - down + 1) / 2, (fw - down) / 2]. */
export function downsample2d(
  x: Tensor,
  f: readonly number[] | readonly (readonly number[])[] = [1, 3, 3, 1],
  factor = 2,
  gain = 1,
): Tensor {
  const [fh, fw] = filterSize(f);
  const px0 = Math.floor((fw - factor + 1) / 2),
    px1 = Math.floor((fw - factor) / 2);
  const py0 = Math.floor((fh - factor + 1) / 2),
    py1 = Math.floor((fh - factor) / 2);
  return upfirdn2d(x, normalized(f), { down: factor, padding: [px0, px1, py0, py1], gain });
}

// ---------------------------------------------------------------- bilinear

export interface ResizeOptions {
  alignCorners?: boolean;
}

function bilinearScale(inSize: number, outSize: number, align: boolean): number {
  if (align) return outSize > 1 ? (inSize - 1) / (outSize - 1) : 0;
  return inSize / outSize;
}

/** Bilinear resize of (N, C, H, W) to (N, C, outH, outW), as F.interpolate(mode='bilinear'). */
export function resizeBilinear(x: Tensor, size: readonly [number, number], opts: ResizeOptions = {}): Tensor {
  requireF32('resizeBilinear', x);
  if (x.rank !== 4)
    throw new RangeError(`resizeBilinear: expected an input of shape (N, C, H, W), got [${x.shape}]`);
  const [outH, outW] = size;
  if (![outH, outW].every((d) => Number.isInteger(d) && d >= 1))
    throw new RangeError(`resizeBilinear: the output size must be positive integers, got [${size}]`);
  if (x.shape[2] < 1 || x.shape[3] < 1)
    throw new RangeError(`resizeBilinear: cannot resize an empty image [${x.shape}]`);
  return bilinearOp(x, [outH, outW], opts.alignCorners ?? false, false);
}

/** forward: x (N, C, H, W) -> (N, C, OH, OW); adjoint: g (N, C, OH, OW) -> (N, C, H, W). */
function bilinearOp(t: Tensor, other: [number, number], align: boolean, adjoint: boolean): Tensor {
  const [N, C] = t.shape;
  const [H, W] = adjoint ? other : [t.shape[2], t.shape[3]];
  const [OH, OW] = adjoint ? [t.shape[2], t.shape[3]] : other;
  const out = Tensor.empty(adjoint ? [N, C, H, W] : [N, C, OH, OW]);
  if (out.size > 0) {
    const params = new Params()
      .u32(out.size)
      .u32(H)
      .u32(W)
      .u32(OH)
      .u32(OW)
      .u32(align ? 1 : 0)
      .f32(bilinearScale(H, OH, align))
      .f32(bilinearScale(W, OW, align));
    const def = adjoint
      ? { key: 'bilinear-bwd', code: bilinearBackwardWgsl }
      : { key: 'bilinear', code: bilinearWgsl };
    getDevice().dispatch(def, params.bytes(), [t.binding(), out.binding()], flatGrid(out.size));
  }
  const back: [number, number] = adjoint ? [OH, OW] : [H, W];
  return record(out, adjoint ? 'resize_bilinear_backward' : 'resize_bilinear', [t], (g) => [
    bilinearOp(g, back, align, !adjoint),
  ]);
}

// ---------------------------------------------------------------- CPU reference (float64)

/** StyleGAN2's upfirdn2d, literally step by step: zero insertion, pad / crop, convolution, subsampling. */
function upfirdn2dRef(x: NdArray, f2: number[][], o: Upfirdn2dOptions = {}): NdArray {
  const [N, C, H, W] = x.shape;
  const pairOf = (v: number | readonly [number, number] | undefined): [number, number] =>
    v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  const [upx, upy] = pairOf(o.up),
    [downx, downy] = pairOf(o.down);
  const [px0, px1, py0, py1] = expandPadding(o.padding ?? 0, 'reference');
  const gain = o.gain ?? 1;
  const fh = f2.length,
    fw = f2[0].length;
  const out: number[] = [];
  let OH = 0,
    OW = 0;
  for (let pl = 0; pl < N * C; pl++) {
    // 1. upsample: x[i] goes to row i * up, the up - 1 rows after it are zeros
    const UH = H * upy,
      UW = W * upx;
    const u: number[][] = Array.from({ length: UH }, () => new Array<number>(UW).fill(0));
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) u[i * upy][j * upx] = x.data[(pl * H + i) * W + j];
    // 2. pad with zeros (a negative amount crops)
    const PH = UH + py0 + py1,
      PW = UW + px0 + px1;
    const padded: number[][] = Array.from({ length: PH }, (_, r) =>
      Array.from({ length: PW }, (_, c) => {
        const ur = r - py0,
          uc = c - px0;
        return ur >= 0 && ur < UH && uc >= 0 && uc < UW ? u[ur][uc] : 0;
      }),
    );
    // 3. convolve: correlation with the reversed filter (the filter itself when flip) times gain
    const CH = PH - fh + 1,
      CW = PW - fw + 1;
    const conv: number[][] = Array.from({ length: CH }, (_, r) =>
      Array.from({ length: CW }, (_, c) => {
        let acc = 0;
        for (let ky = 0; ky < fh; ky++)
          for (let kx = 0; kx < fw; kx++)
            acc += (o.flip ? f2[ky][kx] : f2[fh - 1 - ky][fw - 1 - kx]) * padded[r + ky][c + kx];
        return acc * gain;
      }),
    );
    // 4. downsample: keep every down-th row and column, starting at 0
    OH = Math.ceil(CH / downy);
    OW = Math.ceil(CW / downx);
    for (let r = 0; r < OH; r++) for (let c = 0; c < OW; c++) out.push(conv[r * downy][c * downx]);
  }
  return nd([N, C, OH, OW], out);
}

function bilinearRef(x: NdArray, [OH, OW]: [number, number], align = false): NdArray {
  const [N, C, H, W] = x.shape;
  const out = nd([N, C, OH, OW]);
  const taps = (o: number, inSize: number, outSize: number): [number, number, number] => {
    const scale = bilinearScale(inSize, outSize, align);
    const src = align ? scale * o : Math.max(scale * (o + 0.5) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    return [i0, Math.min(i0 + 1, inSize - 1), src - i0];
  };
  for (let pl = 0; pl < N * C; pl++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        const [y0, y1, ly] = taps(oy, H, OH),
          [x0, x1, lx] = taps(ox, W, OW);
        const v = (r: number, c: number) => x.data[(pl * H + r) * W + c];
        out.data[(pl * OH + oy) * OW + ox] =
          (1 - ly) * ((1 - lx) * v(y0, x0) + lx * v(y0, x1)) + ly * ((1 - lx) * v(y1, x0) + lx * v(y1, x1));
      }
  return out;
}

export const reference = {
  /** f: 1-D taps (separable: outer(f, f)) or 2-D rows. */
  upfirdn2d(
    x: NdArray,
    f: readonly number[] | readonly (readonly number[])[],
    o: Upfirdn2dOptions = {},
  ): NdArray {
    const f2 =
      typeof f[0] === 'number'
        ? (f as number[]).map((a) => (f as number[]).map((b) => a * b))
        : (f as number[][]).map((r) => [...r]);
    return upfirdn2dRef(x, f2, o);
  },
  resizeBilinear: bilinearRef,
  normalizedFilter: normalized,
};
