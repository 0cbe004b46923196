/**
 * Philox random numbers: bits, uniform and normal draws, dropout masks, permutations, state.
 * Oracle: Random123's known-answer vectors, the CPU implementation, and sample statistics.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { philox4x32, philoxBlock, toUnit } from '../src/tensor/random.js';

describe('Philox4x32-10', () => {
  it('matches the Random123 known-answer vectors', () => {
    // kat_vectors of Random123: philox4x32 10 rounds
    expect([...philox4x32([0, 0, 0, 0], [0, 0])].map((x) => x.toString(16))).toEqual([
      '6627e8d5',
      'e169c58d',
      'bc57ac4c',
      '9b00dbd8',
    ]);
    expect(
      [...philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])].map((x) =>
        x.toString(16),
      ),
    ).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
    expect(
      [...philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])].map((x) =>
        x.toString(16),
      ),
    ).toEqual(['d16cfe09', '94fdcceb', '5001e420', '24126ea1']);
  });

  it('GPU bits are identical to the CPU reference, across a 64-bit counter carry', async () => {
    const g = new E.Generator(123456789012);
    g.offset = 2 ** 32 - 3; // the counter's low word wraps inside this draw
    const bits = E.scope(() => E.randomBits([1001], g));
    const got = await bits.toArray();
    const cpu = new E.Generator(123456789012);
    cpu.offset = 2 ** 32 - 3;
    expect([...got]).toEqual([...cpu.bitsCpu(1001)]);
    expect(g.offset).toBe(cpu.offset);
    bits.dispose();
  });

  it('rand is the exact 24-bit conversion of those bits, and streams advance', async () => {
    const g = new E.Generator(7);
    const a = E.rand([10], 0, 1, g),
      b = E.rand([10], 0, 1, g);
    // each draw takes whole blocks of 4: a uses bits 0..11 (10 of them), b starts at bit 12
    const bits = [...new E.Generator(7).bitsCpu(24)];
    expect([...(await a.toArray())]).toEqual(bits.slice(0, 10).map(toUnit));
    expect([...(await b.toArray())]).toEqual(bits.slice(12, 22).map(toUnit));
    a.dispose();
    b.dispose();
  });

  it('randn has mean 0, std 1 and no infinities (200k samples)', async () => {
    const x = await E.scope(() => E.randn([200000], 0, 1, new E.Generator(3))).toArray();
    let s = 0,
      s2 = 0;
    for (const v of x) {
      expect(Number.isFinite(v)).toBe(true);
      s += v;
      s2 += v * v;
    }
    const mean = s / x.length,
      std = Math.sqrt(s2 / x.length - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(std - 1)).toBeLessThan(0.01);
  });

  it('dropout masks keep 1-p of the values, scaled by 1/(1-p)', async () => {
    const m = await E.scope(() => E.dropoutMask([100000], 0.25, new E.Generator(5))).toArray();
    const kept = m.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 4 / 3) < 1e-6)).toBe(true);
    expect(Math.abs(kept.length / m.length - 0.75)).toBeLessThan(0.01);
    expect(() => E.dropoutMask([2], 1)).toThrow(/p must be in \[0, 1\)/);
  });

  it('randperm is a permutation, reproducible from the seed', () => {
    const p = E.randperm(1000, new E.Generator(11));
    expect([...p].sort((a, b) => a - b)).toEqual([...Array(1000).keys()]);
    expect([...E.randperm(1000, new E.Generator(11))]).toEqual([...p]);
    expect([...E.randperm(1000, new E.Generator(12))]).not.toEqual([...p]);
  });

  it('state() restores a stream exactly (checkpoints)', async () => {
    const g = new E.Generator(9);
    E.rand([5], 0, 1, g).dispose();
    const saved = g.state();
    const a = await E.scope(() => E.rand([6], 0, 1, g)).toArray();
    g.setState(saved);
    const b = await E.scope(() => E.rand([6], 0, 1, g)).toArray();
    expect([...a]).toEqual([...b]);
    expect(philoxBlock(0, 9)).toEqual(new E.Generator(9).bitsCpu(4));
  });
});
