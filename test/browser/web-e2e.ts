/**
 * The demo page end to end in a real browser (npm test runs it after the suite; alone:
 * `npx tsx test/browser/web-e2e.ts [--screenshots DIR]`, default runs/web-e2e/):
 *
 * 1. Node renders a face for fixed factors with the demo's core (src/web/face-demo.ts) and
 *    embeds it with the shipped recognizer (Dawn: lavapipe on a GPU-less machine);
 * 2. tools/web.ts's vite dev server serves the page on 127.0.0.1 (as `npm run web` does);
 * 3. headless Chromium (tools/chromium.ts, WebGPU on SwiftShader here) opens it, and every control is
 *    moved: identity seed, "another one", the z seed, yaw, pitch, each expression and lighting
 *    slider, the second identity, phi, the real face, psi, the two verified faces, dlib's
 *    reference, the recognizer trained in the page (3 steps, a loss per step); each must change
 *    what it drives (the canvas's pixels, or the verification's text);
 * 4. the page's image and embedding for the same factors are compared with Node's
 *    (PARITY_TOLERANCE, below), with no console error or page error anywhere;
 * 5. a page with navigator.gpu removed shows the message saying what to enable;
 * 6. screenshots are saved.
 * Prints each check and `web: N passed, M failed` (tools/test.sh counts it); exits 1 on a failure.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { initGpu, shutdownGpu } from '../../src/gpu/node.js';
import { getDevice } from '../../src/gpu/runtime.js';
import { FaceDemo, type FaceParams } from '../../src/web/face-demo.js';
import { startWebServer } from '../../tools/web.js';
import { withChromium } from '../../tools/chromium.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const LOAD_TIMEOUT_MS = 240_000;

/**
 * Page (SwiftShader) against Node (lavapipe), max |page - node|. The generator's raw output
 * (about [-1, 1]) goes through 10 modulated-conv layers, the embedding (256-d, norm ~10-20)
 * through the recognizer; the adapters may differ by a few ulp per operation (FMA, summation
 * order, exp/rsqrt precision: test/browser/run.ts's ATOL comment). 1e-3 on both is far above
 * that and far below what a wrong factor does (moving yaw by 0.1 degree moves pixels ~1e-2).
 * Measured values are printed every run (README: "the demo").
 */
const PARITY_TOLERANCE = { raw: 1e-3, embedding: 1e-3 };

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const checks: Check[] = [];
function check(name: string, ok: boolean, detail = ''): void {
  checks.push({ name, ok, detail });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `  ${detail}` : ''}`);
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

/** The factors of the parity check: fixed, inside the training ranges, not at the medians. */
function parityParams(demo: FaceDemo): FaceParams {
  const r = demo.ranges;
  const at = (lo: number, hi: number, f: number) => lo + f * (hi - lo);
  return {
    identity: 1234,
    seed: 5,
    yaw: at(r.yaw[0], r.yaw[1], 0.55),
    pitch: at(r.pitch[0], r.pitch[1], 0.45),
    expression: r.expression.min.map((lo, j) => at(lo, r.expression.max[j], 0.6)),
    light: r.light.min.map((lo, j) => at(lo, r.light.max[j], 0.5)),
  };
}

/** A canvas's RGBA bytes. */
const canvasBytes = (page: Page, id: string) =>
  page.evaluate((id) => {
    const c = document.getElementById(id) as HTMLCanvasElement;
    return Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data);
  }, id);

const idle = (page: Page) => page.evaluate(() => window.__demo!.idle());

/** Sets an input's value and fires `event` (input for sliders, change for the rest). */
const setValue = (page: Page, id: string, value: string, event: 'input' | 'change') =>
  page.evaluate(
    ([id, value, event]) => {
      const e = document.getElementById(id) as HTMLInputElement | HTMLSelectElement;
      e.value = value;
      e.dispatchEvent(new Event(event, { bubbles: true }));
    },
    [id, value, event] as const,
  );

/** Runs `act`, waits for the page to be idle, and checks that canvas `id` changed. */
async function changes(page: Page, name: string, id: string, act: () => Promise<unknown>): Promise<void> {
  const before = await canvasBytes(page, id);
  await act();
  await idle(page);
  const after = await canvasBytes(page, id);
  let differ = 0;
  for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) differ++;
  check(`${name} changes #${id}`, differ > 0, `${differ} of ${before.length} bytes differ`);
}

