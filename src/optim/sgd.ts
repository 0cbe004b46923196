/** Stochastic gradient descent with momentum, Nesterov and weight decay (PyTorch's rule). */
import { getDevice } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import type { Tensor } from '../tensor/tensor.js';
import { flatGrid } from '../../shaders/common.js';
import { sgdKey, sgdWgsl } from '../../shaders/optim.js';
import { Optimizer } from './optimizer.js';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/**
 * For each parameter, with g its gradient (one fused kernel):
 *   d = g + weightDecay * p
 *   buf = d at the first step, else momentum * buf + (1 - dampening) * d
 *   d = nesterov ? d + momentum * buf : buf          (when momentum != 0)
 *   p = p - lr * d
 */
export class SGD extends Optimizer<Required<SgdOptions>> {
  constructor(
    params: Iterable<Tensor>,
    { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false }: SgdOptions,
  ) {
    super(params, { lr, momentum, dampening, weightDecay, nesterov }, 'SGD');
    if (momentum < 0 || weightDecay < 0)
      throw new RangeError(`SGD: momentum ${momentum} and weightDecay ${weightDecay} must be >= 0`);
    if (nesterov && (momentum <= 0 || dampening !== 0))
      throw new RangeError('SGD: Nesterov momentum needs momentum > 0 and dampening 0');
  }

  protected update(p: Tensor, g: Tensor, i: number): void {
    const { lr, momentum, dampening, weightDecay, nesterov } = this.options;
    const useMomentum = momentum !== 0;
    const buf = useMomentum ? this.slot(i, 'momentum') : null;
    const vec4 = p.size % 4 === 0;
    const spec = { momentum: useMomentum, nesterov: useMomentum && nesterov, vec4 };
    const params = new Params()
      .u32(p.size)
      .f32(lr)
      .f32(momentum)
      .f32(1 - dampening)
      .f32(weightDecay)
      .u32(buf?.fresh ? 1 : 0);
    const bindings = [p.binding(), g.binding(), ...(buf ? [buf.tensor.binding()] : [])];
    getDevice().dispatch(
      { key: sgdKey(spec), code: () => sgdWgsl(spec) },
      params.bytes(),
      bindings,
      flatGrid(vec4 ? p.size / 4 : p.size),
    );
  }
}

// ---------------------------------------------------------------- CPU reference (float64)

export const reference = {
  /** One SGD step in place on float64 arrays; `state.buf` is created at the first step. */
  sgd(p: Float64Array, g: Float64Array, state: { buf?: Float64Array }, o: Required<SgdOptions>): void {
    for (let k = 0; k < p.length; k++) {
      let d = g[k] + o.weightDecay * p[k];
      if (o.momentum !== 0) {
        state.buf ??= new Float64Array(p.length).fill(NaN);
        const b = Number.isNaN(state.buf[k]) ? d : o.momentum * state.buf[k] + (1 - o.dampening) * d;
        state.buf[k] = b;
        d = o.nesterov ? d + o.momentum * b : b;
      }
      p[k] -= o.lr * d;
    }
  },
};
