/**
 * The browser test: the same engine in headless Chromium must give the numbers Node gives.
 *
 *   npm run test:browser                         (XDG_RUNTIME_DIR is set to /tmp/xdg when unset)
 *   npm run test:browser -- --only generator     only the suite's groups named (comma-separated;
 *                                                suite.ts's SUITE_GROUPS), on both sides
 *
 * 1. bundles test/browser/entry.ts with esbuild (esm, platform browser, in memory),
 * 2. serves it from a tiny http server on 127.0.0.1 (a random port; http://127.0.0.1 is a secure
 *    context, which navigator.gpu requires — about:blank and data: URLs are not), with face-api's
 *    weight files at /model/<file> (read from the installed package's model/ folder),
 * 3. runs it in Chromium (/usr/bin/chromium, or $CHROMIUM) with WebGPU enabled; on a machine
 *    without a GPU, Chromium's WebGPU runs on its bundled SwiftShader,
 * 4. runs the same suite (test/browser/suite.ts) in Node on Dawn (SYNFACE_ADAPTER picks the
 *    adapter, lavapipe on a GPU-less machine),
 * 5. compares every case and prints `browser: N passed, M failed`; exits 1 on any failure.
 *
 * Extra Chromium flags: SYNFACE_CHROMIUM_FLAGS="--flag1 --flag2" (tools/chromium.ts).
 */
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initGpu, shutdownGpu } from '../../src/gpu/node.js';
import { faceApiModelDir } from '../../src/io/tfjs-weights-node.js';
import { withChromium } from '../../tools/chromium.js';
import { bundleForBrowser, pageResult, servePage } from '../../tools/page-server.js';
import { checkSuiteGroups, runSuite, type SuiteCase, type SuiteResult } from './suite.js';

const here = dirname(fileURLToPath(import.meta.url));
const TIMEOUT_MS = 120_000;

/**
 * Tolerance for the non-exact cases, browser vs Node: |a - b| <= ATOL + RTOL * |b|.
 * The two runs use different adapters (SwiftShader in Chromium, lavapipe or a GPU in Node).
 * WGSL lets them differ in the precision of exp/log/sin/cos/sqrt (a few ulp, or an absolute
 * 2^-11 for sin/cos), in whether a*b+c is fused into one FMA, and the kernels' summation order
 * may differ with subgroup sizes; each of these moves an f32 result by a few ulp, times the size
 * of the sums involved. 1e-4 absolute plus 1e-4 relative is ~1000 ulp of a value near 1: far
 * above that noise, far below any real bug (a wrong index, a missed element, a lost carry).
 * The inputs of the suite are O(1), so the absolute part is meaningful.
 */
const ATOL = 1e-4,
  RTOL = 1e-4;
/**
 * Box-Muller normals go through log, sqrt and sin/cos of an angle in [-pi, pi); WGSL only bounds
 * sin/cos to an absolute 2^-11 (~4.9e-4) on [-pi, pi], times a radius up to 5.8 and std 2 here:
 * up to 5.6e-3. (Measured: SwiftShader's sin/cos are off by ~2e-4 everywhere, lavapipe's ~1e-7.)
 */
const TOLERANCE_BY_CASE: Record<string, [number, number]> = {
  'randn mean 0.5 std 2': [1e-2, 1e-4],
};
/**
 * Each environment against the suite's float64 CPU reference: f32 rounding (K products summed
 * in f32 for a matmul, the f32 angle in Box-Muller) is expected, so this check is looser; it
 * only guards against both environments being wrong the same way.
 */
const REF_ATOL = 1e-3,
  REF_RTOL = 1e-3;
const REF_TOLERANCE_BY_CASE: Record<string, [number, number]> = {
  'randn mean 0.5 std 2': [2e-2, 1e-3],
  // our float IDCT vs Pillow's libjpeg integer IDCT: up to 4 levels per RGB sample (test/jpeg.test.ts)
  'jpeg rgb420 37x23 decodeImage': [4, 0],
};

// ---------------------------------------------------------------- comparison

interface Diff {
  ok: boolean;
  maxAbs: number;
  /** Elements that differ at all (bitwise). */
  differing: number;
  why?: string;
}

/** Exact: identical doubles (each is an f32 or a u32, so this is bit for bit; -0 !== +0, NaN === NaN). */
function compare(actual: number[], expected: number[], exact: boolean, atol: number, rtol: number): Diff {
  if (actual.length !== expected.length)
    return { ok: false, maxAbs: NaN, differing: NaN, why: `length ${actual.length} vs ${expected.length}` };
  let maxAbs = 0,
    differing = 0,
    ok = true,
    why: string | undefined;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i],
      b = expected[i];
    if (Object.is(a, b)) continue;
    differing++;
    const d = Math.abs(a - b);
    if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? NaN : Math.max(maxAbs, d);
    const bad = exact || !(d <= atol + rtol * Math.abs(b));
    if (bad && ok) {
      ok = false;
      why = `first mismatch at [${i}]: ${a} vs ${b}`;
    }
  }
  return { ok, maxAbs, differing, why };
}

const fmt = (x: number) => (Number.isNaN(x) ? 'NaN' : x === 0 ? '0' : x.toExponential(2));

// ---------------------------------------------------------------- the browser side

/** face-api's model/ folder: the files a suite may read (by exact name only, no paths). */
const MODEL_DIR = faceApiModelDir();
const MODEL_FILES = new Set(readdirSync(MODEL_DIR));
const readModelFile = async (file: string): Promise<Uint8Array> => {
  if (!MODEL_FILES.has(file)) throw new Error(`${join(MODEL_DIR, file)}: no such face-api model file`);
  return new Uint8Array(readFileSync(join(MODEL_DIR, file)));
};

