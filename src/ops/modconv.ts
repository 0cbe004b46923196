/**
 * StyleGAN2's modulated convolution (Karras et al., "Analyzing and Improving the Image
 * Quality of StyleGAN", 2020, eq. 1-3). Per sample n, the weight is modulated by the style s_n
 * and (optionally) demodulated:
 *
 *   w'_{n,o,c,k}  = w_{o,c,k} * s_{n,c}                                 (modulate)
 *   w''_{n,o,c,k} = w'_{n,o,c,k} * d_{n,o},  d_{n,o} = rsqrt(sum_{c,k} w'^2 + eps)   (demodulate)
 *   y_n = conv(x_n, w''_n)
 *
 * No per-sample weight is ever built. Because the modulation scales input channels and the
 * demodulation scales output channels, the same result comes from one ordinary convolution:
 *
 *   y = conv(x * s[n, c, 1, 1], w) * d[n, o, 1, 1],
 *   d = rsqrt((s * s) @ (sum_k w^2)^T + eps)        (N, C) @ (C, O) -> (N, O)
 *
 * This "scaled" form (StyleGAN2's fused_modconv=False path) costs one conv of the whole batch
 * plus two broadcast multiplies over the activations (and their gradients); the "grouped" form
 * (fused_modconv=True) builds the per-sample weights (N, O, C, KH, KW) once and runs one conv
 * with N groups over x viewed as (1, N C, H, W), with no pass over the activations besides the
 * conv. Grouped wins where the weights are smaller than the activations (large images, few
 * channels), scaled where they are not; 'auto' picks by that size. Everything is written in
 * differentiable ops, so gradients of gradients work.
 */
import { Tensor } from '../tensor/tensor.js';
import { nd, type NdArray } from '../tensor/ndarray.js';
import { addScalar, mul, rsqrt, square } from './elementwise.js';
import { matmul } from './matmul.js';
import { sum } from './reduce.js';
import { permute, reshape } from './shape.js';
import { tensor } from '../tensor/create.js';
import { conv2d, conv2dInputGrad, reference as convReference } from './conv.js';
import { upfirdn2d, reference as resampleReference } from './resample.js';

export interface ModConvOptions {
  demodulate?: boolean;
  padding?: number;
  eps?: number;
  /**
   * 'grouped': per-sample weights, one grouped conv (StyleGAN2's fused_modconv=True).
   * 'scaled': one conv of the batch between two broadcast multiplies (fused_modconv=False).
   * 'auto' (default): 'grouped' where the per-sample weights (N O C k k) are smaller than the
   * input (N C H W), i.e. O k k < H W: at large images and few channels.
   */
  form?: 'auto' | 'grouped' | 'scaled';
  /**
   * 2x upsampling before the conv, as StyleGAN2's conv2d_resample: the result equals
   * upfirdn2d(x, [1, 3, 3, 1], up 2, padding (p + 2, p + 1), gain 4) followed by the conv
   * without padding (p = `padding`), and is computed as StyleGAN2 does: a transposed conv
   * (stride 2) with the spatially flipped weight, then the FIR filter at the upsampled size.
   * The conv then runs on the small image: a quarter of the multiply-adds.
   */
  up?: boolean;
}

/** The 1-D FIR filter of `up` ([1, 3, 3, 1] normalized to sum 1; separable). */
const UP_FILTER = [1 / 8, 3 / 8, 3 / 8, 1 / 8];

/**
 * conv2d(upsampled x, w, groups G) for the `up` option: w (G Og, Cg, k, k) -> per group the
 * transposed (Cg, Og) and spatially flipped weight (a matmul with the reversal matrix over the
 * k k taps), a stride-2 transposed conv (conv2dInputGrad) to 2H + k - 2, the FIR filter.
 */
function upConv(x: Tensor, w: Tensor, G: number, padding: number): Tensor {
  const [N, , H, W] = x.shape,
    [O, Cg, KH, KW] = w.shape,
    Og = O / G,
    K = KH * KW;
  const flipped = Array.from({ length: K * K }, (_, i) => (Math.floor(i / K) + (i % K) === K - 1 ? 1 : 0));
  const wT = reshape(permute(reshape(w, [G, Og, Cg, K]), [0, 2, 1, 3]), [G * Cg * Og, K]);
  const wFlipped = reshape(matmul(wT, tensor(flipped, [K, K])), [G * Cg, Og, KH, KW]);
  const y = conv2dInputGrad(x, wFlipped, [N, O, 2 * H + KH - 2, 2 * W + KW - 2], { stride: 2, groups: G });
  const [px0, px1] = [padding + 3 - KW, padding + 3 - KW],
    [py0, py1] = [padding + 3 - KH, padding + 3 - KH];
  return upfirdn2d(y, UP_FILTER, { padding: [px0, px1, py0, py1], gain: 4 });
}

