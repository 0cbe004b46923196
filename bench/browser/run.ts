/**
 * The bench in the browser: the kernel cases of `npm run bench` (matmul 256/512/1024, add, one
 * tiny dispatch, the three conv passes) timed in a Chromium page on the page's own WebGPU
 * adapter, synface beside TensorFlow.js's WebGPU backend in the same page (bench/browser/entry.ts).
 *
 *   npm run bench:browser                          a table (SwiftShader on a GPU-less machine)
 *   npm run bench:browser -- --json                JSON lines, as `npm run bench -- --json`, with
 *                                                  "env": "chromium" and the adapter
 *   npm run bench:browser -- --filter matmul,add   only cases whose name contains one of these
 *   npm run bench:browser -- --time 3000           ms of sampling per case and system (default 1500)
 *   npm run bench:browser -- --only synface        only these systems (synface, tfjs-webgpu)
 *   npm run bench:browser -- --icd lavapipe        Chromium's Vulkan loader pointed at another
 *                                                  driver's ICD (lavapipe, or a path to an ICD .json)
 *
 * Chromium is Debian's (tools/chromium.ts; never downloaded). On a machine without a GPU its
 * WebGPU runs on the SwiftShader it bundles; `--icd lavapipe` sets VK_ICD_FILENAMES for the
 * browser so that its Vulkan loader finds Mesa's lavapipe instead (the adapter each row ran on
 * is printed: check it, since Chromium may still choose SwiftShader).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findVulkanIcd, ICDS } from '../../src/gpu/node.js';
import { withChromium } from '../../tools/chromium.js';
import { bundleForBrowser, pageResult, servePage } from '../../tools/page-server.js';
import { formatTable, type Row } from '../measure.js';
import type { BrowserBenchResult } from './entry.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The whole bench: 8 cases x 2 systems x (compile + 1.5 s of sampling); SwiftShader is slow. */
const TIMEOUT_MS = 20 * 60_000;

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
};
const json = args.includes('--json');
const time = option('time') ?? '1500';
if (!(Number(time) > 0)) throw new Error(`--time ${time}: want milliseconds > 0`);
const icdName = option('icd');
const icd = icdName === undefined ? undefined : findVulkanIcd(icdName);
if (icdName !== undefined && !(icd && existsSync(icd)))
  throw new Error(
    `--icd ${icdName}: no Vulkan ICD found (${ICDS[icdName]?.join(', ') ?? icdName}; known: ${Object.keys(ICDS).join(', ')}, or a path to an ICD .json)`,
  );
const query = new URLSearchParams({ time });
for (const name of ['filter', 'only']) {
  const v = option(name);
  if (v !== undefined) query.set(name, v);
}

if (!process.env.XDG_RUNTIME_DIR) {
  process.env.XDG_RUNTIME_DIR = '/tmp/xdg';
  mkdirSync('/tmp/xdg', { recursive: true, mode: 0o700 });
}
// tfjs's peer module reaches Node only to register gradients, which the page skips
const js = await bundleForBrowser(join(here, 'entry.ts'), { external: ['esbuild', 'node:*'] });
const server = await servePage(js, 'synface browser bench');
const log: string[] = [];
let result: BrowserBenchResult;
try {
  result = await withChromium(
    async (context) => {
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (m) => {
        const text = m.text();
        if (text.startsWith('bench ') && !json) {
          const r = JSON.parse(text.slice(6)) as Row;
          console.error(
            `  ${r.bench.padEnd(16)} ${r.system.padEnd(12)} ${String(r.value).padStart(9)} ${r.unit}`,
          );
        }
        log.push(`[console.${m.type()}] ${text}`);
      });
      page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
      await page.goto(`${server.url}?${query}`);
      return pageResult<BrowserBenchResult>(page, '__bench', TIMEOUT_MS);
    },
    { env: icd ? { VK_ICD_FILENAMES: icd } : undefined },
  );
} catch (e) {
  console.error(`--- browser console (${log.length} lines)\n${log.join('\n')}\n---`);
  throw e;
} finally {
  server.close();
}

console.error(`browser: ${result.userAgent}\nadapter: ${result.adapter}`);
if (json)
  for (const r of result.rows)
    console.log(JSON.stringify({ ...r, env: 'chromium', adapter: result.adapter }));
// the page measured the systems in its order, synface first: the table keeps it
else console.log(`\n${formatTable(result.rows, [...new Set(result.rows.map((r) => r.system))])}`);
