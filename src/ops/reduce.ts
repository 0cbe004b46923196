/**
 * Reductions over axes: sum, mean, max, logsumexp; sumTo (the adjoint of broadcasting);
 * softmax and logSoftmax built from them.
 *
 * Axes: a number, a list, or undefined for all; negative axes count from the end.
 * `keepDims` keeps reduced axes as size 1.
 */
import { noGrad, record } from '../autograd/tape.js';
import { getDevice } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import { Tensor } from '../tensor/tensor.js';
import { forEachIndex, contiguousStrides, nd, type NdArray } from '../tensor/ndarray.js';
import { flatGrid } from '../../shaders/common.js';
import { reduceSerialWgsl, reduceWorkgroupWgsl, type ReduceOp } from '../../shaders/reduce.js';
import { add, div, exp, log, mul, scale, sub, equal } from './elementwise.js';
import { requireF32 } from '../tensor/kernel.js';
import { broadcastTo, permute, reshape } from './shape.js';

export type Axes = number | readonly number[] | undefined;

export function normalizeAxes(axes: Axes, rank: number, op: string): number[] {
  const list = axes === undefined ? [...Array(rank).keys()] : typeof axes === 'number' ? [axes] : [...axes];
  const out = list.map((a) => {
    const v = a < 0 ? a + rank : a;
    if (!Number.isInteger(v) || v < 0 || v >= rank)
      throw new RangeError(`${op}: axis ${a} out of range for rank ${rank}`);
    return v;
  });
  if (new Set(out).size !== out.length) throw new RangeError(`${op}: repeated axis in [${list}]`);
  return out.sort((a, b) => a - b);
}

function keptShape(shape: readonly number[], axes: number[]): number[] {
  return shape.map((s, d) => (axes.includes(d) ? 1 : s));
}

/**
 * The raw reduction kernel launch: reduces `axes` of x (no autograd here).
 * Adjacent axes reduce in place; scattered ones are first permuted to the end.
 */
function reduceKernel(op: ReduceOp, x: Tensor, axes: number[], factor: number): Tensor {
  requireF32(op, x);
  const outShape = x.shape.filter((_, d) => !axes.includes(d));
  const contiguous = axes.length === 0 || axes[axes.length - 1] - axes[0] === axes.length - 1;
  if (!contiguous) {
    const kept = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
    const moved = noGrad(() => permute(x, [...kept, ...axes]));
    const r = reduceKernel(
      op,
      moved,
      axes.map((_, i) => kept.length + i),
      factor,
    );
    moved.dispose();
    return r;
  }
  const first = axes[0] ?? x.rank;
  const outer = x.shape.slice(0, first).reduce((a, b) => a * b, 1);
  const R = axes.reduce((a, d) => a * x.shape[d], 1);
  const inner = x.shape.slice(first + axes.length).reduce((a, b) => a * b, 1);
  const out = Tensor.empty(outShape);
  const outputs = outer * inner;
  if (outputs === 0) return out;
  if (op === 'max' && R === 0)
    throw new RangeError(`max: cannot reduce an empty axis (shape [${x.shape}], axes [${axes}])`);
  const params = new Params().u32(outer).u32(R).u32(inner).f32(factor).bytes();
  const useWorkgroup = outputs < 4096 && R >= 256;
  const def = useWorkgroup
    ? { key: `reduce-wg:${op}`, code: () => reduceWorkgroupWgsl(op) }
    : { key: `reduce-serial:${op}`, code: () => reduceSerialWgsl(op) };
  getDevice().dispatch(
    def,
    params,
    [x.binding(), out.binding()],
    useWorkgroup ? flatGrid(outputs, 1) : flatGrid(outputs),
  );
  return out;
}

/** Gradient of a reduction: reshape g to the kept-dims shape and broadcast back. */
function expandBack(g: Tensor, x: Tensor, axes: number[]): Tensor {
  return broadcastTo(reshape(g, keptShape(x.shape, axes)), x.shape);
}

export function sum(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  const ax = normalizeAxes(axes, x.rank, 'sum');
  let y = reduceKernel('sum', x, ax, 1);
  if (keepDims) y = reshape(y, keptShape(x.shape, ax));
  return record(y, 'sum', [x], (g) => [expandBack(g, x, ax)]);
}

