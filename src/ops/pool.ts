/**
 * 2-D pooling on (N, C, H, W): average (count_include_pad = true, PyTorch's default), max, and
 * global average (adaptive average pooling to 1 x 1). Floor mode: OH = floor((H + 2 ph - kh) / sh) + 1.
 *
 * Gradients are again pooling kernels, each wrapped as an op whose own backward is its adjoint:
 *   avgPool2d  <->  avgPool2dBackward          (both linear: double backward for free)
 *   maxPool2d  ->   maxPool2dBackward (scatter g to the argmax)  <->  gather at the argmax
 */
import { record } from '../autograd/tape.js';
import { getDevice } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import { Tensor } from '../tensor/tensor.js';
import { nd, type NdArray } from '../tensor/ndarray.js';
import { flatGrid } from '../../shaders/common.js';
import { poolWgsl, type PoolKernel } from '../../shaders/pool.js';
import { requireF32 } from '../tensor/kernel.js';
import { mean } from './reduce.js';

export type Size2 = number | readonly [number, number];

interface PoolGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  k: [number, number];
  s: [number, number];
  p: [number, number];
}

const pair = (v: Size2): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

function geometry(
  op: string,
  x: Tensor,
  kernel: Size2,
  stride: Size2 | undefined,
  padding: Size2,
): PoolGeometry {
  requireF32(op, x);
  if (x.rank !== 4) throw new RangeError(`${op}: expected an input of shape (N, C, H, W), got [${x.shape}]`);
  const k = pair(kernel),
    s = pair(stride ?? kernel),
    p = pair(padding);
  const [N, C, H, W] = x.shape;
  for (const [name, v, min] of [
    ['kernel', k, 1],
    ['stride', s, 1],
    ['padding', p, 0],
  ] as const) {
    if (v.some((d) => !Number.isInteger(d) || d < min))
      throw new RangeError(`${op}: ${name} must be integers >= ${min}, got [${v}]`);
  }
  if (p[0] > k[0] / 2 || p[1] > k[1] / 2)
    throw new RangeError(`${op}: padding [${p}] should be at most half the kernel [${k}]`);
  const OH = Math.floor((H + 2 * p[0] - k[0]) / s[0]) + 1,
    OW = Math.floor((W + 2 * p[1] - k[1]) / s[1]) + 1;
  if (OH < 1 || OW < 1)
    throw new RangeError(
      `${op}: kernel [${k}] with padding [${p}] does not fit the input [${x.shape}] (output would be ${OH} x ${OW})`,
    );
  return { N, C, H, W, OH, OW, k, s, p };
}

function launch(kind: PoolKernel, geo: PoolGeometry, n: number, buffers: Tensor[]): void {
  if (n === 0) return;
  const params = new Params()
    .u32(n)
    .u32(geo.H)
    .u32(geo.W)
    .u32(geo.OH)
    .u32(geo.OW)
    .u32(geo.k[0])
    .u32(geo.k[1])
    .u32(geo.s[0])
    .u32(geo.s[1])
    .u32(geo.p[0])
    .u32(geo.p[1])
    .u32(0);
  getDevice().dispatch(
    { key: `pool:${kind}`, code: () => poolWgsl(kind) },
    params.bytes(),
    buffers.map((t) => t.binding()),
    flatGrid(n),
  );
}

const outShape = (g: PoolGeometry) => [g.N, g.C, g.OH, g.OW];
const inShape = (g: PoolGeometry) => [g.N, g.C, g.H, g.W];

/** Average pooling; the divisor is always kh * kw (padding counts as zeros). */
export function avgPool2d(x: Tensor, kernel: Size2, stride?: Size2, padding: Size2 = 0): Tensor {
  const geo = geometry('avgPool2d', x, kernel, stride, padding);
  return avgForward(x, geo);
}

function avgForward(x: Tensor, geo: PoolGeometry): Tensor {
  const y = Tensor.empty(outShape(geo));
  launch('avg', geo, y.size, [x, y]);
  return record(y, 'avg_pool2d', [x], (g) => [avgBackward(g, geo)]);
}

/** The adjoint of average pooling (its gradient), differentiable: its gradient is the pooling. */
function avgBackward(g: Tensor, geo: PoolGeometry): Tensor {
  const dx = Tensor.empty(inShape(geo));
  launch('avg_bwd', geo, dx.size, [g, dx]);
  return record(dx, 'avg_pool2d_backward', [g], (gg) => [avgForward(gg, geo)]);
}

