/**
 * Tensor: an n-dimensional array in a GPU buffer, plus what autograd needs.
 *
 * Storage is contiguous, row-major. Several tensors may share one storage (reshape is a view),
 * so storage is reference-counted; a tensor's `dispose()` drops its reference and the last one
 * returns the buffer to the pool. JS has no destructors: tensors are freed by `dispose()` or by
 * the `scope()` that created them (see scope.ts). `liveTensors()` counts the undisposed ones.
 */
import type { Binding, Device } from '../gpu/device.js';
import { getDevice } from '../gpu/runtime.js';
import { track, untrack } from './scope.js';

export type DType = 'f32' | 'i32' | 'u32';
export type TypedArrayFor<D extends DType> = D extends 'f32'
  ? Float32Array
  : D extends 'i32'
    ? Int32Array
    : Uint32Array;

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function checkShape(shape: readonly number[], what = 'shape'): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new RangeError(`${what} [${shape}] has an invalid dimension ${d}`);
  }
}

class Storage {
  refs = 1;
  constructor(
    readonly device: Device,
    readonly buffer: GPUBuffer,
  ) {}
  release(): void {
    if (--this.refs === 0) this.device.pool.release(this.buffer);
  }
}

/**
 * How a tensor was computed, as autograd records it (src/autograd/tape.ts): the inputs, and a
 * `backward` closure mapping the output's gradient to the inputs' gradients. Declared here,
 * beside the field that holds it, so that tensors need nothing from the layer above them.
 */
export interface GradNode {
  op: string;
  inputs: Tensor[];
  /** Gradients of the inputs, in order; null where an input needs none. */
  backward: (gradOutput: Tensor) => (Tensor | null)[];
}

let nextId = 1;
let live = 0;

/** Tensors created and not yet disposed (a training loop should keep this flat). */
export function liveTensors(): number {
  return live;
}

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly size: number;
  /** Set by ops whose inputs require grad, or by the user on leaves (parameters). */
  requiresGrad = false;
  /** The accumulated gradient of a leaf after `backward()`. Owned by this tensor. */
  grad: Tensor | null = null;
  /** How this tensor was computed, for backward. Null on leaves. */
  node: GradNode | null = null;
  /** Optional name, shown in errors (parameters have one). */
  name?: string;
  private storage: Storage | null;

  private constructor(
    shape: readonly number[],
    readonly dtype: DType,
    storage: Storage,
  ) {
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    this.storage = storage;
    live++;
    track(this);
  }

  /** A new tensor with fresh (uninitialised) storage. */
  static empty(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    checkShape(shape);
    const device = getDevice();
    const buffer = device.pool.acquire(sizeOf(shape) * 4);
    return new Tensor(shape, dtype, new Storage(device, buffer));
  }

  /** A tensor sharing `base`'s storage with another shape of the same size (a view). */
  static view(base: Tensor, shape: readonly number[]): Tensor {
    const storage = base.liveStorage();
    storage.refs++;
    return new Tensor(shape, base.dtype, storage);
  }

  get rank(): number {
    return this.shape.length;
  }

  get byteLength(): number {
    return this.size * 4;
  }

  get isDisposed(): boolean {
    return this.storage === null;
  }

  get buffer(): GPUBuffer {
    return this.liveStorage().buffer;
  }

  /** The storage binding a kernel reads or writes. */
  binding(): Binding {
    return { buffer: this.buffer, size: this.byteLength };
  }

  /** Drops this tensor's storage (and its gradient). Safe to call twice. */
  dispose(): void {
    if (!this.storage) return;
    this.storage.release();
    this.storage = null;
    this.node = null;
    live--;
    untrack(this);
    this.grad?.dispose();
    this.grad = null;
  }

  /** Copies the values to the CPU (waits for the GPU). */
  async toArray(): Promise<Float32Array | Int32Array | Uint32Array> {
    const storage = this.liveStorage();
    const bytes = await storage.device.read(storage.buffer, this.byteLength);
    return this.dtype === 'f32'
      ? new Float32Array(bytes)
      : this.dtype === 'i32'
        ? new Int32Array(bytes)
        : new Uint32Array(bytes);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new RangeError(`item() needs a one-element tensor, got shape [${this.shape}]`);
    return (await this.toArray())[0];
  }

  toString(): string {
    return `Tensor(${this.name ? this.name + ', ' : ''}[${this.shape}], ${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  private liveStorage(): Storage {
    if (!this.storage) throw new Error(`${this.toString()} #${this.id} was disposed and cannot be used`);
    return this.storage;
  }
}
