/**
 * Half precision conversions (src/io/half.ts), bit for bit.
 * Oracles: numpy's astype(float16) / astype(float32) (test/fixtures/half.json, made by
 * tools/fixtures/make_half_fixtures.py): named edge cases, random values over every magnitude and
 * every rounding boundary, random bit patterns; and, for all 65,536 f16 patterns, the value
 * sign * 2^(e - 15) * (1 + m / 1024) (or m * 2^-24) computed in float64.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { f16BitsToF32, f16Overflow, f32BitsToF16, fromBf16, fromF16, toF16 } from '../src/io/half.js';

interface HalfFixture {
  numpy: string;
  f32_to_f16: { edges: { name: string; f32: number; f16: number }[]; f32: number[]; f16: number[] };
  f16_to_f32: { f16: number[]; f32: number[] };
}
const fx = JSON.parse(readFileSync('test/fixtures/half.json', 'utf8')) as HalfFixture;
const hex = (b: number, digits: number) => '0x' + b.toString(16).padStart(digits, '0');

describe('f32 -> f16 against numpy', () => {
  it.each(fx.f32_to_f16.edges)('$name', ({ f32, f16 }) => {
    expect(hex(f32BitsToF16(f32), 4)).toBe(hex(f16, 4));
  });

  it(`${fx.f32_to_f16.f32.length} random values, boundaries and bit patterns (numpy ${fx.numpy})`, () => {
    const { f32, f16 } = fx.f32_to_f16;
    expect(f32.length).toBeGreaterThan(3000);
    const wrong = f32
      .map((b, i) => ({ f32: hex(b, 8), got: hex(f32BitsToF16(b), 4), numpy: hex(f16[i], 4) }))
      .filter((r) => r.got !== r.numpy);
    expect(wrong.slice(0, 5)).toEqual([]);
    // the array form gives the same bits, NaN payloads included (it never goes through a number)
    const halves = toF16(new Float32Array(Uint32Array.from(f32).buffer));
    expect([...halves]).toEqual(f16);
  });
});

describe('f16 -> f32', () => {
  it(`matches numpy on ${fx.f16_to_f32.f16.length} patterns`, () => {
    const { f16, f32 } = fx.f16_to_f32;
    expect(f16.map((h) => hex(f16BitsToF32(h), 8))).toEqual(f32.map((b) => hex(b, 8)));
    const values = fromF16(Uint16Array.from(f16));
    expect([...new Uint32Array(values.buffer)]).toEqual(f32);
  });

  it('is exact for all 65,536 patterns, and f32 -> f16 takes every one back', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const values = fromF16(all);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1,
        e = (h >> 10) & 0x1f,
        m = h & 0x3ff;
      const want =
        e === 31
          ? m
            ? NaN
            : sign * Infinity
          : e === 0
            ? sign * m * 2 ** -24
            : sign * 2 ** (e - 15) * (1 + m / 1024);
      if (!Object.is(values[h], want))
        expect({ h: hex(h, 4), got: values[h] }).toEqual({ h: hex(h, 4), got: want });
    }
    expect(toF16(values)).toEqual(all);
  });
});

describe('bfloat16 and overflow', () => {
  it('bf16 is the top half of an f32', () => {
    const f = Float32Array.of(1, -3.5, 2 ** -130, Infinity, 1.5 * 2 ** 100);
    const top = Uint16Array.from(new Uint32Array(f.buffer), (b) => b >>> 16);
    // these values have 8 significant bits or fewer, so the low half is zero and the read is exact
    expect(fromBf16(top)).toEqual(f);
    expect(fromBf16(Uint16Array.of(0x7fc0))[0]).toBeNaN();
    expect(Object.is(fromBf16(Uint16Array.of(0x8000))[0], -0)).toBe(true);
  });

  it('f16Overflow finds the first finite value that rounds to Inf', () => {
    expect(f16Overflow(Float32Array.of(1, 65504, 65519, -65519.99, Infinity, NaN))).toBeNull();
    expect(f16Overflow(Float32Array.of(1, -Infinity, -65520, 1e6))).toEqual({ index: 2, value: -65520 });
    // the bound agrees with the conversion: 65520 is the first f32 that becomes Inf
    const below = new Float32Array(
      Uint32Array.of(new Uint32Array(Float32Array.of(65520).buffer)[0] - 1).buffer,
    );
    expect(f32BitsToF16(new Uint32Array(below.buffer)[0])).toBe(0x7bff);
    expect(f16Overflow(below)).toBeNull();
  });
});
