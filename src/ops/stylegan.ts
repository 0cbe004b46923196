/**
 * StyleGAN2 layers that are not convolutions: minibatch standard deviation, noise injection and
 * the fused bias + activation (bias_act). All have gradients of gradients (the discriminator's R1
 * penalty differentiates through them).
 */
import { isGradEnabled, record } from '../autograd/tape.js';
import { getDevice } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import { Tensor } from '../tensor/tensor.js';
import { full } from '../tensor/create.js';
import { nd, type NdArray } from '../tensor/ndarray.js';
import { flatGrid } from '../../shaders/common.js';
import { groupStdWgsl } from '../../shaders/stylegan.js';
import { div, mul, scale, sub } from './elementwise.js';
import { elementwise, requireF32 } from '../tensor/kernel.js';
import { mean, sum, sumTo } from './reduce.js';
import { broadcastTo, concat, reshape } from './shape.js';
import { channelMap, channelReduce, channelView, checkChannelVector } from './channel.js';

// ---------------------------------------------------------------- minibatch std

/**
 * StyleGAN2's MinibatchStdLayer: the batch is split into groups of G = min(groupSize, N)
 * samples (sample g n + j in group j, n = N / G) and the channels into numChannels groups;
 * per group, the standard deviation over its samples (biased variance + 1e-8, sqrt) is averaged
 * over the channels of the channel group and the pixels, and appended to every sample of the
 * group as numChannels constant feature maps: (N, C, H, W) -> (N, C + numChannels, H, W).
 */
export function minibatchStd(x: Tensor, groupSize = 4, numChannels = 1): Tensor {
  requireF32('minibatchStd', x);
  if (x.rank !== 4)
    throw new RangeError(`minibatchStd: expected an input of shape (N, C, H, W), got [${x.shape}]`);
  const [N, C, H, W] = x.shape;
  if (!Number.isInteger(groupSize) || groupSize < 1)
    throw new RangeError(`minibatchStd: groupSize must be a positive integer, got ${groupSize}`);
  const G = Math.min(groupSize, N);
  if (N % G)
    throw new RangeError(`minibatchStd: the batch size ${N} must be divisible by the group size ${G}`);
  if (!Number.isInteger(numChannels) || numChannels < 1 || C % numChannels) {
    throw new RangeError(
      `minibatchStd: numChannels ${numChannels} must be a positive divisor of the ${C} channels`,
    );
  }
  const n = N / G,
    F = numChannels,
    P = (C / F) * H * W;
  const sd = groupStd(x, G); // (n, C H W)
  const stat = mean(reshape(sd, [n, F, P]), 2); // (n, F)
  const maps = reshape(broadcastTo(reshape(stat, [1, n, F, 1, 1]), [G, n, F, H, W]), [N, F, H, W]);
  return concat([x, maps], 1);
}

const GROUP_STD_EPS = 1e-8;

/** sqrt(biased var over the G members of each group + eps): (N, ...) -> (N / G, prod(...)). */
function groupStd(x: Tensor, G: number): Tensor {
  const n = x.shape[0] / G,
    Q = x.size / x.shape[0];
  const out = Tensor.empty([n, Q]);
  if (out.size > 0) {
    const params = new Params().u32(out.size).u32(G).u32(n).u32(Q).f32(GROUP_STD_EPS).u32(0).u32(0).u32(0);
    getDevice().dispatch(
      { key: 'group-std', code: groupStdWgsl },
      params.bytes(),
      [x.binding(), out.binding()],
      flatGrid(out.size),
    );
  }
  // d sd / d x[g] = (x[g] - mean) / (G sd), in engine ops (x's mean recomputed, sd is this op's output)
  return record(out, 'group_std', [x], (g) => {
    const xr = reshape(x, [G, n, Q]);
    const d = sub(xr, mean(xr, 0, true));
    return [reshape(div(mul(reshape(g, [1, n, Q]), d), scale(reshape(out, [1, n, Q]), G)), x.shape)];
  });
}

// ---------------------------------------------------------------- noise injection

/**
 * x + strength * noise: noise of shape (N, 1, H, W) or (1, 1, H, W) is broadcast over the
 * channels (and the batch); strength is a learned scalar (a tensor of one element) or a number.
 * Gradients for x, noise and strength.
 */
