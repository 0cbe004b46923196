/**
 * The published package, as a user gets it: `npm pack` (which builds dist/ through the prepack
 * script), then `npm install --omit=dev` of the tarball into an empty folder, and there:
 *   - the `synface` bin starts (node, no tsx) and prints its usage;
 *   - a plain .mjs script imports the engine from 'synface-gpu', trains a small model a few
 *     steps on WebGPU, and loads the shipped recognizer through 'synface-gpu/models';
 *   - every package the built code imports is a runtime dependency (or a node: builtin);
 *   - a browser bundle of it (esbuild) takes the browser entry and no Node module;
 *   - a TypeScript consumer typechecks against the shipped declarations.
 * Slow (build, pack, install, a recognizer forward pass on lavapipe): about half a minute.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

/**
 * The environment without npm's own variables: run under `npm test`, npm_config_local_prefix
 * (and friends) would send the nested `npm install` to the repository instead of the folder.
 */
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

/** A command's stdout; a failure throws with the command, its status and everything it printed. */
function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const { status, stdout, stderr } = e as { status: number | null; stdout?: string; stderr?: string };
    throw new Error(
      `${cmd} ${args.join(' ')} (in ${cwd}) exited with ${status}:\n${stdout ?? ''}${stderr ?? ''}`,
    );
  }
}

