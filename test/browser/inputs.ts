/**
 * Deterministic inputs and checksums of the cross-environment suite (suite.ts and its case
 * files): tiny JS formulas, no Node modules, no DOM, so a page and Node start from identical bits.
 */

/** Values in roughly [-1.1, 1.1], not dyadic (so rounding matters), from a small integer hash. */
export function wave(n: number, salt: number): number[] {
  return Array.from(
    { length: n },
    (_, i) => Math.sin(i * 0.7 + salt * 1.3) * 0.9 + (((i * 37 + salt * 11) % 17) - 8) / 40,
  );
}

/**
 * CRC-32 (reflected polynomial 0xEDB88320), as PNG chunks carry it; bit by bit, independent of
 * src/data/png.ts's table-driven one that the suite checks.
 */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