export function noiseInjection(x: Tensor, noise: Tensor, strength: Tensor | number): Tensor {
  requireF32('noiseInjection', x, noise);
  if (x.rank !== 4)
    throw new RangeError(`noiseInjection: expected an input of shape (N, C, H, W), got [${x.shape}]`);
  const [N, , H, W] = x.shape;
  if (
    noise.rank !== 4 ||
    noise.shape[1] !== 1 ||
    (noise.shape[0] !== N && noise.shape[0] !== 1) ||
    noise.shape[2] !== H ||
    noise.shape[3] !== W
  ) {
    throw new RangeError(
      `noiseInjection: noise must have shape [${N}, 1, ${H}, ${W}] or [1, 1, ${H}, ${W}] for x [${x.shape}], got [${noise.shape}]`,
    );
  }
  const s = typeof strength === 'number' ? full([], strength) : strength;
  if (s.size !== 1)
    throw new RangeError(`noiseInjection: strength must have one element, got shape [${s.shape}]`);
  requireF32('noiseInjection', s);
  const y = elementwise('noise_injection', 'a + c * b', [x, noise, s], 0, 0, x.shape);
  return record(y, 'noise_injection', [x, noise, s], (g) => [
    g,
    noise.requiresGrad ? sumTo(mul(g, s), noise.shape) : null,
    s.requiresGrad ? reshape(sum(mul(g, noise)), s.shape) : null,
  ]);
}

// ---------------------------------------------------------------- bias_act

export interface BiasActOptions {
  act?: 'linear' | 'lrelu';
  /** Negative slope of lrelu (default 0.2). */
  slope?: number;
  /** Default: sqrt(2) for lrelu, 1 for linear. */
  gain?: number;
  /** Clamps the result to [-clamp, clamp] (after the gain), as StyleGAN2's conv_clamp. */
  clamp?: number | null;
}

/**
 * StyleGAN2's bias_act: y = clamp(act(x + bias[c]) * gain, -clamp, clamp), channel axis 1,
 * in one kernel. The derivative m = dy/dz (z = x + bias) is piecewise constant:
 * gain * (z > 0 ? 1 : slope), zero where clamped (|act gain| > clamp). So
 *   dx = g m,  dbias[c] = sum over (n, s) of g m,
 * fused into two kernels when the backward is not recorded; recorded, dx = g * m with m a
 * constant tensor (the second derivative in x is zero almost everywhere, and the gradient
 * with respect to g is m, which is what the R1 penalty needs).
 */
export function biasAct(x: Tensor, bias: Tensor | null, opts: BiasActOptions = {}): Tensor {
  requireF32('biasAct', x);
  const act = opts.act ?? 'linear';
  if (act !== 'linear' && act !== 'lrelu')
    throw new RangeError(`biasAct: unknown activation '${act}' (expected 'linear' or 'lrelu')`);
  const slope = act === 'lrelu' ? (opts.slope ?? 0.2) : 1;
  const gain = opts.gain ?? (act === 'lrelu' ? Math.SQRT2 : 1);
  const clampV = opts.clamp ?? null;
  if (clampV !== null && !(clampV >= 0))
    throw new RangeError(`biasAct: clamp must be non-negative, got ${clampV}`);
  const [, C] = channelView(x, 'biasAct');
  checkChannelVector(bias, C, 'biasAct', 'bias');
  const z = bias ? '(x + b)' : 'x';
  const actExpr = act === 'lrelu' ? `select(${z} * alpha, ${z}, ${z} > zero) * beta` : `${z} * beta`;
  const fwd = clampV !== null ? `clamp(${actExpr}, -gamma, gamma)` : actExpr;
  const slopeExpr = act === 'lrelu' ? `select(alpha, one, ${z} > zero) * beta` : 'beta';
  const maskExpr = clampV !== null ? `${slopeExpr} * select(zero, one, abs(${actExpr}) <= gamma)` : slopeExpr;
  const scalars = { alpha: slope, beta: gain, gamma: clampV ?? 0 };
  const chans: Record<string, Tensor> = bias ? { b: bias } : {};
  const y = channelMap(`bias_act:${act}${clampV !== null ? ':clamp' : ''}`, fwd, x.shape, {
    elems: { x },
    chans,
    ...scalars,
  });
  const inputs = bias ? [x, bias] : [x];
  return record(y, 'bias_act', inputs, (g) => {
    const needBias = !!bias?.requiresGrad;
    if (isGradEnabled()) {
      const m = channelMap('bias_act_mask', maskExpr, x.shape, { elems: { x }, chans, ...scalars }); // constant
      const dz = mul(g, m);
      const axes = x.shape.map((_, d) => d).filter((d) => d !== 1);
      return [x.requiresGrad ? dz : null, ...(bias ? [needBias ? reshape(sum(dz, axes), [C]) : null] : [])];
    }
    const dx = x.requiresGrad
      ? channelMap('bias_act_grad', `g * ${maskExpr}`, x.shape, { elems: { g, x }, chans, ...scalars })
      : null;
    if (!bias) return [dx];
    if (!needBias) return [dx, null];
    // the bias gradient in its own pass (a per-channel reduction of g m): x may not need one
    const [db] = channelReduce(
      'bias_act_db',
      [
        `g * ${maskExpr
          .replaceAll('alpha', `${f32(slope)}`)
          .replaceAll('beta', `${f32(gain)}`)
          .replaceAll('gamma', `${f32(clampV ?? 0)}`)}`,
      ],
      x.shape,
      { g, x },
      chans,
    );
    return [dx, db];
  });
}

