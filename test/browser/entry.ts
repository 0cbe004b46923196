/**
 * Browser entry of the cross-environment test: bundled by test/browser/run.ts and loaded in
 * headless Chromium. Puts the suite's result on window.__result, or the error on window.__error.
 * Oracle: the same suite run in Node (browser parity, compared by run.ts).
 */
import { initGpu } from '../../src/gpu/browser.js';
import { runSuite, type SuiteResult } from './suite.js';

declare global {
  interface Window {
    __result?: SuiteResult;
    __error?: string;
  }
}

async function main(): Promise<void> {
  try {
    await initGpu({ autotune: false }); // the same kernel versions as the Node side
    // face-api's weight files, served by run.ts from the installed package's model/ folder
    // ?only=group,group (run.ts's --only): the same groups as the Node side
    const only = new URLSearchParams(location.search).get('only');
    window.__result = await runSuite(
      async (file) => {
        const res = await fetch(`/model/${encodeURIComponent(file)}`);
        if (!res.ok) throw new Error(`/model/${file}: HTTP ${res.status}`);
        return new Uint8Array(await res.arrayBuffer());
      },
      only ? only.split(',') : undefined,
    );
  } catch (e) {
    const err = e as Error;
    window.__error = `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}\n${err?.stack ?? ''}`;
    console.error(window.__error);
  }
}

void main();