/**
 * x: (N, C, H, W); weight: (O, C, KH, KW); styles: (N, C)  ->  (N, O, H', W').
 * The weight's equalized-lr gain, if any, is the caller's (multiply it in first).
 */
export function modulatedConv2d(
  x: Tensor,
  weight: Tensor,
  styles: Tensor,
  options: ModConvOptions = {},
): Tensor {
  const { demodulate = true, padding = Math.floor(weight.shape[2] / 2), eps = 1e-8, up = false } = options;
  const [N, C] = x.shape,
    [O, Cw] = weight.shape;
  if (
    x.rank !== 4 ||
    weight.rank !== 4 ||
    styles.rank !== 2 ||
    Cw !== C ||
    styles.shape[0] !== N ||
    styles.shape[1] !== C
  ) {
    throw new RangeError(
      `modulatedConv2d: x [${x.shape}], weight [${weight.shape}] and styles [${styles.shape}] do not fit (x (N,C,H,W), weight (O,C,KH,KW), styles (N,C))`,
    );
  }
  const [, , H, W] = x.shape,
    [, , KH, KW] = weight.shape;
  const form = options.form ?? 'auto';
  // the size that decides the form is the conv's input: 2H x 2W when upsampling
  const inputPixels = (up ? 4 : 1) * H * W;
  if (form === 'grouped' || (form === 'auto' && O * KH * KW < inputPixels)) {
    // w'[n, o, c, k] = w[o, c, k] s[n, c] (d[n, o]): N groups of C -> O channels
    let wn = mul(reshape(weight, [1, O, C, KH, KW]), reshape(styles, [N, 1, C, 1, 1]));
    if (demodulate) wn = mul(wn, rsqrt(addScalar(sum(square(wn), [2, 3, 4], true), eps)));
    const xg = reshape(x, [1, N * C, H, W]),
      wg = reshape(wn, [N * O, C, KH, KW]);
    const y = up ? upConv(xg, wg, N, padding) : conv2d(xg, wg, undefined, { padding, groups: N });
    return reshape(y, [N, O, y.shape[2], y.shape[3]]);
  }
  const modulated = mul(x, reshape(styles, [N, C, 1, 1]));
  let y = up ? upConv(modulated, weight, 1, padding) : conv2d(modulated, weight, undefined, { padding });
  if (demodulate) {
    const wSquared = sum(square(weight), [2, 3]); // (O, C)
    const d = rsqrt(addScalar(matmul(square(styles), wSquared, { transB: true }), eps)); // (N, O)
    y = mul(y, reshape(d, [N, O, 1, 1]));
  }
  return y;
}

// ---------------------------------------------------------------- CPU reference (float64)

export const reference = {
  /** The definition itself: a per-sample modulated (and demodulated) weight, then a conv. */
  modulatedConv2d(x: NdArray, weight: NdArray, styles: NdArray, options: ModConvOptions = {}): NdArray {
    const { demodulate = true, padding = Math.floor(weight.shape[2] / 2), eps = 1e-8 } = options;
    if (options.up) {
      // the definition of `up`: FIR upsampling with padding (p + 2, p + 1), then the unpadded conv
      const p = [padding + 2, padding + 1, padding + 2, padding + 1];
      const u = resampleReference.upfirdn2d(x, UP_FILTER, { up: 2, padding: p, gain: 4 });
      return reference.modulatedConv2d(u, weight, styles, { demodulate, padding: 0, eps });
    }
    const [N, C, H, W] = x.shape,
      [O, , KH, KW] = weight.shape;
    const outs: NdArray[] = [];
    for (let n = 0; n < N; n++) {
      const w = nd(weight.shape);
      for (let o = 0; o < O; o++) {
        let ss = 0;
        for (let c = 0; c < C; c++)
          for (let k = 0; k < KH * KW; k++) {
            const i = (o * C + c) * KH * KW + k;
            w.data[i] = weight.data[i] * styles.data[n * C + c];
            ss += w.data[i] ** 2;
          }
        if (demodulate)
          for (let i = o * C * KH * KW; i < (o + 1) * C * KH * KW; i++) w.data[i] /= Math.sqrt(ss + eps);
      }
      const xn = nd([1, C, H, W], x.data.subarray(n * C * H * W, (n + 1) * C * H * W));
      outs.push(convReference.conv2d(xn, w, undefined, { padding }));
    }
    const [, , OH, OW] = outs[0].shape;
    const out = nd([N, O, OH, OW]);
    outs.forEach((o, n) => out.data.set(o.data, n * O * OH * OW));
    return out;
  },
};