/** A WGSL f32 literal (the reduction kernel has no scalar parameters: they go into its key). */
function f32(v: number): string {
  const s = Math.fround(v).toPrecision(9);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

// ---------------------------------------------------------------- CPU reference (float64)

export const reference = {
  minibatchStd(x: NdArray, groupSize = 4, numChannels = 1): NdArray {
    const [N, C, H, W] = x.shape;
    const G = Math.min(groupSize, N),
      n = N / G,
      F = numChannels,
      c = C / F;
    const at = (s: number, ch: number, h: number, w: number) => x.data[((s * C + ch) * H + h) * W + w];
    const stat = new Float64Array(n * F);
    for (let j = 0; j < n; j++)
      for (let f = 0; f < F; f++) {
        let acc = 0;
        for (let cc = 0; cc < c; cc++)
          for (let h = 0; h < H; h++)
            for (let w = 0; w < W; w++) {
              let m = 0;
              for (let g = 0; g < G; g++) m += at(g * n + j, f * c + cc, h, w) / G;
              let v = 0;
              for (let g = 0; g < G; g++) v += (at(g * n + j, f * c + cc, h, w) - m) ** 2 / G;
              acc += Math.sqrt(v + 1e-8);
            }
        stat[j * F + f] = acc / (c * H * W);
      }
    const out = nd([N, C + F, H, W]);
    for (let s = 0; s < N; s++)
      for (let ch = 0; ch < C + F; ch++)
        for (let h = 0; h < H; h++)
          for (let w = 0; w < W; w++)
            out.data[((s * (C + F) + ch) * H + h) * W + w] =
              ch < C ? at(s, ch, h, w) : stat[(s % n) * F + (ch - C)];
    return out;
  },
  noiseInjection(x: NdArray, noise: NdArray, strength: NdArray): NdArray {
    const [N, C, H, W] = x.shape;
    const out = nd(x.shape);
    for (let s = 0; s < N; s++)
      for (let ch = 0; ch < C; ch++)
        for (let p = 0; p < H * W; p++) {
          const i = (s * C + ch) * H * W + p;
          out.data[i] = x.data[i] + strength.data[0] * noise.data[(noise.shape[0] === 1 ? 0 : s) * H * W + p];
        }
    return out;
  },
  biasAct(x: NdArray, bias: NdArray | null, o: BiasActOptions = {}): NdArray {
    const act = o.act ?? 'linear';
    const slope = o.slope ?? 0.2,
      gain = o.gain ?? (act === 'lrelu' ? Math.SQRT2 : 1);
    const C = x.shape[1],
      S = x.shape.slice(2).reduce((a, b) => a * b, 1);
    const out = nd(x.shape);
    x.data.forEach((v, i) => {
      const z = v + (bias ? bias.data[Math.floor(i / S) % C] : 0);
      let y = (act === 'lrelu' && z <= 0 ? z * slope : z) * gain;
      if (o.clamp !== undefined && o.clamp !== null) y = Math.min(Math.max(y, -o.clamp), o.clamp);
      out.data[i] = y;
    });
    return out;
  },
};
