/** Adam and AdamW (PyTorch's rules), one fused kernel per parameter. */
import { getDevice } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import type { Tensor } from '../tensor/tensor.js';
import { flatGrid } from '../../shaders/common.js';
import { adamKey, adamWgsl } from '../../shaders/optim.js';
import { Optimizer } from './optimizer.js';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** AdamW: decay the weights directly (p *= 1 - lr wd) instead of adding wd p to the gradient. */
  decoupled?: boolean;
  /** Divide m and v by 1 - beta^t (default true, as PyTorch; StyleGAN's Adam keeps it). */
  biasCorrection?: boolean;
}

/**
 * At step t, for each parameter (one fused kernel):
 *   Adam: d = g + wd p        AdamW: p = p (1 - lr wd), d = g
 *   m = b1 m + (1 - b1) d;  v = b2 v + (1 - b2) d^2
 *   p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * (without bias correction both factors are 1).
 */
export class Adam extends Optimizer<Required<AdamOptions>> {
  constructor(
    params: Iterable<Tensor>,
    {
      lr = 1e-3,
      betas = [0.9, 0.999],
      eps = 1e-8,
      weightDecay = 0,
      decoupled = false,
      biasCorrection = true,
    }: AdamOptions = {},
  ) {
    super(
      params,
      { lr, betas: [...betas], eps, weightDecay, decoupled, biasCorrection },
      decoupled ? 'AdamW' : 'Adam',
    );
    for (const b of betas)
      if (!(b >= 0 && b < 1)) throw new RangeError(`${this.kind}: betas must be in [0, 1), got [${betas}]`);
    if (!(eps >= 0) || !(weightDecay >= 0))
      throw new RangeError(`${this.kind}: eps ${eps} and weightDecay ${weightDecay} must be >= 0`);
  }

  protected update(p: Tensor, g: Tensor, i: number, step: number): void {
    const {
      lr,
      betas: [b1, b2],
      eps,
      weightDecay,
      decoupled,
      biasCorrection,
    } = this.options;
    const bc1 = biasCorrection ? 1 - b1 ** step : 1;
    const bc2 = biasCorrection ? 1 - b2 ** step : 1;
    const m = this.slot(i, 'exp_avg').tensor,
      v = this.slot(i, 'exp_avg_sq').tensor;
    const vec4 = p.size % 4 === 0;
    const spec = { decoupled, vec4 };
    const params = new Params()
      .u32(p.size)
      .f32(lr)
      .f32(b1)
      .f32(b2)
      .f32(eps)
      .f32(weightDecay)
      .f32(lr / bc1)
      .f32(Math.sqrt(bc2))
      .f32(1 - b1)
      .f32(1 - b2)
      .f32(1 - lr * weightDecay);
    getDevice().dispatch(
      { key: adamKey(spec), code: () => adamWgsl(spec) },
      params.bytes(),
      [p.binding(), g.binding(), m.binding(), v.binding()],
      flatGrid(vec4 ? p.size / 4 : p.size),
    );
  }
}

/** Adam with decoupled weight decay (default 0.01, as PyTorch's AdamW). */
export class AdamW extends Adam {
  constructor(params: Iterable<Tensor>, options: Omit<AdamOptions, 'decoupled'> = {}) {
    super(params, { weightDecay: 0.01, ...options, decoupled: true });
  }
}

// ---------------------------------------------------------------- CPU reference (float64)

export const reference = {
  /** One Adam/AdamW step in place on float64 arrays; state.step counts from 0 before the first. */
  adam(
    p: Float64Array,
    g: Float64Array,
    state: { step: number; m: Float64Array; v: Float64Array },
    o: Required<AdamOptions>,
  ): void {
    const t = ++state.step;
    const [b1, b2] = o.betas;
    const bc1 = o.biasCorrection ? 1 - b1 ** t : 1,
      bc2 = o.biasCorrection ? 1 - b2 ** t : 1;
    for (let k = 0; k < p.length; k++) {
      let d = g[k];
      if (o.decoupled) p[k] *= 1 - o.lr * o.weightDecay;
      else d += o.weightDecay * p[k];
      state.m[k] = b1 * state.m[k] + (1 - b1) * d;
      state.v[k] = b2 * state.v[k] + (1 - b2) * d * d;
      const mHat = state.m[k] / bc1,
        vHat = state.v[k] / bc2;
      p[k] -= (o.lr * mHat) / (Math.sqrt(vHat) + o.eps);
    }
  },
};
