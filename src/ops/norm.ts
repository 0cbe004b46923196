/**
 * Normalization: batch norm (training and eval), L2 normalize, pixel norm.
 *
 * Batch norm, x of shape (N, C) or (N, C, ...spatial), channels on axis 1, M = N * spatial:
 *   training  mean and biased variance per channel from the batch, in one kernel with two
 *             passes over the data (mean first, then the mean of (x - mean)^2: no cancellation
 *             as in E[x^2] - E[x]^2); the running statistics, when given, are updated in place
 *             in the same kernel: running = (1 - momentum) running + momentum stat, with the
 *             unbiased variance (var * M / (M - 1)), as PyTorch does
 *   eval      the running statistics
 *   then      y = (x - mean) * rstd * weight + bias in one kernel (rstd = 1 / sqrt(var + eps))
 * Backward (g = dL/dy, xhat = (x - mean) rstd):
 *   training  dx = weight rstd (g - mean(g) - xhat mean(g xhat))   (through the batch statistics)
 *   eval      dx = weight rstd g
 *   both      dweight = sum(g xhat), dbias = sum(g)
 * computed by two fused kernels (one per-channel reduction of g and g xhat, one elementwise)
 * when the backward is not itself recorded; when it is (createGraph), the same formulas are
 * built from differentiable engine ops, so batch norm also has gradients of gradients.
 */
import { isGradEnabled, record } from '../autograd/tape.js';
import { getDevice } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import { Tensor } from '../tensor/tensor.js';
import { contiguousStrides, nd, type NdArray } from '../tensor/ndarray.js';
import { full } from '../tensor/create.js';
import { axisNormWgsl, bnStatsWgsl, type AxisNormMode } from '../../shaders/norm.js';
import { flatGrid } from '../../shaders/common.js';
import { addScalar, div, greater, maximum, mul, rsqrt, sqrt, square, sub } from './elementwise.js';
import { elementwise, requireF32 } from '../tensor/kernel.js';
import { mean, normalizeAxes, sum } from './reduce.js';
import { reshape } from './shape.js';
import { channelMap, channelReduce, channelView, checkChannelVector } from './channel.js';

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  training: boolean;
  momentum?: number;
  eps?: number;
}

export function batchNorm(x: Tensor, opts: BatchNormOptions): Tensor {
  const {
    weight = null,
    bias = null,
    runningMean = null,
    runningVar = null,
    training,
    momentum = 0.1,
    eps = 1e-5,
  } = opts;
  requireF32('batchNorm', x);
  const [N, C, S] = channelView(x, 'batchNorm');
  checkChannelVector(weight, C, 'batchNorm', 'weight');
  checkChannelVector(bias, C, 'batchNorm', 'bias');
  checkChannelVector(runningMean, C, 'batchNorm', 'runningMean');
  checkChannelVector(runningVar, C, 'batchNorm', 'runningVar');
  if (!runningMean !== !runningVar)
    throw new RangeError('batchNorm: give both runningMean and runningVar, or neither');
  if (!training && !runningMean)
    throw new RangeError('batchNorm: eval mode (training: false) needs runningMean and runningVar');
  if (!(eps > 0)) throw new RangeError(`batchNorm: eps must be positive, got ${eps}`);
  if (!(momentum >= 0 && momentum <= 1))
    throw new RangeError(`batchNorm: momentum must be in [0, 1], got ${momentum}`);
  const M = N * S;
  if (training && M <= 1)
    throw new RangeError(
      `batchNorm: expected more than 1 value per channel when training, got input of shape [${x.shape}]`,
    );
  for (const t of [runningMean, runningVar])
    if (t?.requiresGrad)
      throw new Error('batchNorm: running statistics must not require grad (they are updated in place)');

  let mu: Tensor, rstd: Tensor;
  if (training) {
    mu = Tensor.empty([C]);
    rstd = Tensor.empty([C]);
    const update = runningMean !== null;
    const params = new Params().u32(N).u32(C).u32(S).u32(0).f32(eps).f32(momentum).u32(0).u32(0);
    if (C > 65535)
      throw new RangeError(`batchNorm: ${C} channels exceed the 65535 workgroups of the statistics kernel`);
    if (C > 0) {
      getDevice().dispatch(
        { key: `bn-stats${update ? ':update' : ''}`, code: () => bnStatsWgsl(update) },
        params.bytes(),
        [
          x.binding(),
          mu.binding(),
          rstd.binding(),
          ...(update ? [runningMean!.binding(), runningVar!.binding()] : []),
        ],
        [C, 1, 1],
      );
    }
  } else {
    mu = runningMean!;
    rstd = elementwise('bn_rstd', 'inverseSqrt(a + alpha)', [runningVar!], eps);
  }
  const chans: Record<string, Tensor> = { mean: mu, rstd };
  if (weight) chans.w = weight;
  if (bias) chans.b = bias;
  const expr = `(x - mean) * ${weight ? '(rstd * w)' : 'rstd'}${bias ? ' + b' : ''}`;
  const y = channelMap('bn_apply', expr, x.shape, { elems: { x }, chans });

  return record(y, 'batch_norm', [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])], (g) => {
    const grads = isGradEnabled()
      ? bnBackwardGraph(g, x, weight, bias, mu, rstd, training, eps)
      : bnBackwardFused(g, x, weight, bias, mu, rstd, training, M);
    return [grads.dx, ...(weight ? [grads.dw] : []), ...(bias ? [grads.db] : [])];
  });
}

