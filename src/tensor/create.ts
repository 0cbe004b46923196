/** Creating tensors: constants, from CPU arrays, and their integer variants. */
import { getDevice } from '../gpu/runtime.js';
import { elementwise } from './kernel.js';
import { checkShape, sizeOf, Tensor, type DType } from './tensor.js';

export function full(shape: readonly number[], value: number): Tensor {
  checkShape(shape);
  return elementwise('fill', 'alpha', [], value, 0, shape);
}

export function zeros(shape: readonly number[]): Tensor {
  return full(shape, 0);
}

export function ones(shape: readonly number[]): Tensor {
  return full(shape, 1);
}

/** A scalar (shape []) tensor. */
export function scalar(value: number): Tensor {
  return full([], value);
}

/**
 * Uploads values: f32 from numbers or a Float32Array; 'i32'/'u32' for labels and indices.
 * Nested arrays are accepted and their shape inferred when `shape` is omitted.
 */
export function tensor(
  values: ArrayLike<number> | NestedNumbers,
  shape?: readonly number[],
  dtype: DType = 'f32',
): Tensor {
  const flat = Array.isArray(values) ? flatten(values as NestedNumbers) : (values as ArrayLike<number>);
  const inferred = shape ?? (Array.isArray(values) ? inferShape(values as NestedNumbers) : [flat.length]);
  checkShape(inferred);
  if (sizeOf(inferred) !== flat.length) {
    throw new RangeError(
      `tensor: ${flat.length} values do not fill shape [${inferred}] (${sizeOf(inferred)} elements)`,
    );
  }
  const data =
    dtype === 'f32'
      ? Float32Array.from(flat)
      : dtype === 'i32'
        ? Int32Array.from(flat)
        : Uint32Array.from(flat);
  if (dtype !== 'f32') {
    for (let i = 0; i < flat.length; i++) {
      if (data[i] !== flat[i])
        throw new RangeError(`tensor: value ${flat[i]} at index ${i} is not a valid ${dtype}`);
    }
  }
  const t = Tensor.empty(inferred, dtype);
  if (data.byteLength) getDevice().write(t.buffer, data);
  return t;
}

export type NestedNumbers = number[] | NestedNumbers[];

function inferShape(v: NestedNumbers): number[] {
  const shape: number[] = [];
  let cur: unknown = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

function flatten(v: NestedNumbers): number[] {
  return (v as unknown[]).flat(Infinity) as number[];
}