/** face-api's weight files at /model/<file>, by exact name only. */
function modelRoute(path: string): Uint8Array | undefined {
  if (!path.startsWith('/model/')) return undefined;
  const file = decodeURIComponent(path.slice(7));
  return MODEL_FILES.has(file) ? new Uint8Array(readFileSync(join(MODEL_DIR, file))) : undefined;
}

async function runInBrowser(url: string, log: string[]): Promise<SuiteResult> {
  return withChromium(async (context) => {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => log.push(`[console.${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
    page.on('crash', () => log.push('[crash] the page crashed'));
    await page.goto(url);
    return pageResult<SuiteResult>(page, '__result', TIMEOUT_MS);
  });
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  if (!process.env.XDG_RUNTIME_DIR) {
    process.env.XDG_RUNTIME_DIR = '/tmp/xdg';
    mkdirSync('/tmp/xdg', { recursive: true, mode: 0o700 });
  }
  const i = process.argv.indexOf('--only');
  if (i >= 0 && !process.argv[i + 1]) throw new Error('--only needs a comma-separated list of suite groups');
  const groups = i >= 0 ? checkSuiteGroups(process.argv[i + 1].split(',')) : undefined;
  const t0 = performance.now();

  // Node first (the reference side of the comparison)
  let node: SuiteResult;
  try {
    await initGpu({ autotune: false }); // the same kernel versions as the Node side
    node = await runSuite(readModelFile, groups);
  } finally {
    shutdownGpu();
  }
  const tNode = performance.now();

  const js = await bundleForBrowser(join(here, 'entry.ts'));
  const server = await servePage(js, 'synface browser test', modelRoute);
  const url = server.url + (groups ? `?only=${encodeURIComponent(groups.join(','))}` : '');
  const log: string[] = [];
  let browser: SuiteResult;
  try {
    browser = await runInBrowser(url, log);
  } catch (e) {
    console.error(`browser run failed: ${(e as Error).message}`);
    console.error(`--- browser console (${log.length} lines)\n${log.join('\n')}\n---`);
    console.log('browser: 0 passed, 1 failed');
    return 1;
  } finally {
    server.close();
  }
  const tBrowser = performance.now();

  console.log(`node adapter:    ${node.adapter}`);
  console.log(`browser adapter: ${browser.adapter}`);
  let passed = 0,
    failed = 0;
  const byName = new Map(browser.cases.map((c) => [c.name, c]));
  const width = Math.max(...node.cases.map((c) => c.name.length));
  for (const n of node.cases) {
    const b: SuiteCase | undefined = byName.get(n.name);
    const label = n.name.padEnd(width);
    if (!b) {
      failed++;
      console.log(`FAIL ${label}  missing from the browser run`);
      continue;
    }
    const [atol, rtol] = TOLERANCE_BY_CASE[n.name] ?? [ATOL, RTOL];
    const d = compare(b.values, n.values, n.exact, atol, rtol);
    const problems: string[] = [];
    if (b.shape.join() !== n.shape.join()) problems.push(`shape [${b.shape}] vs [${n.shape}]`);
    if (!d.ok) problems.push(d.why!);
    // both sides against the CPU reference, when the suite has one
    let refNote = '';
    if (n.reference) {
      const [ratol, rrtol] = REF_TOLERANCE_BY_CASE[n.name] ?? [REF_ATOL, REF_RTOL];
      const rn = compare(n.values, n.reference, !!n.referenceExact, ratol, rrtol);
      const rb = compare(b.values, n.reference, !!n.referenceExact, ratol, rrtol);
      refNote = `  vs cpu ref: node ${fmt(rn.maxAbs)}, browser ${fmt(rb.maxAbs)}`;
      if (!rn.ok) problems.push(`node vs cpu reference: ${rn.why}`);
      if (!rb.ok) problems.push(`browser vs cpu reference: ${rb.why}`);
    }
    const kind = n.exact ? 'exact' : `tol ${atol}+${rtol}|x|`;
    const stat = `max|diff|=${fmt(d.maxAbs)} (${d.differing}/${n.values.length} differ, ${kind})${refNote}`;
    if (problems.length === 0) {
      passed++;
      console.log(`ok   ${label}  ${stat}`);
    } else {
      failed++;
      console.log(`FAIL ${label}  ${stat}\n       ${problems.join('\n       ')}`);
    }
  }
  for (const b of browser.cases) {
    if (!node.cases.some((n) => n.name === b.name)) {
      failed++;
      console.log(`FAIL ${b.name}  missing from the Node run`);
    }
  }
  if (failed > 0 && log.length)
    console.log(`--- browser console (${log.length} lines)\n${log.join('\n')}\n---`);
  console.log(
    `time: node suite ${(tNode - t0).toFixed(0)} ms, browser (bundle + launch + suite) ${(tBrowser - tNode).toFixed(0)} ms ` +
      `(suite alone ${browser.ms.toFixed(0)} ms), total ${(performance.now() - t0).toFixed(0)} ms`,
  );
  console.log(`browser: ${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    // Everything is closed; if a stray handle still keeps Node alive, do not hang the test.
    setTimeout(() => process.exit(code), 5000).unref();
  },
  (e) => {
    console.error(e);
    console.log('browser: 0 passed, 1 failed');
    process.exit(1);
  },
);
