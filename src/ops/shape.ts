/**
 * Shape ops: reshape (a view, no copy), permute/transpose, slice, pad, concat, broadcastTo.
 * Each is its own adjoint's partner: slice <-> pad, concat -> slices, permute -> inverse
 * permute, broadcastTo -> sumTo.
 */
import { record } from '../autograd/tape.js';
import { getDevice } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import { checkShape, sizeOf, Tensor } from '../tensor/tensor.js';
import {
  broadcastShapes,
  broadcastStrides,
  contiguousStrides,
  forEachIndex,
  nd,
  type NdArray,
} from '../tensor/ndarray.js';
import { flatGrid, MAX_RANK } from '../../shaders/common.js';
import { gatherWgsl, padWgsl, scatterRegionWgsl } from '../../shaders/layout.js';
import { elementwise } from '../tensor/kernel.js';
import { sumTo } from './reduce.js';

type LayoutKernel = 'gather' | 'pad' | 'scatter';
const GENERATORS = { gather: gatherWgsl, pad: padWgsl, scatter: scatterRegionWgsl };

function launchLayout(
  kind: LayoutKernel,
  src: Tensor,
  dst: Tensor,
  n: number,
  shape: readonly number[],
  strides: readonly number[],
  base = 0,
  value = 0,
  extra: readonly number[] = [],
  before: readonly number[] = [],
): void {
  if (n === 0) return;
  const rank = shape.length;
  if (rank > MAX_RANK) throw new RangeError(`${kind}: rank ${rank} > ${MAX_RANK}`);
  const params = new Params()
    .u32(n)
    .u32(base)
    .f32(value)
    .u32(0)
    .u32x4Array(shape, 2)
    .u32x4Array(strides, 2)
    .u32x4Array(extra, 2)
    .u32x4Array(before, 2);
  getDevice().dispatch(
    { key: `${kind}:r${rank}`, code: () => GENERATORS[kind](rank) },
    params.bytes(),
    [src.binding(), dst.binding()],
    flatGrid(n),
  );
}

function normalizeAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(rank, 1))
    throw new RangeError(`${op}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** Same data, new shape (one dimension may be -1). No copy: shares storage. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const known = shape.filter((d) => d !== -1);
  const target = [...shape];
  if (known.length < shape.length - 1) throw new RangeError(`reshape: more than one -1 in [${shape}]`);
  if (known.length === shape.length - 1) {
    const rest = sizeOf(known);
    if (rest === 0 || x.size % rest)
      throw new RangeError(`reshape: cannot reshape [${x.shape}] to [${shape}]`);
    target[shape.indexOf(-1)] = x.size / rest;
  }
  checkShape(target, 'reshape target');
  if (sizeOf(target) !== x.size)
    throw new RangeError(
      `reshape: [${x.shape}] (${x.size} elements) cannot become [${shape}] (${sizeOf(target)})`,
    );
  return record(Tensor.view(x, target), 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

export function flatten(x: Tensor, startAxis = 1): Tensor {
  return reshape(x, [...x.shape.slice(0, startAxis), -1]);
}

/** out.shape[d] = x.shape[perm[d]]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const rank = x.rank;
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new RangeError(`permute: [${perm}] is not a permutation of ${rank} axes (tensor [${x.shape}])`);
  }
  const inStrides = contiguousStrides(x.shape);
  const shape = perm.map((p) => x.shape[p]);
  const out = Tensor.empty(shape);
  launchLayout(
    'gather',
    x,
    out,
    out.size,
    shape,
    perm.map((p) => inStrides[p]),
  );
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return record(out, 'permute', [x], (g) => [permute(g, inverse)]);
}

/** Swaps two axes (default: the last two). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const perm = x.shape.map((_, i) => i);
  const i = normalizeAxis(a, x.rank, 'transpose'),
    j = normalizeAxis(b, x.rank, 'transpose');
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return permute(x, perm);
}

/** x[start_0:end_0, start_1:end_1, ...]; `ranges[d]` null or missing keeps the whole axis. */
export function slice(x: Tensor, ranges: readonly ([number, number] | null)[]): Tensor {
  if (ranges.length > x.rank)
    throw new RangeError(`slice: ${ranges.length} ranges for a tensor of shape [${x.shape}]`);
  const starts: number[] = [],
    shape: number[] = [];
  x.shape.forEach((size, d) => {
    const r = ranges[d];
    let [s, e] = r ?? [0, size];
    if (s < 0) s += size;
    if (e < 0) e += size;
    if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > size || s > e) {
      throw new RangeError(
        `slice: range [${r}] out of bounds for axis ${d} of size ${size} (shape [${x.shape}])`,
      );
    }
    starts.push(s);
    shape.push(e - s);
  });
  const inStrides = contiguousStrides(x.shape);
  const base = starts.reduce((acc, s, d) => acc + s * inStrides[d], 0);
  const out = Tensor.empty(shape);
  launchLayout('gather', x, out, out.size, shape, inStrides, base);
  return record(out, 'slice', [x], (g) => [
    pad(
      g,
      starts.map((s, d) => [s, x.shape[d] - s - shape[d]] as [number, number]),
    ),
  ]);
}

/** Pads with a constant: `widths[d] = [before, after]` (non-negative; missing = [0, 0]). */
export function pad(x: Tensor, widths: readonly [number, number][], value = 0): Tensor {
  if (widths.length > x.rank)
    throw new RangeError(`pad: ${widths.length} widths for a tensor of shape [${x.shape}]`);
  const w = x.shape.map((_, d) => widths[d] ?? [0, 0]);
  for (const [b, a] of w)
    if (!Number.isInteger(b) || !Number.isInteger(a) || b < 0 || a < 0)
      throw new RangeError(`pad: widths must be non-negative integers, got [${widths.map((p) => `[${p}]`)}]`);
  const shape = x.shape.map((s, d) => s + w[d][0] + w[d][1]);
  // an empty x has no element to read: the output is all padding
  const out = x.size === 0 ? elementwise('fill', 'alpha', [], value, 0, shape) : Tensor.empty(shape);
  if (x.size > 0)
    launchLayout(
      'pad',
      x,
      out,
      out.size,
      shape,
      [],
      0,
      value,
      x.shape,
      w.map((p) => p[0]),
    );
  return record(out, 'pad', [x], (g) => [
    slice(
      g,
      w.map(([b], d) => [b, b + x.shape[d]] as [number, number]),
    ),
  ]);
}

/** Joins tensors along an axis; all other dimensions must match. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new RangeError('concat: no tensors');
  const rank = xs[0].rank;
  const ax = normalizeAxis(axis, rank, 'concat');
  for (const t of xs) {
    if (t.rank !== rank || t.shape.some((s, d) => d !== ax && s !== xs[0].shape[d])) {
      throw new RangeError(
        `concat: shapes ${xs.map((u) => `[${u.shape}]`).join(', ')} differ outside axis ${ax}`,
      );
    }
  }
  const shape = [...xs[0].shape];
  shape[ax] = xs.reduce((n, t) => n + t.shape[ax], 0);
  const out = Tensor.empty(shape);
  const outStrides = contiguousStrides(shape);
  let at = 0;
  const offsets: number[] = [];
  for (const t of xs) {
    offsets.push(at);
    launchLayout('scatter', t, out, t.size, t.shape, outStrides, at * outStrides[ax]);
    at += t.shape[ax];
  }
  return record(out, 'concat', [...xs], (g) =>
    xs.map((t, k) =>
      t.requiresGrad
        ? slice(
            g,
            shape.map(
              (s, d) => (d === ax ? [offsets[k], offsets[k] + t.shape[ax]] : [0, s]) as [number, number],
            ),
          )
        : null,
    ),
  );
}

/** Stacks same-shaped tensors along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  const ax = axis < 0 ? axis + xs[0].rank + 1 : axis;
  return concat(
    xs.map((t) => reshape(t, [...t.shape.slice(0, ax), 1, ...t.shape.slice(ax)])),
    ax,
  );
}

/** Materializes x broadcast to `shape` (numpy rules). */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  const target = broadcastShapes([x.shape, shape], 'broadcastTo');
  if (target.join() !== shape.join())
    throw new RangeError(`broadcastTo: [${x.shape}] cannot be broadcast to [${shape}]`);
  const out = Tensor.empty(shape);
  launchLayout('gather', x, out, out.size, shape, broadcastStrides(x.shape, shape));
  return record(out, 'broadcast_to', [x], (g) => [sumTo(g, x.shape)]);
}

// ---------------------------------------------------------------- CPU reference (float64)

function gatherNd(x: NdArray, shape: number[], strides: number[], base: number): NdArray {
  const out = nd(shape);
  forEachIndex(shape, (idx, flat) => {
    let off = base;
    for (let d = 0; d < idx.length; d++) off += idx[d] * strides[d];
    out.data[flat] = x.data[off];
  });
  return out;
}

export const reference = {
  permute(x: NdArray, perm: number[]): NdArray {
    const s = contiguousStrides(x.shape);
    return gatherNd(
      x,
      perm.map((p) => x.shape[p]),
      perm.map((p) => s[p]),
      0,
    );
  },
  slice(x: NdArray, ranges: ([number, number] | null)[]): NdArray {
    const s = contiguousStrides(x.shape);
    const r = x.shape.map((size, d) => ranges[d] ?? [0, size]);
    return gatherNd(
      x,
      r.map(([a, b]) => b - a),
      s,
      r.reduce((acc, [a], d) => acc + a * s[d], 0),
    );
  },
  pad(x: NdArray, widths: [number, number][], value = 0): NdArray {
    const w = x.shape.map((_, d) => widths[d] ?? [0, 0]);
    const out = nd(x.shape.map((s, d) => s + w[d][0] + w[d][1]));
    const s = contiguousStrides(x.shape);
    forEachIndex(out.shape, (idx, flat) => {
      let off = 0,
        inside = true;
      idx.forEach((i, d) => {
        const o = i - w[d][0];
        if (o < 0 || o >= x.shape[d]) inside = false;
        off += o * s[d];
      });
      out.data[flat] = inside ? x.data[off] : value;
    });
    return out;
  },
  concat(xs: NdArray[], axis: number): NdArray {
    const shape = [...xs[0].shape];
    shape[axis] = xs.reduce((n, t) => n + t.shape[axis], 0);
    const out = nd(shape);
    forEachIndex(shape, (idx, flat) => {
      let k = 0,
        i = idx[axis];
      while (i >= xs[k].shape[axis]) i -= xs[k++].shape[axis];
      const s = contiguousStrides(xs[k].shape);
      out.data[flat] = xs[k].data[idx.reduce((acc, v, d) => acc + (d === axis ? i : v) * s[d], 0)];
    });
    return out;
  },
  broadcastTo(x: NdArray, shape: number[]): NdArray {
    return gatherNd(x, shape, broadcastStrides(x.shape, shape), 0);
  },
};

/**
 * Copies src's values into dst's storage in place (an optimizer's parameter update, a
 * running statistic). Not differentiable: dst must not be part of a graph being recorded.
 */
export function assign(dst: Tensor, src: Tensor): void {
  if (dst.shape.join() !== src.shape.join() || dst.dtype !== src.dtype) {
    throw new RangeError(
      `assign: source [${src.shape}] ${src.dtype} does not match destination [${dst.shape}] ${dst.dtype}`,
    );
  }
  getDevice().copy(src.buffer, 0, dst.buffer, 0, src.byteLength);
}
