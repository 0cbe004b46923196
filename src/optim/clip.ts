/**
 * Gradient clipping by global L2 norm, entirely on the GPU:
 *   norm = sqrt(sum over parameters of sum(g^2));  g *= min(maxNorm / (norm + 1e-6), 1)
 * (PyTorch's clip_grad_norm_). The norm comes back as a scalar tensor: reading it is the
 * caller's choice, so clipping forces no wait for the GPU.
 */
import { getDevice } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import { Tensor } from '../tensor/tensor.js';
import { flatGrid } from '../../shaders/common.js';
import {
  clipFinalizeWgsl,
  scaleByKey,
  scaleByWgsl,
  sumSquaresWgsl,
  SUMSQ_CHUNK,
} from '../../shaders/optim.js';

/** Partial sums per gradient: enough to spread the work, at most 4096. */
const partialCount = (n: number) => Math.min(Math.ceil(n / SUMSQ_CHUNK), 4096);

/** Clips the gradients of `params` in place; returns their total norm before clipping (shape []). */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): Tensor {
  if (!(maxNorm >= 0)) throw new RangeError(`clipGradNorm: maxNorm must be >= 0, got ${maxNorm}`);
  const grads = [...params].map((p) => p.grad).filter((g): g is Tensor => !!g && g.size > 0);
  for (const g of grads) if (g.dtype !== 'f32') throw new TypeError(`clipGradNorm: gradient ${g} is not f32`);
  const device = getDevice();
  const counts = grads.map((g) => partialCount(g.size));
  const partials = Tensor.empty([
    Math.max(
      1,
      counts.reduce((a, b) => a + b, 0),
    ),
  ]);
  const norm = Tensor.empty([]),
    coef = Tensor.empty([]);
  let base = 0;
  grads.forEach((g, k) => {
    device.dispatch(
      { key: 'optim:sumsq', code: sumSquaresWgsl },
      new Params().u32(g.size).u32(base).u32(counts[k]).bytes(),
      [g.binding(), partials.binding()],
      flatGrid(counts[k]),
    );
    base += counts[k];
  });
  device.dispatch(
    { key: 'optim:clip_finalize', code: clipFinalizeWgsl },
    new Params().u32(base).f32(maxNorm).bytes(),
    [partials.binding(), norm.binding(), coef.binding()],
    [1, 1, 1],
  );
  for (const g of grads) {
    const vec4 = g.size % 4 === 0;
    device.dispatch(
      { key: scaleByKey(vec4), code: () => scaleByWgsl(vec4) },
      new Params().u32(g.size).bytes(),
      [g.binding(), coef.binding()],
      flatGrid(vec4 ? g.size / 4 : g.size),
    );
  }
  partials.dispose();
  coef.dispose();
  return norm;
}