let work = '';
let app = ''; // the empty project the tarball is installed into
let installed = ''; // app/node_modules/synface-gpu
let packed: string[] = []; // the tarball's file list

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'synface-package-'));
  const [pack] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], ROOT));
  packed = pack.files.map((f: { path: string }) => f.path);
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // webgpu and pngjs come from npm's cache when they are there (they are after the repository's npm install)
  run(
    'npm',
    ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', join(work, pack.filename)],
    app,
  );
  installed = join(app, 'node_modules', 'synface-gpu');
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Every file under `dir`, as paths relative to it. */
function walk(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

describe('the packed package, installed without dev dependencies', () => {
  it('holds the build, the declarations, the shipped weights and the embedded sample, and no tests or benchmarks', () => {
    for (const file of [
      'dist/src/node.js',
      'dist/src/node.d.ts',
      'dist/src/browser.js',
      'dist/src/models/index.js',
      'dist/src/data/index.js',
      'dist/tools/synface.js',
      'weights/recognizer-small.safetensors',
      'weights/recognizer-small.manifest.json',
      'data/lfw-sample/dataset.json',
      'data/lfw-sample/val-pairs.txt',
    ])
      expect(packed, file).toContain(file);
    const stray = packed.filter((f) => /^(test|bench|dist\/test|dist\/bench|node_modules|runs)\//.test(f));
    expect(stray).toEqual([]);
    expect(readFileSync(join(installed, 'dist/tools/synface.js'), 'utf8').split('\n')[0]).toBe(
      '#!/usr/bin/env node',
    );
  });

  it('imports, in its built code, only node: builtins and its runtime dependencies', () => {
    const allowed = new Set([...Object.keys(MANIFEST.dependencies), ...builtinModules]);
    const foreign: string[] = [];
    for (const file of walk(join(installed, 'dist')).filter((f) => f.endsWith('.js'))) {
      const code = readFileSync(join(installed, 'dist', file), 'utf8') // without its comments:
        .replace(/\/\*[\s\S]*?\*\//g, '') // headers quote imports ("import ... from 'synface-gpu'")
        .replace(/^\s*\/\/.*$/gm, '');
      for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)) {
        const spec = m[1];
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (!allowed.has(name)) foreign.push(`dist/${file}: '${spec}'`);
      }
    }
    expect(foreign).toEqual([]);
  });

  it('`synface --help` runs from node_modules/.bin and lists the commands', () => {
    const out = run(join(app, 'node_modules', '.bin', 'synface'), ['--help'], app);
    expect(out).toMatch(/^usage: synface <command>/);
    for (const command of ['demo', 'train-recognizer', 'eval', 'split', 'engine-demo', 'info'])
      expect(out).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it("a script imports 'synface-gpu', trains a linear model a few steps on WebGPU, and loads the shipped recognizer", () => {
    writeFileSync(
      join(app, 'smoke.mjs'),
      `
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'synface-gpu';
import { loadRecognizer } from 'synface-gpu/models';
import { cropFor, decodeImage, parseLayout, toUint8CHW, u8ToNormalized } from 'synface-gpu/data';

await E.initGpu({ autotune: false });
const gen = new E.Generator(7);
const x = E.keep(E.randn([32, 4], 0, 1, gen));
const y = E.keep(E.matmul(x, E.randn([4, 1], 0, 1, gen))); // a linear target
const model = new E.nn.Linear(4, 1, { gen });
const optimizer = new E.optim.SGD(model.parameters(), { lr: 0.1 });
const losses = [];
for (let step = 0; step < 5; step++) {
  const loss = E.scope(() => {
    const l = E.mean(E.square(E.sub(model.forward(x), y)));
    E.backward(l);
    optimizer.step();
    optimizer.zeroGrad();
    return l;
  });
  losses.push(await loss.item());
  loss.dispose();
}

const weights = E.shippedRecognizerPath();
const exported = fileURLToPath(import.meta.resolve('synface-gpu/weights/recognizer-small.safetensors'));
const { backbone, file } = loadRecognizer(readFileSync(weights), weights);
const sample = E.embeddedSamplePath();
const layout = parseLayout(readFileSync(join(sample, 'dataset.json'), 'utf8'), 'dataset.json');
const image = decodeImage(readFileSync(join(sample, 'images/Ana_Guevara/Ana_Guevara_0001.png')));
const pixels = u8ToNormalized(toUint8CHW(image, cropFor(layout, file.preprocess, sample)));
const embedding = await E.noGrad(() => backbone.forward(E.tensor(pixels, [1, 3, ...file.preprocess.out]))).toArray();
E.shutdownGpu();
console.log(JSON.stringify({
  losses,
  weights,
  exported,
  embedding: embedding.length,
  expected: file.backbone.embedding,
  finite: embedding.every(Number.isFinite),
}));
`,
    );
    const out = run('node', ['smoke.mjs'], app);
    const r = JSON.parse(out.trim().split('\n').at(-1)!);
    for (let i = 1; i < r.losses.length; i++) expect(r.losses[i]).toBeLessThan(r.losses[i - 1]);
    expect(r.losses.at(-1)).toBeLessThan(r.losses[0] / 2);
    expect(r.weights).toBe(join(installed, 'weights', 'recognizer-small.safetensors'));
    expect(r.exported).toBe(r.weights);
    expect(r.embedding).toBe(r.expected);
    expect(r.finite).toBe(true);
  });

  it("a browser bundle of 'synface-gpu', its models and data resolves the browser entry and pulls in no Node module", () => {
    const bundle = buildSync({
      stdin: {
        contents: `import { initGpu } from 'synface-gpu'; import 'synface-gpu/models'; import 'synface-gpu/data'; initGpu();`,
        resolveDir: app,
      },
      bundle: true,
      platform: 'browser', // the "browser" export condition; a node: import would be an error here
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    const code = bundle.outputFiles[0].text;
    expect(code).toContain('navigator.gpu');
    expect(code).not.toContain('webgpu.create');
  });

  it('a TypeScript consumer typechecks against the shipped declarations', () => {
    writeFileSync(
      join(app, 'consumer.ts'),
      `
import { initGpu, tensor, type Tensor, shippedRecognizerPath } from 'synface-gpu';
import { initGpu as initBrowserGpu } from 'synface-gpu/browser';
import { loadRecognizer, type IResNet } from 'synface-gpu/models';
import { decodeImage } from 'synface-gpu/data';
const device = await initGpu({ adapter: 'lavapipe', autotune: false });
const gpu: GPUDevice = device.gpu;
const t: Tensor = tensor([1, 2, 3]);
const path: string = shippedRecognizerPath();
const backbone: IResNet = loadRecognizer(new Uint8Array(), 'none').backbone;
export { gpu, t, path, backbone, initBrowserGpu, decodeImage };
`,
    );
    const options = { strict: true, noEmit: true, module: 'NodeNext', target: 'ES2022', types: [] };
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: options, files: ['consumer.ts'] }),
    );
    // the repository's TypeScript (a dev dependency here, the user's own there); no skipLibCheck
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    run('node', [tsc, '-p', '.'], app); // throws with tsc's messages if anything does not typecheck
  });
});
