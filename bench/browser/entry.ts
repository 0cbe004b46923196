/**
 * The browser bench's page: bundled by bench/browser/run.ts and loaded in Chromium. Times the
 * kernel cases (bench/cases/kernels.ts: the same shapes as `npm run bench`) on the engine and
 * on TensorFlow.js's WebGPU backend, both on the page's `navigator.gpu` (SwiftShader in a
 * GPU-less Chromium), taking turns case by case as the Node bench does. The result goes to
 * window.__bench, or the error to window.__error; progress lines go to the console.
 *
 * URL parameters: ?filter=conv (cases whose name contains it, or one of a comma-separated
 * list), &time=1500 (ms of sampling per case and system), &only=synface (systems,
 * comma-separated).
 */
import { initGpu } from '../../src/gpu/browser.js';
import { initTfjsWebgpu } from '../peers/tfjs-webgpu.js';
import { kernelSides } from '../cases/kernels.js';
import { measure, type Row } from '../measure.js';

export interface BrowserBenchResult {
  /** The adapter both systems ran on, as the engine names it. */
  adapter: string;
  userAgent: string;
  rows: Row[];
}

declare global {
  interface Window {
    __bench?: BrowserBenchResult;
    __error?: string;
  }
}

const BROWSER_SYSTEMS = ['synface', 'tfjs-webgpu'];

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const filters = (params.get('filter') ?? '').split(',');
  const time = Number(params.get('time') ?? '1500');
  const only = params.get('only')?.split(',') ?? BROWSER_SYSTEMS;
  const device = await initGpu();
  const peer = only.includes('tfjs-webgpu')
    ? await initTfjsWebgpu(navigator.gpu, { gradients: false })
    : null;
  const rows: Row[] = [];
  try {
    for (const side of kernelSides(peer ? [{ system: 'tfjs-webgpu', cases: peer.cases }] : [])) {
      if (!filters.some((f) => side.synface.name.includes(f))) continue;
      for (const system of BROWSER_SYSTEMS) {
        const c = side[system];
        if (!c || !only.includes(system)) continue;
        const row = await measure(c, system, time);
        rows.push(row);
        console.log(`bench ${JSON.stringify(row)}`);
      }
    }
  } finally {
    await peer?.dispose();
  }
  window.__bench = { adapter: device.adapter.name, userAgent: navigator.userAgent, rows };
}

main().catch((e) => {
  const err = e as Error;
  window.__error = `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}\n${err?.stack ?? ''}`;
  console.error(window.__error);
});
