/**
 * Activations beyond the plain elementwise ones of elementwise.ts: softplus (a careful log1p),
 * prelu (a learned slope per channel) and dropout (randomness).
 *
 * prelu(x, weight): y = x where x > 0, weight[c] x elsewhere; channel axis 1 (weight of shape
 * [C], or [1] shared by all channels as PyTorch's default PReLU()).
 *   dx = g where x > 0, weight[c] g elsewhere;  dweight[c] = sum over (n, s) of g x where x <= 0
 * One kernel forward; backward in two fused kernels (elementwise dx, per-channel reduction for
 * dweight), or from differentiable engine ops when the backward is recorded (createGraph).
 */
import { isGradEnabled, record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { mapNd, nd, type NdArray } from '../tensor/ndarray.js';
import { dropoutMask, getDefaultGenerator, type Generator } from '../tensor/random.js';
import { mul, scale, sigmoid, step, where } from './elementwise.js';
import { elementwise, requireF32 } from '../tensor/kernel.js';
import { sum } from './reduce.js';
import { reshape } from './shape.js';
import { channelMap, channelReduce, channelView } from './channel.js';

/**
 * softplus(x) = log(1 + e^x), stably: max(x, 0) + log1p(e^-|x|). WGSL has no log1p: for
 * u = e^-|x| < 0.01 a 5-term series (relative error < 1e-9), else log(1 + u) (relative error
 * below 1e-5 there). The gradient is sigmoid(x), itself differentiable (second order works).
 */
const SOFTPLUS =
  'max(a, 0.0) + select(log(1.0 + exp(-abs(a))), exp(-abs(a)) * (1.0 - exp(-abs(a)) * (0.5 - exp(-abs(a)) * (0.33333334 - exp(-abs(a)) * (0.25 - exp(-abs(a)) * 0.2)))), exp(-abs(a)) < 0.01)';

export function softplus(x: Tensor): Tensor {
  return record(elementwise('softplus', SOFTPLUS, [x]), 'softplus', [x], (g) => [mul(g, sigmoid(x))]);
}

export function prelu(x: Tensor, weight: Tensor): Tensor {
  requireF32('prelu', x, weight);
  const [, C] = x.rank === 1 ? [0, 1] : channelView(x, 'prelu');
  if (weight.rank !== 1 || (weight.shape[0] !== C && weight.shape[0] !== 1)) {
    throw new RangeError(
      `prelu: weight must have shape [${C}] (one slope per channel of x [${x.shape}]) or [1], got [${weight.shape}]`,
    );
  }
  if (x.rank < 2) {
    // a 1-D input has no channel axis: only a shared slope applies
    const y = elementwise('prelu_shared', 'select(a * b, a, a > 0.0)', [x, weight]);
    return record(y, 'prelu', [x, weight], (g) => [
      x.requiresGrad ? mul(g, where(step(x), elementwise('fill', 'alpha', [], 1, 0, []), weight)) : null,
      weight.requiresGrad
        ? reshape(sum(mul(g, where(step(x), elementwise('fill', 'alpha', [], 0, 0, []), x))), [1])
        : null,
    ]);
  }
  const shared = weight.shape[0] !== C || C === 1;
  const y = shared
    ? elementwise('prelu_shared', 'select(a * b, a, a > 0.0)', [x, weight])
    : channelMap('prelu', 'select(x * w, x, x > zero)', x.shape, { elems: { x }, chans: { w: weight } });
  return record(y, 'prelu', [x, weight], (g) => {
    const kept = x.shape.map((s, d) => (d === 1 ? weight.shape[0] : 1));
    if (isGradEnabled() || shared) {
      const pos = step(x); // constant mask
      const wB = reshape(weight, kept);
      const zero = elementwise('fill', 'alpha', [], 0, 0, []);
      const one = elementwise('fill', 'alpha', [], 1, 0, []);
      const axes = x.shape.map((_, d) => d).filter((d) => d !== 1 || shared);
      return [
        x.requiresGrad ? mul(g, where(pos, one, wB)) : null,
        weight.requiresGrad ? reshape(sum(mul(g, where(pos, zero, x)), axes), weight.shape) : null,
      ];
    }
    return [
      x.requiresGrad
        ? channelMap('prelu_dx', 'select(g * w, g, x > zero)', x.shape, {
            elems: { g, x },
            chans: { w: weight },
          })
        : null,
      weight.requiresGrad
        ? channelReduce('prelu_dw', ['select(g * x, zero, x > zero)'], x.shape, { g, x })[0]
        : null,
    ];
  });
}

export interface DropoutOptions {
  training: boolean;
  generator?: Generator;
}

/**
 * Inverted dropout: in training, each element is zeroed with probability p and the rest scaled
 * by 1 / (1 - p) (a mask from `dropoutMask`, the same stream on every adapter); the gradient is
 * g times the same mask. In eval (or with p = 0) it is the identity and returns x itself.
 */
export function dropout(x: Tensor, p: number, opts: DropoutOptions): Tensor {
  requireF32('dropout', x);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: p must be in [0, 1], got ${p}`);
  if (!opts.training || p === 0) return x;
  if (p === 1) return scale(x, 0);
  const mask = dropoutMask(x.shape, p, opts.generator ?? getDefaultGenerator());
  return mul(x, mask);
}

// ---------------------------------------------------------------- CPU reference (float64)

/** softplus in float64 (Math.log1p exists here). */
export const softplus64 = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));

export const reference = {
  softplus: (x: NdArray): NdArray => ({ shape: [...x.shape], data: x.data.map(softplus64) }),
  prelu(x: NdArray, w: NdArray): NdArray {
    const C = x.shape.length < 2 ? 1 : x.shape[1];
    const S = x.shape.slice(2).reduce((a, b) => a * b, 1);
    const out = nd(x.shape);
    x.data.forEach((v, i) => {
      const c = w.data.length === 1 ? 0 : Math.floor(i / S) % C;
      out.data[i] = v > 0 ? v : w.data[c] * v;
    });
    return out;
  },
  /** Dropout with a given mask of 0 / 1 values (kept elements are scaled by 1 / (1 - p)). */
  dropout: (x: NdArray, keep: NdArray, p: number) => mapNd([x, keep], (v, k) => (k ? v / (1 - p) : 0)),
};