interface BnGrads {
  dx: Tensor | null;
  dw: Tensor | null;
  db: Tensor | null;
}

function bnBackwardFused(
  g: Tensor,
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  mu: Tensor,
  rstd: Tensor,
  training: boolean,
  M: number,
): BnGrads {
  const needSums = training || !!weight?.requiresGrad || !!bias?.requiresGrad;
  const [sg, sgx] = needSums
    ? channelReduce('bn_bwd_sums', ['g', 'g * (x - mean) * rstd'], x.shape, { g, x }, { mean: mu, rstd })
    : [null, null];
  let dx: Tensor | null = null;
  if (x.requiresGrad) {
    const chans: Record<string, Tensor> = { mean: mu, rstd };
    if (weight) chans.w = weight;
    const k = weight ? '(rstd * w)' : 'rstd';
    if (training) {
      chans.sg = sg!;
      chans.sgx = sgx!;
      dx = channelMap('bn_dx_train', `${k} * (g - sg / M - (x - mean) * (rstd * sgx / M))`, x.shape, {
        elems: { g, x },
        chans,
        M,
      });
    } else {
      delete chans.mean;
      dx = channelMap('bn_dx_eval', `g * ${k}`, x.shape, { elems: { g }, chans });
    }
  }
  return { dx, dw: weight?.requiresGrad ? sgx : null, db: bias?.requiresGrad ? sg : null };
}

/** The same gradients from differentiable engine ops (used when the backward is recorded). */
function bnBackwardGraph(
  g: Tensor,
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  runMean: Tensor,
  rstd: Tensor,
  training: boolean,
  eps: number,
): BnGrads {
  const C = x.shape[1];
  const axes = x.shape.map((_, d) => d).filter((d) => d !== 1);
  const kept = x.shape.map((s, d) => (d === 1 ? s : 1));
  let xhat: Tensor, r: Tensor;
  if (training) {
    const xc = sub(x, mean(x, axes, true));
    r = rsqrt(addScalar(mean(square(xc), axes, true), eps));
    xhat = mul(xc, r);
  } else {
    r = reshape(rstd, kept);
    xhat = mul(sub(x, reshape(runMean, kept)), r);
  }
  const dxhat = weight ? mul(g, reshape(weight, kept)) : g;
  let dx: Tensor | null = null;
  if (x.requiresGrad) {
    dx = training
      ? mul(r, sub(sub(dxhat, mean(dxhat, axes, true)), mul(xhat, mean(mul(dxhat, xhat), axes, true))))
      : mul(dxhat, r);
  }
  return {
    dx,
    dw: weight?.requiresGrad ? reshape(sum(mul(g, xhat), axes), [C]) : null,
    db: bias?.requiresGrad ? reshape(sum(g, axes), [C]) : null,
  };
}

// ---------------------------------------------------------------- L2 normalize, pixel norm

function axisNormKernel(mode: AxisNormMode, x: Tensor, axis: number, eps: number): Tensor {
  const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const R = x.shape[axis];
  const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = Tensor.empty(x.shape);
  if (out.size === 0) return out;
  const params = new Params().u32(outer).u32(R).u32(inner).f32(eps);
  getDevice().dispatch(
    { key: `axis-norm:${mode}`, code: () => axisNormWgsl(mode) },
    params.bytes(),
    [x.binding(), out.binding()],
    flatGrid(outer * inner),
  );
  return out;
}

/**
 * x / max(||x||_2, eps) along `axis` (PyTorch's F.normalize). Backward, y = x / n:
 * dx = (g - y sum(g y)) / n where the norm exceeds eps, g / eps where it is clamped.
 */