/** A slider to `fraction` of its range. */
const slide = (page: Page, id: string, fraction: number) =>
  page.evaluate(
    ([id, f]) => {
      const e = document.getElementById(id) as HTMLInputElement;
      const v = Number(e.min) + f * (Number(e.max) - Number(e.min));
      e.value = String(v);
      e.dispatchEvent(new Event('input', { bubbles: true }));
      return Number(e.value);
    },
    [id, fraction] as const,
  );

async function main(): Promise<number> {
  const shots = resolve(
    process.argv.includes('--screenshots')
      ? process.argv[process.argv.indexOf('--screenshots') + 1]
      : join(ROOT, 'runs', 'web-e2e'),
  );
  mkdirSync(shots, { recursive: true });
  const t0 = performance.now();

  // 1. Node's face and embedding
  let nodeFace: { raw: Float32Array; embedding: Float32Array; pixels: Uint8Array };
  let params: FaceParams;
  let nodeAdapter: string;
  await initGpu({ autotune: false }); // the same kernel versions as the page
  try {
    nodeAdapter = getDevice().adapter.name;
    const demo = await FaceDemo.open(async (p) => new Uint8Array(readFileSync(join(ROOT, p))));
    try {
      params = parityParams(demo);
      const f = await demo.generate(params);
      const [e] = await demo.embed([f]);
      nodeFace = { raw: f.raw!, embedding: e, pixels: f.pixels };
    } finally {
      demo.dispose();
    }
  } finally {
    shutdownGpu();
  }
  const tNode = performance.now();

  // 2. the server
  const { server, url } = await startWebServer(0);
  const log: string[] = [];
  const errors: string[] = [];
  let browserAdapter = '';
  const frameMs: number[] = [];
  try {
    await withChromium(
      async (context) => {
        const page = context.pages()[0] ?? (await context.newPage());
        page.on('console', (m) => {
          log.push(`[console.${m.type()}] ${m.text()}`);
          if (m.type() === 'error') errors.push(m.text());
        });
        page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
        page.on('crash', () => errors.push('the page crashed'));
        await page.goto(url);
        await page.waitForFunction(() => window.__demo?.ready || window.__demo?.error, null, {
          timeout: LOAD_TIMEOUT_MS,
          polling: 250,
        });
        const error = await page.evaluate(() => window.__demo!.error);
        if (error) throw new Error(`the page failed to start: ${error}`);
        const tLoaded = performance.now();
        browserAdapter = (await page.textContent('#status'))!.replace(/ ·.*$/s, '');
        check('the page loads and renders', true, `${((tLoaded - tNode) / 1000).toFixed(1)} s to ready`);
        await page.screenshot({ path: join(shots, 'loaded.png'), fullPage: true });

        // 3. every control
        const frame = async () => frameMs.push(await page.evaluate(() => window.__demo!.lastFrameMs));
        await changes(page, 'identity seed', 'face-a', () => setValue(page, 'identity', '42', 'change'));
        await frame();
        await changes(page, '"another one"', 'face-a', () => page.click('#another'));
        await frame();
        await changes(page, 'z seed', 'face-a', () => setValue(page, 'seed', '9', 'change'));
        await frame();
        const sliders = await page.evaluate(() =>
          Array.from(
            document.querySelectorAll<HTMLInputElement>('#app section:first-child input[type=range]'),
            (e) => e.id,
          ),
        );
        for (const id of sliders) {
          await changes(page, `slider ${id}`, 'face-a', () => slide(page, id, 0.8));
          await frame();
        }
        await changes(page, 'second identity seed', 'face-b', () =>
          setValue(page, 'identity-b', '77', 'change'),
        );
        await changes(page, 'second "another one"', 'face-b', () => page.click('#another-b'));
        await changes(page, 'phi', 'face-mix', () => slide(page, 'phi', 0.2));
        await changes(page, 'real face', 'face-real', () => setValue(page, 'real', '5', 'change'));
        await changes(page, 'psi', 'face-dm', () => slide(page, 'psi', 0.7));
        const text = () => page.textContent('#verify-result');
        const v0 = await text();
        await setValue(page, 'verify-b', 'b', 'change');
        await idle(page);
        const v1 = await text();
        check('verify: another face changes the result', v0 !== v1 && /cosine [-0-9.]+/.test(v1!), `${v1}`);
        await setValue(page, 'verify-a', 'mix', 'change');
        await idle(page);
        const v2 = await text();
        check('verify: the first face too', v2 !== v1, `${v2}`);
        await page.click('#load-dlib');
        await page.waitForFunction(
          () => document.getElementById('load-dlib')!.textContent === 'dlib loaded',
          null,
          {
            timeout: 120_000,
          },
        );
        await idle(page);
        const v3 = await text();
        check("verify: dlib's reference once loaded", /dlib distance [0-9.]+/.test(v3!), `${v3}`);

        // training in the page: 3 steps, a loss each, then verification with that model
        await setValue(page, 'train-steps', '3', 'change');
        const curveBefore = await canvasBytes(page, 'loss-curve');
        await page.click('#train');
        await idle(page);
        const losses = await page.evaluate(() => window.__demo!.losses);
        check(
          'train in the page: a finite loss per step',
          losses.length === 3 && losses.every(Number.isFinite),
          `losses ${losses.map((l) => l.toFixed(3)).join(', ')}; ${await page.textContent('#train-status')}`,
        );
        const curveAfter = await canvasBytes(page, 'loss-curve');
        check(
          'train in the page: the loss curve is drawn',
          curveAfter.some((b, i) => b !== curveBefore[i]),
        );
        await setValue(page, 'recognizer', 'trained', 'change');
        await idle(page);
        const v4 = await text();
        check('verify with the recognizer trained in the page', v4 !== v3, `${v4}`);
        await page.screenshot({ path: join(shots, 'controls.png'), fullPage: true });

        // 4. parity with Node
        const pageFace = await page.evaluate((p) => window.__demo!.faceFor(p), params!);
        const dRaw = maxAbsDiff(pageFace.raw, nodeFace.raw);
        const dEmb = maxAbsDiff(pageFace.embedding, nodeFace.embedding);
        const dPix = maxAbsDiff(pageFace.pixels, nodeFace.pixels);
        check(
          'parity: generated image, page vs Node',
          dRaw <= PARITY_TOLERANCE.raw,
          `max |diff| ${dRaw.toExponential(2)} (tolerance ${PARITY_TOLERANCE.raw}); u8 pixels max |diff| ${dPix}`,
        );
        check(
          'parity: embedding, page vs Node',
          dEmb <= PARITY_TOLERANCE.embedding,
          `max |diff| ${dEmb.toExponential(2)} (tolerance ${PARITY_TOLERANCE.embedding})`,
        );
        // the README's screenshot: the parity face and the factory defaults of the other panels
        await setValue(page, 'recognizer', 'shipped', 'change');
        await idle(page);
        await page.locator('main').screenshot({ path: join(shots, 'demo.png') });
      },
      { viewport: { width: 1200, height: 900 } },
    );
    check('no console errors or page errors', errors.length === 0, errors.slice(0, 5).join(' | '));

    // 5. no WebGPU: the message, not a blank page
    await withChromium(async (context) => {
      // as text: a function would be serialized with tsx's __name helper, unknown in the page
      await context.addInitScript({
        content:
          "Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });",
      });
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(url);
      await page.waitForFunction(() => window.__demo?.error, null, { timeout: 60_000 });
      const message = (await page.textContent('#status')) ?? '';
      const visible = await page.isVisible('#status.error');
      check(
        'without WebGPU: a message saying what to enable',
        visible && /no WebGPU/.test(message) && /--enable-unsafe-webgpu/.test(message),
        message.slice(0, 90) + '…',
      );
      await page.screenshot({ path: join(shots, 'no-webgpu.png') });
    });
  } catch (e) {
    check('the run', false, (e as Error).message);
    if (log.length)
      console.log(`--- browser console (${log.length} lines)\n${log.slice(-40).join('\n')}\n---`);
  } finally {
    await server.close();
  }
  const ms = [...frameMs].sort((a, b) => a - b);
  console.log(`node adapter:    ${nodeAdapter!}`);
  console.log(`browser adapter: ${browserAdapter}`);
  if (ms.length)
    console.log(
      `time per generated face in the page: median ${ms[Math.floor(ms.length / 2)].toFixed(0)} ms ` +
        `(min ${ms[0].toFixed(0)}, max ${ms[ms.length - 1].toFixed(0)}, ${ms.length} frames)`,
    );
  console.log(`screenshots: ${shots}/ (loaded, controls, demo, no-webgpu).png`);
  console.log(`time: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const failed = checks.filter((c) => !c.ok).length;
  console.log(`web: ${checks.length - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 5000).unref();
  },
  (e) => {
    console.error(e);
    console.log('web: 0 passed, 1 failed');
    process.exit(1);
  },
);
