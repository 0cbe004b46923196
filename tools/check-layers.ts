/**
 * The layer check: every import points down. The project's folders are layers, lowest first;
 * a file may import files of its own layer and of the layers above it in this list, never of
 * one below it:
 *
 *   shaders/        WGSL text generators (imports nothing of the engine)
 *   src/gpu         the device: adapter, pipelines, buffers, submission (node.ts, browser.ts: the edges)
 *   src/tensor      Tensor, scopes, creation, random numbers, the elementwise kernel runner, TensorData
 *   src/autograd    the tape
 *   src/ops         every op: forward, backward, CPU reference
 *   src/nn          modules and layers
 *   src/optim       optimizers, schedules, clipping, EMA
 *   src/io          safetensors, checkpoints, atomic files
 *   src/data        decoders, LFW files, datasets, splits, preprocessing, image caches
 *   src/plot        the rasterizer and figures          (data and plot: one rank, independent)
 *   src/models      IResNet, the recognizer and its weights file
 *   src/face        factors measured from a face's landmarks and pixels: pose, expression, lighting
 *   src/eval        the verification protocol, embeddings
 *   src/train       the recognizer trainer, presets
 *   src/web         the in-browser demo: its core (face-demo.ts, also run in Node) and the page
 *   src/index.ts    the public entries (index.ts, and node.ts and browser.ts, the package's
 *                   entries for each platform): may import every layer; no file of src/ imports them
 *   tools/          the `synface` command: calls the library
 *   bench/          benchmarks, kernel labs, the profiler
 *   test/           tests
 *
 * Layers on one rank (data, plot) may not import each other. A barrel (src/ops/index.ts)
 * belongs to its folder's layer. Type-only imports and dynamic import() count. Package imports
 * ('node:fs', 'webgpu') are not checked.
 *
 *   npx tsx tools/check-layers.ts [root]
 *
 * prints each upward import as `file:line imports X (layer A may not import layer B)` and exits 1
 * if there is one (tools/test.sh runs it after the typecheck). Imports are found by TypeScript's
 * own pre-parser (ts.preProcessFile): exact, and blind to comments and strings.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

/** Ranks, lowest first; the layers of one rank are independent of each other. */
export const LAYERS: string[][] = [
  ['shaders'],
  ['gpu'],
  ['tensor'],
  ['autograd'],
  ['ops'],
  ['nn'],
  ['optim'],
  ['io'],
  ['data', 'plot'],
  ['models'],
  ['face'],
  ['eval'],
  ['train'],
  ['web'],
  ['index'],
  ['tools'],
  ['bench'],
  ['test'],
];

/** Top-level folders whose files are checked (src/ is split into its sub-folders). */
const ROOTS = ['shaders', 'src', 'tools', 'bench', 'test'];

const rankOf = new Map(LAYERS.flatMap((rank, i) => rank.map((layer) => [layer, i] as const)));

export interface Violation {
  /** Relative to the root, `/`-separated. */
  file: string;
  line: number;
  /** The import specifier as written. */
  imports: string;
  message: string;
}

/**
 * The layer of a file (path relative to the root, `/`-separated), null when it is outside the
 * checked folders, 'unknown' for a file of src/ that belongs to no layer.
 */
export function layerOf(path: string): string | null {
  const parts = path.split('/');
  if (parts[0] !== 'src') return ROOTS.includes(parts[0]) && parts.length > 1 ? parts[0] : null;
  // src/index.ts, named in an import as ./index.js, ./index.ts or ./index
  if (parts.length === 2)
    return /^(index|node|browser)(\.[cm]?[jt]sx?)?$/.test(parts[1]) ? 'index' : 'unknown';
  return rankOf.has(parts[1]) ? parts[1] : 'unknown';
}

function sourceFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return []; // a folder the tree does not have
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules') return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts|tsx)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

const toPosix = (p: string) => p.split(sep).join('/');

/** Every upward import (and every file of src/ in no layer) under `root`. */
export function checkLayers(root: string): Violation[] {
  const violations: Violation[] = [];
  for (const abs of ROOTS.flatMap((r) => sourceFiles(join(root, r)))) {
    const file = toPosix(relative(root, abs));
    const from = layerOf(file)!;
    if (from === 'unknown') {
      violations.push({
        file,
        line: 1,
        imports: '',
        message: `${file}:1 is in no layer (add its folder to LAYERS in tools/check-layers.ts)`,
      });
      continue;
    }
    const text = readFileSync(abs, 'utf8');
    for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
      if (!ref.fileName.startsWith('.')) continue; // a package
      const to = layerOf(toPosix(relative(root, resolve(dirname(abs), ref.fileName))));
      if (to === null || to === 'unknown' || to === from) continue;
      const upward = rankOf.get(to)! >= rankOf.get(from)!;
      if (!upward) continue;
      const line = text.slice(0, ref.pos).split('\n').length;
      violations.push({
        file,
        line,
        imports: ref.fileName,
        message: `${file}:${line} imports ${ref.fileName} (layer ${from} may not import layer ${to})`,
      });
    }
  }
  return violations;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const root = resolve(process.argv[2] ?? join(dirname(new URL(import.meta.url).pathname), '..'));
  const violations = checkLayers(root);
  for (const v of violations) console.error(v.message);
  if (violations.length) {
    console.error(`layers: ${violations.length} upward import(s); the order is in tools/check-layers.ts`);
    process.exit(1);
  }
  console.log('layers: every import points down');
}
