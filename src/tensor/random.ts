/**
 * Seeded random tensors from a counter-based generator (Philox4x32-10, shaders/random.ts).
 *
 * A Generator is (seed, offset): each draw of n values uses blocks offset .. offset+ceil(n/4)-1
 * and advances the offset, so a stream is a pure function of (seed, offset). That makes it
 * identical on every adapter and in the browser (bits, uniforms and dropout masks bit for bit;
 * normals to the precision of the adapter's log/sin/cos), cheap to checkpoint (`state()`),
 * and independent of how the work is split. The CPU reference (`philox4x32`) gives the same bits.
 */
import { getDevice } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import { randomGrid, randomWgsl, type RandomTransform } from '../../shaders/random.js';
import { checkShape, Tensor } from './tensor.js';

export interface GeneratorState {
  seed: number;
  offset: number;
}

export class Generator {
  seed: number;
  offset = 0;

  constructor(seed = 0) {
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new RangeError(`Generator: seed must be a non-negative integer, got ${seed}`);
    this.seed = seed;
  }

  state(): GeneratorState {
    return { seed: this.seed, offset: this.offset };
  }

  setState(s: GeneratorState): void {
    this.seed = s.seed;
    this.offset = s.offset;
  }

  /** Reserves the blocks for n values and returns the first block's index. */
  take(n: number): number {
    const first = this.offset;
    this.offset += Math.ceil(n / 4);
    return first;
  }

  /** n random u32 on the CPU (the same stream as the GPU kernels). */
  bitsCpu(n: number): Uint32Array {
    const first = this.take(n);
    const out = new Uint32Array(n);
    for (let j = 0; j * 4 < n; j++) {
      const r = philoxBlock(first + j, this.seed);
      for (let q = 0; q < 4 && j * 4 + q < n; q++) out[j * 4 + q] = r[q];
    }
    return out;
  }
}

let defaultGenerator = new Generator(0);

/** Reseeds the default generator. */
export function manualSeed(seed: number): Generator {
  defaultGenerator = new Generator(seed);
  return defaultGenerator;
}

export function getDefaultGenerator(): Generator {
  return defaultGenerator;
}

function draw(
  shape: readonly number[],
  transform: RandomTransform,
  a: number,
  b: number,
  gen: Generator,
): Tensor {
  checkShape(shape);
  const out = Tensor.empty(shape, transform === 'bits' ? 'u32' : 'f32');
  const first = gen.take(out.size);
  if (out.size === 0) return out;
  const params = new Params()
    .u32(out.size)
    .u32(first % 2 ** 32)
    .u32(Math.floor(first / 2 ** 32))
    .u32(gen.seed % 2 ** 32)
    .u32(Math.floor(gen.seed / 2 ** 32))
    .f32(a)
    .f32(b)
    .u32(0);
  getDevice().dispatch(
    { key: `random:${transform}`, code: () => randomWgsl(transform) },
    params.bytes(),
    [out.binding()],
    randomGrid(out.size),
  );
  return out;
}

/** Uniform on [low, high). */
export function rand(shape: readonly number[], low = 0, high = 1, gen = defaultGenerator): Tensor {
  return draw(shape, 'uniform', low, high, gen);
}

/** Normal with the given mean and standard deviation (Box-Muller). */
export function randn(shape: readonly number[], mean = 0, std = 1, gen = defaultGenerator): Tensor {
  return draw(shape, 'normal', mean, std, gen);
}

/** Raw u32 bits (dtype u32). */
export function randomBits(shape: readonly number[], gen = defaultGenerator): Tensor {
  return draw(shape, 'bits', 0, 0, gen);
}

/** A dropout mask: 0 with probability p, else 1 / (1 - p) (inverted dropout). */
export function dropoutMask(shape: readonly number[], p: number, gen = defaultGenerator): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropoutMask: p must be in [0, 1), got ${p}`);
  return draw(shape, 'bernoulli', p, 1 / (1 - p), gen);
}

/** A random permutation of 0..n-1 (Fisher-Yates on the CPU; the same on every machine). */
export function randperm(n: number, gen = defaultGenerator): Int32Array {
  const bits = gen.bitsCpu(Math.max(n - 1, 0));
  const out = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    // unbiased enough for n << 2^32: 32 random bits scaled to [0, i]
    const j = Math.floor((bits[n - 1 - i] / 2 ** 32) * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

// ---------------------------------------------------------------- CPU reference

/** High 32 bits of the 64-bit product of two u32 (the same 16-bit split as the WGSL). */
function mulhi(a: number, b: number): number {
  const a0 = a & 0xffff,
    a1 = a >>> 16,
    b0 = b & 0xffff,
    b1 = b >>> 16;
  const m1 = a1 * b0,
    m2 = a0 * b1;
  const mid = ((a0 * b0) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
  return (a1 * b1 + Math.floor(m1 / 65536) + Math.floor(m2 / 65536) + Math.floor(mid / 65536)) >>> 0;
}

/** Philox4x32-10 of a 128-bit counter and 64-bit key, all as u32 words. */
export function philox4x32(counter: [number, number, number, number], key: [number, number]): Uint32Array {
  let [c0, c1, c2, c3] = counter;
  let [k0, k1] = key;
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi(0xd2511f53, c0),
      lo0 = Math.imul(0xd2511f53, c0) >>> 0;
    const hi1 = mulhi(0xcd9e8d57, c2),
      lo1 = Math.imul(0xcd9e8d57, c2) >>> 0;
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  return Uint32Array.of(c0, c1, c2, c3);
}

/** Block j of the stream of `seed` (counter = j as 64 bits, key = seed as 64 bits). */
export function philoxBlock(j: number, seed: number): Uint32Array {
  return philox4x32(
    [j % 2 ** 32, Math.floor(j / 2 ** 32), 0, 0],
    [seed % 2 ** 32, Math.floor(seed / 2 ** 32)],
  );
}

/** 24 random bits to a float in [0, 1), exactly as the kernel does. */
export const toUnit = (x: number): number => (x >>> 8) / 16777216;
