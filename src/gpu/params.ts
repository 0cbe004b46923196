/**
 * Builds the bytes of a kernel's uniform block (`struct Params` in WGSL).
 *
 * WGSL uniform layout: u32/i32/f32 are 4 bytes, 4-aligned; `vec4<u32>` is 16-aligned.
 * Kernels here only use scalars and `array<vec4<u32>, N>` (shapes and strides of up to
 * 4*N dimensions), so the builder pads to 16 bytes before a vec4 array.
 *
 *   new Params().u32(M).u32(N).f32(alpha).u32x4Array(shape, 2).bytes()
 */
export class Params {
  private words: number[] = [];
  private kinds: ('u' | 'i' | 'f')[] = [];

  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
      throw new RangeError(`Params.u32: ${v} is not a u32`);
    return this.push(v, 'u');
  }
  i32(v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff)
      throw new RangeError(`Params.i32: ${v} is not an i32`);
    return this.push(v, 'i');
  }
  f32(v: number): this {
    return this.push(v, 'f');
  }
  /** `count` vec4<u32> (16-byte aligned), filled from `values`, zero-padded. */
  u32x4Array(values: readonly number[], count: number): this {
    if (values.length > count * 4)
      throw new RangeError(`Params: ${values.length} values do not fit ${count} vec4`);
    while (this.words.length % 4) this.push(0, 'u');
    for (let i = 0; i < count * 4; i++) this.u32(values[i] ?? 0);
    return this;
  }

  bytes(): Uint8Array {
    const n = Math.max(4, Math.ceil(this.words.length / 4) * 4); // a uniform block is a multiple of 16 bytes
    const buf = new ArrayBuffer(n * 4);
    const u = new Uint32Array(buf),
      i = new Int32Array(buf),
      f = new Float32Array(buf);
    this.words.forEach((v, k) => {
      const kind = this.kinds[k];
      if (kind === 'f') f[k] = v;
      else if (kind === 'i') i[k] = v;
      else u[k] = v;
    });
    return new Uint8Array(buf);
  }

  private push(v: number, kind: 'u' | 'i' | 'f'): this {
    this.words.push(v);
    this.kinds.push(kind);
    return this;
  }
}
