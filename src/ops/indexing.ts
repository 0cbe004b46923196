/**
 * Integer-indexed ops: oneHot, pick (one element per row) and gatherRows (an embedding lookup),
 * and the labels every loss takes (loss.ts). Forward, backward and the float64 CPU reference
 * side by side, as every op file (docs/CONTRIBUTING-OPS.md); the kernels are in shaders/loss.ts.
 *
 * Labels. An op taking labels accepts an i32 Tensor of shape (B), or a CPU array
 * (Int32Array / number[]). A CPU array is checked here (integers in [0, K), else a RangeError
 * naming the op, the index and the value) and uploaded. A GPU tensor cannot be checked
 * without a readback (a stall), so it is not: the kernels never read out of bounds, and an
 * out-of-range label makes that row of `crossEntropy`, `pick` and `gatherRows` NaN (so the loss
 * shows it), gives an all-zero `oneHot` row, and no margin in `arcfaceLogits`.
 * `await checkLabels(t, K)` reads a label tensor back and throws on a bad value.
 */
import { record } from '../autograd/tape.js';
import { getDevice } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/create.js';
import { requireF32 } from '../tensor/kernel.js';
import { nd, type NdArray } from '../tensor/ndarray.js';
import { flatGrid } from '../../shaders/common.js';
import { gatherRowsWgsl, oneHotWgsl } from '../../shaders/loss.js';
import { mul } from './elementwise.js';
import { matmul } from './matmul.js';
import { reshape } from './shape.js';

export type Labels = Tensor | Int32Array | readonly number[];

/** The quiet NaN written for an out-of-range index (passed as a uniform, never a WGSL constant). */
const NAN_BITS = 0x7fc00000;

// ---------------------------------------------------------------- labels

/** Throws unless x is an f32 matrix (B, K); returns [B, K]. */
export function requireMatrix(op: string, x: Tensor, what = 'input'): [number, number] {
  requireF32(op, x);
  if (x.rank !== 2) throw new RangeError(`${op}: ${what} must be (B, K), got shape [${x.shape}]`);
  return [x.shape[0], x.shape[1]];
}

/** Labels as an i32 GPU tensor of shape (B); CPU arrays are range-checked and uploaded. */
export function labelTensor(op: string, labels: Labels, B: number, K: number): Tensor {
  if (labels instanceof Tensor) {
    if (labels.dtype !== 'i32')
      throw new TypeError(
        `${op}: labels must be an i32 tensor, got ${labels.dtype} of shape [${labels.shape}]`,
      );
    if (labels.rank !== 1 || labels.shape[0] !== B)
      throw new RangeError(`${op}: labels of shape [${labels.shape}] for a batch of ${B} (expected [${B}])`);
    return labels;
  }
  if (labels.length !== B) throw new RangeError(`${op}: ${labels.length} labels for a batch of ${B}`);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (!Number.isInteger(v) || v < 0 || v >= K)
      throw new RangeError(`${op}: label ${v} at index ${i} is out of range [0, ${K})`);
  }
  return tensor(Int32Array.from(labels), [B], 'i32');
}

/** Reads a label tensor back and throws if any value is outside [0, K) (a debugging aid: it waits for the GPU). */
export async function checkLabels(labels: Tensor, K: number, op = 'checkLabels'): Promise<void> {
  if (labels.dtype !== 'i32') throw new TypeError(`${op}: labels must be an i32 tensor, got ${labels.dtype}`);
  const v = await labels.toArray();
  for (let i = 0; i < v.length; i++) {
    if (v[i] < 0 || v[i] >= K)
      throw new RangeError(`${op}: label ${v[i]} at index ${i} is out of range [0, ${K})`);
  }
}

/** The uniform of the index kernels of shaders/loss.ts: B, K, D and the NaN bits. */
export function indexParams(B: number, K: number, D: number): Uint8Array {
  return new Params().u32(B).u32(K).u32(D).u32(NAN_BITS).bytes();
}

// ---------------------------------------------------------------- index helpers

/** (B, K): 1 at (b, labels[b]), 0 elsewhere. No gradient. */
export function oneHot(labels: Labels, K: number): Tensor {
  if (!Number.isInteger(K) || K < 1) throw new RangeError(`oneHot: K must be a positive integer, got ${K}`);
  const B = labels instanceof Tensor ? labels.shape[0] : labels.length;
  const lab = labelTensor('oneHot', labels, B, K);
  const out = Tensor.empty([B, K]);
  if (out.size > 0)
    getDevice().dispatch(
      { key: 'index:one_hot', code: oneHotWgsl },
      indexParams(B, K, 1),
      [lab.binding(), out.binding()],
      flatGrid(out.size),
    );
  if (lab !== labels) lab.dispose();
  return out;
}

/** out[b] = x[b, labels[b]] for x (B, K). The gradient scatters back into the label column. */
export function pick(x: Tensor, labels: Labels): Tensor {
  const [B, K] = requireMatrix('pick', x);
  const lab = labelTensor('pick', labels, B, K);
  const out = Tensor.empty([B]);
  if (B > 0)
    getDevice().dispatch(
      { key: 'index:pick', code: () => gatherRowsWgsl(true) },
      indexParams(B, K, 1),
      [x.binding(), lab.binding(), out.binding()],
      flatGrid(B),
    );
  return record(out, 'pick', [x], (g) => [mul(oneHot(lab, K), reshape(g, [B, 1]))]);
}

/** out[b, :] = x[idx[b], :] for x (N, D): an embedding lookup. The gradient is oneHot(idx)^T g. */
export function gatherRows(x: Tensor, idx: Labels): Tensor {
  const [N, D] = requireMatrix('gatherRows', x, 'table');
  const B = idx instanceof Tensor ? idx.shape[0] : idx.length;
  const ix = labelTensor('gatherRows', idx, B, N);
  const out = Tensor.empty([B, D]);
  if (out.size > 0)
    getDevice().dispatch(
      { key: 'index:gather_rows', code: () => gatherRowsWgsl(false) },
      indexParams(B, N, D),
      [x.binding(), ix.binding(), out.binding()],
      flatGrid(out.size),
    );
  // duplicates in idx add up: matmul with the transposed one-hot matrix does exactly that
  return record(out, 'gather_rows', [x], (g) => [matmul(oneHot(ix, N), g, { transA: true })]);
}

// ---------------------------------------------------------------- CPU reference (float64)

const rowsOf = (x: NdArray) => [x.shape[0], x.shape[1]];
const labelsOf = (l: ArrayLike<number>) => Array.from(l);

export const reference = {
  oneHot(labels: ArrayLike<number>, K: number): NdArray {
    const out = nd([labels.length, K]);
    for (let b = 0; b < labels.length; b++)
      if (labels[b] >= 0 && labels[b] < K) out.data[b * K + labels[b]] = 1;
    return out;
  },
  pick(x: NdArray, labels: ArrayLike<number>): NdArray {
    const [B, K] = rowsOf(x);
    return nd(
      [B],
      labelsOf(labels).map((l, b) => x.data[b * K + l]),
    );
  },
  gatherRows(x: NdArray, idx: ArrayLike<number>): NdArray {
    const D = x.shape[1];
    const out = nd([idx.length, D]);
    for (let b = 0; b < idx.length; b++)
      for (let d = 0; d < D; d++) out.data[b * D + d] = x.data[idx[b] * D + d];
    return out;
  },
};
