/**
 * Writes every lab version's WGSL to shaders/generated/ (npm run gen:shaders).
 *
 * The kernels are generated at run time from the version tables in shaders/matmul.ts and
 * shaders/conv2d-versions.ts; this tool writes the same text (shaders/lab-text.ts) to files a
 * reader can open and diff, one per version (and per transpose combination for matmul). Files
 * of versions that no longer exist are deleted. test/generated-shaders.test.ts fails when the
 * committed files are not what this tool would write.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labShaderFiles } from '../shaders/lab-text.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'shaders', 'generated');

/** Every .wgsl file under `dir`, as paths relative to it. */
function listWgsl(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((p) => p.endsWith('.wgsl'))
    .map((p) => p.split('\\').join('/'))
    .sort();
}

const files = labShaderFiles();
const wanted = new Set(files.map((f) => f.path));
let written = 0;
for (const f of files) {
  const path = join(root, f.path);
  let old: string | null = null;
  try {
    old = readFileSync(path, 'utf8');
  } catch {}
  if (old === f.text) continue;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, f.text);
  written++;
  console.log(`${old === null ? 'new    ' : 'changed'} ${relative(process.cwd(), path)}`);
}
let removed = 0;
for (const p of listWgsl(root)) {
  if (wanted.has(p)) continue;
  rmSync(join(root, p));
  removed++;
  console.log(`removed ${relative(process.cwd(), join(root, p))} (no such version)`);
}
console.log(`shaders/generated: ${files.length} files, ${written} written, ${removed} removed`);
