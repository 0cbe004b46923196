/**
 * The committed WGSL in shaders/generated/ is what the generators produce today: every lab
 * version has its file, every file belongs to a version, and every file's text is current.
 * No kernel runs here; the text is regenerated in memory (shaders/lab-text.ts) and compared.
 * When this fails after a change to a generator or a version table: npm run gen:shaders.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { labVersions } from '../shaders/conv2d-versions.js';
import { labShaderFiles, TRANSPOSES } from '../shaders/lab-text.js';
import { matmulVariants } from '../shaders/matmul.js';

const dir = fileURLToPath(new URL('../shaders/generated/', import.meta.url));
const REGENERATE = 'run `npm run gen:shaders` and commit shaders/generated/';

const committed = (): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((p) => p.endsWith('.wgsl'))
    .map((p) => p.split('\\').join('/'))
    .sort();

/** Where two texts first differ, for the failure message. */
function firstDifference(a: string, b: string): string {
  const x = a.split('\n'),
    y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++)
    if (x[i] !== y[i])
      return `line ${i + 1}: committed ${JSON.stringify(x[i] ?? '<end of file>')}, generated ${JSON.stringify(y[i] ?? '<end of file>')}`;
  return 'no line differs';
}

describe('shaders/generated: the lab versions as text', () => {
  const files = labShaderFiles();

  it('covers every version of every lab', () => {
    const paths = new Set(files.map((f) => f.path));
    const expected = [
      ...matmulVariants.flatMap((v) => Object.keys(TRANSPOSES).map((t) => `matmul/${v.name}-${t}.wgsl`)),
      ...(['forward', 'dgrad', 'wgrad'] as const).flatMap((pass) =>
        labVersions(pass).map((name) => `conv2d-${pass}/${name}.wgsl`),
      ),
    ];
    expect(expected.filter((p) => !paths.has(p))).toEqual([]);
  });

  it('has a file for every version and none for a version that no longer exists', () => {
    const have = new Set(committed());
    const missing = files.filter((f) => !have.has(f.path)).map((f) => `shaders/generated/${f.path}`);
    const wanted = new Set(files.map((f) => f.path));
    const orphans = [...have].filter((p) => !wanted.has(p)).map((p) => `shaders/generated/${p}`);
    const problems = [...missing.map((p) => `missing: ${p}`), ...orphans.map((p) => `no such version: ${p}`)];
    expect(problems, `${problems.join('\n')}\n${REGENERATE}`).toEqual([]);
  });

  it('every committed file is what the generators write today', () => {
    const stale: string[] = [];
    for (const f of files) {
      let text: string;
      try {
        text = readFileSync(dir + f.path, 'utf8');
      } catch {
        continue; // reported by the test above
      }
      if (text !== f.text)
        stale.push(`stale: shaders/generated/${f.path} (${firstDifference(text, f.text)})`);
    }
    expect(stale, `${stale.join('\n')}\n${REGENERATE}`).toEqual([]);
  });
});