export function l2Normalize(x: Tensor, axis = -1, eps = 1e-12): Tensor {
  requireF32('l2Normalize', x);
  if (x.rank === 0)
    throw new RangeError('l2Normalize: expected a tensor with at least one axis, got a scalar');
  const [ax] = normalizeAxes(axis, x.rank, 'l2Normalize');
  if (!(eps > 0)) throw new RangeError(`l2Normalize: eps must be positive, got ${eps}`);
  const y = axisNormKernel('l2', x, ax, eps);
  return record(y, 'l2_normalize', [x], (g) => {
    const norm = sqrt(sum(square(x), ax, true));
    const n = maximum(norm, full([], eps));
    const unclamped = greater(norm, full([], eps)); // constant mask
    return [div(sub(g, mul(y, mul(sum(mul(g, y), ax, true), unclamped))), n)];
  });
}

/** StyleGAN's pixel norm: x * rsqrt(mean(x^2 over axis 1) + eps). dx = r (g - y mean(g y)). */
export function pixelNorm(x: Tensor, eps = 1e-8): Tensor {
  requireF32('pixelNorm', x);
  if (x.rank < 2) throw new RangeError(`pixelNorm: expected a tensor of shape (N, C, ...), got [${x.shape}]`);
  if (!(eps > 0)) throw new RangeError(`pixelNorm: eps must be positive, got ${eps}`);
  const y = axisNormKernel('pixel', x, 1, eps);
  return record(y, 'pixel_norm', [x], (g) => {
    const r = rsqrt(addScalar(mean(square(x), 1, true), eps));
    return [mul(r, sub(g, mul(y, mean(mul(g, y), 1, true))))];
  });
}

// ---------------------------------------------------------------- CPU reference (float64)

/** Calls f(n, c, s, flat) for every element of x viewed as (N, C, S). */
function forEachNCS(
  shape: readonly number[],
  f: (n: number, c: number, s: number, flat: number) => void,
): void {
  const [N, C] = shape;
  const S = shape.slice(2).reduce((a, b) => a * b, 1);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) f(n, c, s, (n * C + c) * S + s);
}

function axisNormRef(x: NdArray, axis: number, factor: (ss: number, R: number) => number): NdArray {
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const R = x.shape[ax];
  const inner = contiguousStrides(x.shape)[ax];
  const outer = x.data.length / (R * inner || 1);
  const out = nd(x.shape);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      let ss = 0;
      for (let r = 0; r < R; r++) ss += x.data[(o * R + r) * inner + k] ** 2;
      const f = factor(ss, R);
      for (let r = 0; r < R; r++) out.data[(o * R + r) * inner + k] = x.data[(o * R + r) * inner + k] * f;
    }
  }
  return out;
}

export const reference = {
  /** Returns y and the updated running statistics (new arrays; the inputs are not changed). */
  batchNorm(
    x: NdArray,
    o: {
      weight?: NdArray | null;
      bias?: NdArray | null;
      runningMean?: NdArray | null;
      runningVar?: NdArray | null;
      training: boolean;
      momentum?: number;
      eps?: number;
    },
  ): { y: NdArray; runningMean: NdArray | null; runningVar: NdArray | null } {
    const C = x.shape[1];
    const M = x.data.length / C;
    const eps = o.eps ?? 1e-5,
      momentum = o.momentum ?? 0.1;
    const mu = new Float64Array(C),
      v = new Float64Array(C);
    if (o.training) {
      forEachNCS(x.shape, (_n, c, _s, i) => (mu[c] += x.data[i] / M));
      forEachNCS(x.shape, (_n, c, _s, i) => (v[c] += (x.data[i] - mu[c]) ** 2 / M));
    } else {
      mu.set(o.runningMean!.data);
      v.set(o.runningVar!.data);
    }
    const y = nd(x.shape);
    forEachNCS(x.shape, (_n, c, _s, i) => {
      y.data[i] =
        ((x.data[i] - mu[c]) / Math.sqrt(v[c] + eps)) * (o.weight ? o.weight.data[c] : 1) +
        (o.bias ? o.bias.data[c] : 0);
    });
    let rm = o.runningMean ? nd([C], o.runningMean.data) : null,
      rv = o.runningVar ? nd([C], o.runningVar.data) : null;
    if (o.training && rm && rv) {
      rm = nd(
        [C],
        rm.data.map((r, c) => (1 - momentum) * r + momentum * mu[c]),
      );
      rv = nd(
        [C],
        rv.data.map((r, c) => (1 - momentum) * r + momentum * v[c] * (M / (M - 1))),
      );
    }
    return { y, runningMean: rm, runningVar: rv };
  },
  l2Normalize: (x: NdArray, axis = -1, eps = 1e-12) =>
    axisNormRef(x, axis, (ss) => 1 / Math.max(Math.sqrt(ss), eps)),
  pixelNorm: (x: NdArray, eps = 1e-8) => axisNormRef(x, 1, (ss, R) => 1 / Math.sqrt(ss / R + eps)),
};
