/**
 * TensorData: a tensor's values on the CPU (what files hold), and the two crossings between
 * it and the GPU: `readTensors` (async readback) and `copyInto` (an in-place upload or GPU copy
 * into an existing tensor, after checking shape and dtype). Modules and optimizers load their
 * state with it; src/io writes and reads it as files.
 */
import { getDevice } from '../gpu/runtime.js';
import { sizeOf, Tensor, type DType } from './tensor.js';

export type TensorValues = Float32Array | Int32Array | Uint32Array;

export interface TensorData {
  dtype: DType;
  shape: readonly number[];
  data: TensorValues;
}

export function isTensorData(v: unknown): v is TensorData {
  return (
    !!v && typeof v === 'object' && !(v instanceof Tensor) && 'dtype' in v && 'shape' in v && 'data' in v
  );
}

/**
 * Reads every tensor of a record back to the CPU. The values are a snapshot of the moment of
 * the call: all copies are recorded before this function first awaits, so work dispatched
 * afterwards (the next training step) does not leak into them.
 */
export async function readTensors(tensors: Record<string, Tensor>): Promise<Record<string, TensorData>> {
  const entries = Object.entries(tensors);
  const values = await Promise.all(entries.map(([, t]) => t.toArray()));
  return Object.fromEntries(
    entries.map(([name, t], i) => [name, { dtype: t.dtype, shape: [...t.shape], data: values[i] }]),
  );
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Throws unless `src` can be copied into `dst`; `what` names the tensor in the message, e.g.
 * "loadStateDict: 'layer1.weight' has shape [3, 4] in the state dict but [4, 3] in the model".
 */
export function checkCompatible(
  dst: Tensor,
  src: Tensor | TensorData,
  what: string,
  context: string,
  there = 'in the state dict',
  here = 'in the model',
): void {
  if (!sameShape(dst.shape, src.shape)) {
    throw new RangeError(
      `${context}: '${what}' has shape [${src.shape.join(', ')}] ${there} but [${dst.shape.join(', ')}] ${here}`,
    );
  }
  if (dst.dtype !== src.dtype)
    throw new TypeError(`${context}: '${what}' has dtype ${src.dtype} ${there} but ${dst.dtype} ${here}`);
  if (!(src instanceof Tensor) && src.data.length !== sizeOf(src.shape)) {
    throw new RangeError(
      `${context}: '${what}' has ${src.data.length} values for shape [${src.shape.join(', ')}]`,
    );
  }
}

/** Overwrites dst's values with src's (a GPU copy, or an upload from the CPU). Shapes must match. */
export function copyInto(dst: Tensor, src: Tensor | TensorData): void {
  if (src instanceof Tensor) {
    if (src.buffer === dst.buffer) return; // the same storage already holds the values
    if (!sameShape(dst.shape, src.shape) || dst.dtype !== src.dtype) {
      throw new RangeError(
        `copyInto: source [${src.shape}] ${src.dtype} does not match destination [${dst.shape}] ${dst.dtype}`,
      );
    }
    getDevice().copy(src.buffer, 0, dst.buffer, 0, src.byteLength);
  } else if (src.data.byteLength) getDevice().write(dst.buffer, src.data);
}

/** A new tensor (outside any scope's reach is the caller's business) holding src's values. */
export function uploadTensor(src: TensorData): Tensor {
  const t = Tensor.empty(src.shape, src.dtype);
  copyInto(t, src);
  return t;
}

/** Thrown where values that must be finite are not (a diverged training run), before anything is written. */
export class NonFiniteError extends Error {
  constructor(
    message: string,
    /** The tensors with non-finite values: name -> how many of its values are NaN or infinite. */
    readonly counts: Record<string, number>,
  ) {
    super(message);
    this.name = 'NonFiniteError';
  }
}

/**
 * Throws a NonFiniteError if any float tensor of `tensors` holds NaN or +-Infinity, naming the
 * tensors and counts, e.g. "run/checkpoint: 171040 of 536336 values are not finite (model/conv1.weight: 1728, ...)".
 * Files are checked with this before they are written, so a diverged run never replaces a good file.
 */
export function assertFinite(tensors: Record<string, TensorData>, context: string): void {
  const counts: Record<string, number> = {};
  let bad = 0,
    total = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'f32') continue;
    total += t.data.length;
    let n = 0;
    for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i])) n++;
    if (n > 0) counts[name] = n;
    bad += n;
  }
  if (bad === 0) return;
  const names = Object.entries(counts);
  const listed = names
    .slice(0, 4)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
  throw new NonFiniteError(
    `${context}: ${bad} of ${total} values are not finite (${listed}${names.length > 4 ? `, and ${names.length - 4} more tensors` : ''})`,
    counts,
  );
}
