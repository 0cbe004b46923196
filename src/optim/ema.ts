/**
 * Exponential moving average of weights (StyleGAN's G_ema): after each training step,
 *   ema = source + beta * (ema - source)       for every parameter (one fused kernel each)
 *   ema = source                               for every buffer (e.g. BatchNorm statistics)
 * The EMA model is a second instance of the same architecture; matching is by name.
 */
import { getDevice } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import { assign } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { flatGrid } from '../../shaders/common.js';
import { emaKey, emaWgsl } from '../../shaders/optim.js';

/** target = source + beta * (target - source), in place (same shapes). */
export function lerpInto(target: Tensor, source: Tensor, beta: number): void {
  if (target.shape.join() !== source.shape.join() || target.dtype !== 'f32' || source.dtype !== 'f32') {
    throw new RangeError(`ema: ${target} and ${source} must be f32 of the same shape`);
  }
  if (target.size === 0) return;
  const vec4 = target.size % 4 === 0;
  getDevice().dispatch(
    { key: emaKey(vec4), code: () => emaWgsl(vec4) },
    new Params().u32(target.size).f32(beta).bytes(),
    [target.binding(), source.binding()],
    flatGrid(vec4 ? target.size / 4 : target.size),
  );
}

/** Moves `ema`'s parameters towards `source`'s by 1 - beta and copies its buffers. */
export function updateEma(ema: Module, source: Module, beta: number): void {
  if (!(beta >= 0 && beta <= 1)) throw new RangeError(`updateEma: beta must be in [0, 1], got ${beta}`);
  const pairs = (of: (m: Module) => [string, Tensor][]) => {
    const src = new Map(of(source));
    const dst = of(ema);
    if (dst.length !== src.size || dst.some(([n, t]) => src.get(n)?.shape.join() !== t.shape.join())) {
      const describe = (list: [string, Tensor][]) => list.map(([n, t]) => `${n}[${t.shape}]`).join(', ');
      throw new Error(
        `updateEma: the models differ: ema has ${describe(dst)}; source has ${describe([...src])}`,
      );
    }
    return dst.map(([n, t]) => [t, src.get(n)!] as const);
  };
  for (const [t, s] of pairs((m) => m.namedParameters())) lerpInto(t, s, beta);
  for (const [t, s] of pairs((m) => m.namedBuffers())) assign(t, s);
}

/** StyleGAN2's beta for a batch of `batch` images and a half-life of `halfLifeImages` images. */
export function emaBeta(batch: number, halfLifeImages: number): number {
  return 0.5 ** (batch / Math.max(halfLifeImages, 1e-8));
}
