/**
 * Launchers of the per-channel kernels (shaders/norm.ts) for tensors viewed as (N, C, S),
 * channel axis 1. No autograd here: the ops that use them (batch norm, prelu, bias_act) record
 * their own backward.
 */
import { getDevice } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import { Tensor } from '../tensor/tensor.js';
import { flatGrid } from '../../shaders/common.js';
import { channelMapKey, channelMapWgsl, channelReduceKey, channelReduceWgsl } from '../../shaders/norm.js';
import { elementwise, requireF32 } from '../tensor/kernel.js';

/** (N, C, S) of a tensor of rank >= 2 with channels on axis 1. */
export function channelView(x: Tensor, op: string): [number, number, number] {
  if (x.rank < 2) throw new RangeError(`${op}: expected a tensor of shape (N, C, ...), got [${x.shape}]`);
  return [x.shape[0], x.shape[1], x.shape.slice(2).reduce((a, b) => a * b, 1)];
}

export function checkChannelVector(t: Tensor | null | undefined, C: number, op: string, what: string): void {
  if (!t) return;
  requireF32(op, t);
  if (t.rank !== 1 || t.shape[0] !== C)
    throw new RangeError(`${op}: ${what} must have shape [${C}] (one value per channel), got [${t.shape}]`);
}

export interface ChannelMapArgs {
  elems: Record<string, Tensor>;
  chans?: Record<string, Tensor>;
  alpha?: number;
  beta?: number;
  gamma?: number;
  M?: number;
}

/** out = expr per element; `shape` is the output's (and every element input's) shape. */
export function channelMap(
  name: string,
  expr: string,
  shape: readonly number[],
  args: ChannelMapArgs,
): Tensor {
  const out = Tensor.empty(shape);
  const [N, C, S] = [shape[0], shape[1], shape.slice(2).reduce((a, b) => a * b, 1)];
  if (out.size === 0) return out;
  const elems = Object.keys(args.elems),
    chans = Object.keys(args.chans ?? {});
  const vec4 = S % 4 === 0;
  const spec = { name, elems, chans, expr, vec4 };
  const n = vec4 ? out.size / 4 : out.size;
  const params = new Params()
    .u32(n)
    .u32(C)
    .u32(vec4 ? S / 4 : S)
    .u32(0)
    .f32(args.alpha ?? 0)
    .f32(args.beta ?? 0)
    .f32(args.gamma ?? 0)
    .f32(args.M ?? N * S);
  getDevice().dispatch(
    { key: channelMapKey(spec), code: () => channelMapWgsl(spec) },
    params.bytes(),
    [
      ...elems.map((e) => args.elems[e].binding()),
      ...chans.map((e) => args.chans![e].binding()),
      out.binding(),
    ],
    flatGrid(n),
  );
  return out;
}

/** One C-vector per term: sum over (n, s) of the term, per channel. */
export function channelReduce(
  name: string,
  terms: string[],
  shape: readonly number[],
  elems: Record<string, Tensor>,
  chans: Record<string, Tensor> = {},
): Tensor[] {
  const [N, C, S] = [shape[0], shape[1], shape.slice(2).reduce((a, b) => a * b, 1)];
  if (N * S === 0 || C === 0) return terms.map(() => elementwise('fill', 'alpha', [], 0, 0, [C]));
  const outs = terms.map(() => Tensor.empty([C]));
  if (C > 65535)
    throw new RangeError(`${name}: ${C} channels exceed the 65535 workgroups of a per-channel reduction`);
  const en = Object.keys(elems),
    cn = Object.keys(chans);
  const spec = { name, elems: en, chans: cn, terms };
  const params = new Params().u32(N).u32(C).u32(S).u32(0).f32(0).f32(0).u32(0).u32(0);
  getDevice().dispatch(
    { key: channelReduceKey(spec), code: () => channelReduceWgsl(spec) },
    params.bytes(),
    [
      ...en.map((e) => elems[e].binding()),
      ...cn.map((e) => chans[e].binding()),
      ...outs.map((o) => o.binding()),
    ],
    [C, 1, 1],
  );
  return outs;
}