/** Max pooling (padding is -inf); the gradient goes to the first maximum of each window. */
export function maxPool2d(x: Tensor, kernel: Size2, stride?: Size2, padding: Size2 = 0): Tensor {
  const geo = geometry('maxPool2d', x, kernel, stride, padding);
  const y = Tensor.empty(outShape(geo));
  const idx = Tensor.empty(outShape(geo), 'u32');
  launch('max', geo, y.size, [x, y, idx]);
  return record(y, 'max_pool2d', [x], (g) => [maxScatter(g, idx, geo)]);
}

function maxScatter(g: Tensor, idx: Tensor, geo: PoolGeometry): Tensor {
  const dx = Tensor.empty(inShape(geo));
  launch('max_bwd', geo, dx.size, [g, idx, dx]);
  return record(dx, 'max_pool2d_backward', [g], (gg) => [maxGather(gg, idx, geo)]);
}

function maxGather(src: Tensor, idx: Tensor, geo: PoolGeometry): Tensor {
  const out = Tensor.empty(outShape(geo));
  launch('max_gather', geo, out.size, [src, idx, out]);
  return record(out, 'max_pool2d_gather', [src], (g) => [maxScatter(g, idx, geo)]);
}

/** Adaptive average pooling to (outH, outW): 1 x 1 (global) or sizes that divide the input. */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Size2): Tensor {
  requireF32('adaptiveAvgPool2d', x);
  if (x.rank !== 4)
    throw new RangeError(`adaptiveAvgPool2d: expected an input of shape (N, C, H, W), got [${x.shape}]`);
  const [oh, ow] = pair(outputSize);
  const [, , H, W] = x.shape;
  if (oh === 1 && ow === 1) return globalAvgPool(x);
  if (!(oh >= 1 && ow >= 1 && H % oh === 0 && W % ow === 0)) {
    throw new RangeError(
      `adaptiveAvgPool2d: output size [${oh}, ${ow}] must be 1 x 1 or divide the input size [${H}, ${W}]`,
    );
  }
  return avgPool2d(x, [H / oh, W / ow]);
}

/** Mean over H and W, keeping them as 1 x 1: (N, C, H, W) -> (N, C, 1, 1). */
export function globalAvgPool(x: Tensor): Tensor {
  requireF32('globalAvgPool', x);
  if (x.rank !== 4)
    throw new RangeError(`globalAvgPool: expected an input of shape (N, C, H, W), got [${x.shape}]`);
  return mean(x, [2, 3], true);
}

// ---------------------------------------------------------------- CPU reference (float64)

function poolRef(
  x: NdArray,
  kernel: Size2,
  stride: Size2 | undefined,
  padding: Size2,
  f: (vals: number[], k: number) => number,
): NdArray {
  const [N, C, H, W] = x.shape;
  const k = pair(kernel),
    s = pair(stride ?? kernel),
    p = pair(padding);
  const OH = Math.floor((H + 2 * p[0] - k[0]) / s[0]) + 1,
    OW = Math.floor((W + 2 * p[1] - k[1]) / s[1]) + 1;
  const out = nd([N, C, OH, OW]);
  let o = 0;
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          const vals: number[] = [];
          for (let i = 0; i < k[0]; i++)
            for (let j = 0; j < k[1]; j++) {
              const h = oh * s[0] - p[0] + i,
                w = ow * s[1] - p[1] + j;
              if (h >= 0 && h < H && w >= 0 && w < W) vals.push(x.data[((n * C + c) * H + h) * W + w]);
            }
          out.data[o++] = f(vals, k[0] * k[1]);
        }
  return out;
}

export const reference = {
  avgPool2d: (x: NdArray, kernel: Size2, stride?: Size2, padding: Size2 = 0) =>
    poolRef(x, kernel, stride, padding, (v, k) => v.reduce((a, b) => a + b, 0) / k),
  maxPool2d: (x: NdArray, kernel: Size2, stride?: Size2, padding: Size2 = 0) =>
    poolRef(x, kernel, stride, padding, (v) => Math.max(...v)),
  globalAvgPool(x: NdArray): NdArray {
    const [N, C, H, W] = x.shape;
    const out = nd([N, C, 1, 1]);
    for (let i = 0; i < N * C; i++)
      for (let j = 0; j < H * W; j++) out.data[i] += x.data[i * H * W + j] / (H * W);
    return out;
  },
};
