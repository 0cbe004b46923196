/**
 * IEEE 754 half precision (binary16) and bfloat16, as stored in files; the engine computes in f32.
 *
 *   binary16  sign | 5 exponent bits (bias 15) | 10 mantissa bits: largest finite 65504,
 *             smallest normal 2^-14, smallest subnormal 2^-24, about 3.3 significant digits
 *   bfloat16  the top 16 bits of an f32 (8 exponent bits): read only
 *
 * Every conversion works on the bit patterns (Uint32Array views of the f32 data), never on JS
 * numbers, so NaN payloads and signed zeros survive. f32 -> f16 rounds to nearest, ties to even,
 * bit for bit as numpy's astype(float16) (test/fixtures/half.json); f16 -> f32 and bf16 -> f32
 * are exact.
 */

/** The f16 bit pattern nearest to the f32 of bits `b` (round to nearest even; overflow to +-Inf). */
export function f32BitsToF16(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff; // biased by 127
  const mant = b & 0x7fffff;
  if (exp === 0xff) {
    if (!mant) return sign | 0x7c00; // Inf
    // NaN: the top 10 bits of its payload (the quiet bit among them), never 0 (that is Inf)
    return sign | 0x7c00 | (mant >>> 13 || 1);
  }
  if (exp >= 113) {
    // a normal f16 (exponent exp - 112 in 1..30) or, from 2^16 up, an overflow
    if (exp >= 143) return sign | 0x7c00;
    const h = ((exp - 112) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff; // the 13 bits dropped, half-way at 0x1000
    // rounding up may carry into the exponent: 0x03ff + 1 is the next binade, 0x7bff + 1 is Inf
    return sign | (rest > 0x1000 || (rest === 0x1000 && h & 1) ? h + 1 : h);
  }
  // below 2^-14: a subnormal f16, a multiple of 2^-24. The value is m * 2^(exp - 150) with the
  // implicit bit in m, so in units of 2^-24 it is m / 2^shift
  if (exp < 102) return sign; // below 2^-25: rounds to zero (2^-25 itself is a tie, to even 0)
  const m = mant | 0x800000;
  const shift = 126 - exp; // 14..24
  const h = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  // the largest subnormal rounding up becomes 0x0400, the smallest normal: right as it is
  return sign | (rest > halfway || (rest === halfway && h & 1) ? h + 1 : h);
}

/** The f32 bit pattern of the f16 of bits `h` (exact). */
export function f16BitsToF32(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // Inf, NaN with its payload
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // subnormal: mant * 2^-24; shift the leading one up to the implicit bit's place
  let e = 113;
  while (!(mant & 0x400)) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/** f32 values as f16 bit patterns. */
export function toF16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToF16(bits[i]);
  return out;
}

/** f16 bit patterns as f32 values. */
export function fromF16(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < halves.length; i++) bits[i] = f16BitsToF32(halves[i]);
  return out;
}

/** bfloat16 bit patterns as f32 values (the low 16 bits zero). */
export function fromBf16(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
  return out;
}

/**
 * The first finite value that f16 cannot hold (it rounds to +-Inf: |x| >= 65520, since values
 * up to 65519.99 round down to 65504), as its index and value; null if there is none.
 */
export function f16Overflow(values: Float32Array): { index: number; value: number } | null {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Math.abs(v) >= 65520 && Number.isFinite(v)) return { index: i, value: v };
  }
  return null;
}