export function mean(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  const ax = normalizeAxes(axes, x.rank, 'mean');
  const count = ax.reduce((a, d) => a * x.shape[d], 1);
  let y = reduceKernel('sum', x, ax, 1 / count);
  if (keepDims) y = reshape(y, keptShape(x.shape, ax));
  return record(y, 'mean', [x], (g) => [scale(expandBack(g, x, ax), 1 / count)]);
}

/** Maximum over axes. The gradient is shared equally among tied maxima (as torch.amax). */
export function max(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  const ax = normalizeAxes(axes, x.rank, 'max');
  let y = reduceKernel('max', x, ax, 1);
  if (keepDims) y = reshape(y, keptShape(x.shape, ax));
  return record(y, 'max', [x], (g) => {
    const isMax = equal(x, reshape(y, keptShape(x.shape, ax)));
    const ties = reduceKernel('sum', isMax, ax, 1);
    return [mul(expandBack(div(g, reshape(ties, g.shape)), x, ax), isMax)];
  });
}

/** log(sum(exp(x))) computed stably as m + log(sum(exp(x - m))), m = max(x) (held constant). */
export function logsumexp(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  const ax = normalizeAxes(axes, x.rank, 'logsumexp');
  const m = noGrad(() => reshape(reduceKernel('max', x, ax, 1), keptShape(x.shape, ax)));
  const lse = add(log(sum(exp(sub(x, m)), ax, true)), m);
  return keepDims
    ? lse
    : reshape(
        lse,
        x.shape.filter((_, d) => !ax.includes(d)),
      );
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return sub(x, logsumexp(x, axis, true));
}

export function softmax(x: Tensor, axis = -1): Tensor {
  return exp(logSoftmax(x, axis));
}

/** Sums a broadcast result back to `shape` (the gradient of broadcasting). Returns g itself when shapes match. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  if (lead < 0) throw new RangeError(`sumTo: [${g.shape}] has fewer axes than [${shape}]`);
  const axes = g.shape
    .map((_, d) => d)
    .filter((d) => d < lead || (shape[d - lead] === 1 && g.shape[d] !== 1));
  return reshape(sum(g, axes), shape);
}

// ---------------------------------------------------------------- CPU reference (float64)

function reduceNd(
  x: NdArray,
  axes: Axes,
  keepDims: boolean,
  init: number,
  f: (acc: number, v: number) => number,
): NdArray {
  const ax = normalizeAxes(axes, x.shape.length, 'reduce');
  const kept = keptShape(x.shape, ax);
  const out = nd(kept).data.fill(init);
  const ks = contiguousStrides(kept);
  forEachIndex(x.shape, (idx, flat) => {
    let o = 0;
    idx.forEach((v, d) => (o += (ax.includes(d) ? 0 : v) * ks[d]));
    out[o] = f(out[o], x.data[flat]);
  });
  return { shape: keepDims ? kept : x.shape.filter((_, d) => !ax.includes(d)), data: out };
}

export const reference = {
  sum: (x: NdArray, axes?: Axes, keepDims = false) => reduceNd(x, axes, keepDims, 0, (a, v) => a + v),
  max: (x: NdArray, axes?: Axes, keepDims = false) => reduceNd(x, axes, keepDims, -Infinity, Math.max),
  mean(x: NdArray, axes?: Axes, keepDims = false): NdArray {
    const s = reference.sum(x, axes, keepDims);
    const count = x.data.length / Math.max(s.data.length, 1);
    return { shape: s.shape, data: s.data.map((v) => v / count) };
  },
  logsumexp(x: NdArray, axes?: Axes, keepDims = false): NdArray {
    const m = reference.max(x, axes, true);
    const ax = normalizeAxes(axes, x.shape.length, 'logsumexp');
    const ms = contiguousStrides(m.shape);
    const e = nd(x.shape);
    forEachIndex(x.shape, (idx, flat) => {
      const o = idx.reduce((acc, v, d) => acc + (ax.includes(d) ? 0 : v) * ms[d], 0);
      e.data[flat] = Math.exp(x.data[flat] - m.data[o]);
    });
    const s = reference.sum(e, axes, keepDims);
    return { shape: s.shape, data: s.data.map((v, i) => Math.log(v) + m.data[i]) };
  },
};
