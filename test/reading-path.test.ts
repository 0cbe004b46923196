/**
 * docs/READING.md, the reading path: every file its tables name exists, with about the stated
 * number of lines. Oracle: the files themselves (line counts within 15%).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..');

/** Rows of the page's tables: | # | `path` | lines | ... |. */
export function readingPathRows(markdown: string): { path: string; lines: number }[] {
  const rows: { path: string; lines: number }[] = [];
  for (const line of markdown.split('\n')) {
    const m = /^\| *\d+ *\| *`([^`]+)` *\| *(\d+) *\|/.exec(line);
    if (m) rows.push({ path: m[1], lines: Number(m[2]) });
  }
  return rows;
}

describe('docs/READING.md', () => {
  const rows = readingPathRows(readFileSync(join(ROOT, 'docs', 'READING.md'), 'utf8'));

  it('walks the training step in at most 10 files, and autograd in a few', () => {
    expect(rows.length).toBeGreaterThanOrEqual(12);
    const firstTable = rows.slice(
      0,
      rows.findIndex((r, i) => i > 0 && r.path.startsWith('src/ops/elementwise')),
    );
    expect(firstTable.length).toBeLessThanOrEqual(10);
  });

  it('names files that exist, with their line counts', () => {
    for (const { path, lines } of rows) {
      expect(existsSync(join(ROOT, path)), `${path} (docs/READING.md) does not exist`).toBe(true);
      const actual = readFileSync(join(ROOT, path), 'utf8').trimEnd().split('\n').length;
      expect(
        Math.abs(actual - lines) <= 0.15 * lines,
        `${path} has ${actual} lines, docs/READING.md says ${lines}: update the table`,
      ).toBe(true);
    }
  });

  it('the row parser reads a row and ignores other lines', () => {
    expect(readingPathRows('| 3 | `a/b.ts` | 42 | x |\n| # | file | lines |\n|---|')).toEqual([
      { path: 'a/b.ts', lines: 42 },
    ]);
  });
});
