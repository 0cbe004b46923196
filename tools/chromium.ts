/**
 * Debian's Chromium with WebGPU, for the browser tests (test/browser/run.ts: the engine's suite;
 * test/browser/web-e2e.ts: the demo page) and the browser bench (bench/browser/run.ts). Never
 * downloaded: /usr/bin/chromium (tools/setup.sh installs it), or $CHROMIUM.
 *
 * Only --enable-unsafe-webgpu is required (WebGPU is not enabled by default on Linux); with no
 * GPU, Chromium then offers its bundled SwiftShader as a fallback adapter. The rest keep a test
 * run quiet and offline. Playwright itself adds --headless, --no-sandbox (needed as root) and a
 * fresh temporary profile when we don't. Extra flags: SYNFACE_CHROMIUM_FLAGS="--flag1 --flag2".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--enable-unsafe-webgpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  ...(process.env.SYNFACE_CHROMIUM_FLAGS ?? '').split(/\s+/).filter(Boolean),
];

/** Runs fn in a headless Chromium on a fresh, throw-away profile; closes and deletes it after. */
export async function withChromium<T>(
  fn: (context: BrowserContext) => Promise<T>,
  options: {
    viewport?: { width: number; height: number };
    /** Extra flags, after CHROMIUM_FLAGS. */
    args?: string[];
    /** Extra environment for the browser process (e.g. VK_ICD_FILENAMES), over process.env. */
    env?: Record<string, string>;
  } = {},
): Promise<T> {
  const profile = mkdtempSync(join(tmpdir(), 'synface-chromium-'));
  let context: BrowserContext | null = null;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_FLAGS, ...(options.args ?? [])],
      env: options.env ? { ...(process.env as Record<string, string>), ...options.env } : undefined,
      timeout: 60_000,
      viewport: options.viewport,
    });
    return await fn(context);
  } finally {
    await context?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}
