/**
 * A one-script page for headless Chromium: bundle a TypeScript entry for the browser (esbuild,
 * in memory) and serve it on 127.0.0.1 at a random port. http://127.0.0.1 is a secure context,
 * which navigator.gpu requires (about:blank and data: URLs are not). Used by the browser test
 * (test/browser/run.ts) and the browser bench (bench/browser/run.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';

/** `entry` bundled as one ES module for the browser, with an inline source map. */
export async function bundleForBrowser(
  entry: string,
  options: { external?: string[] } = {},
): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    sourcemap: 'inline',
    logLevel: 'silent',
    external: options.external,
  });
  return result.outputFiles[0].text;
}

export interface PageServer {
  /** http://127.0.0.1:PORT/ */
  url: string;
  close(): void;
}

/**
 * Serves `/` (a page that loads /entry.js as a module), `/entry.js`, and whatever `extra`
 * answers for other paths (bytes, or undefined for 404). /favicon.ico gets 204: no 404 noise in
 * the console.
 */
export function servePage(
  js: string,
  title: string,
  extra: (path: string) => Uint8Array | undefined = () => undefined,
): Promise<PageServer> {
  const html = `<!doctype html><meta charset="utf-8"><title>${title}</title><script type="module" src="/entry.js"></script>`;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const bytes = path === '/' || path === '/index.html' || path === '/entry.js' ? undefined : extra(path);
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    } else if (path === '/entry.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(js);
    } else if (bytes) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bytes);
    } else {
      res.writeHead(path === '/favicon.ico' ? 204 : 404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
        close: () => {
          server.closeAllConnections();
          server.close();
        },
      }),
    );
  });
}

/** A playwright page, as far as pageResult needs it (tools/ does not import playwright's types). */
interface PageLike {
  waitForFunction<A>(
    fn: (arg: A) => boolean,
    arg: A,
    o: { timeout: number; polling: number },
  ): Promise<unknown>;
  evaluate<R, A>(fn: (arg: A) => R, arg: A): Promise<R>;
}

/**
 * Waits until the page's entry sets `window[name]` (its result) or `window.__error` (what it
 * threw), and returns the result or throws the page's error.
 */
export async function pageResult<T>(page: PageLike, name: string, timeoutMs: number): Promise<T> {
  // both functions run in the page (serialized by playwright): no closure over Node's scope
  await page.waitForFunction(
    (k) => {
      const w = window as unknown as Record<string, unknown>;
      return w[k] !== undefined || w.__error !== undefined;
    },
    name,
    { timeout: timeoutMs, polling: 200 },
  );
  const { result, error } = await page.evaluate((k) => {
    const w = window as unknown as Record<string, unknown>;
    return { result: w[k], error: w.__error as string | undefined };
  }, name);
  if (error !== undefined) throw new Error(`in the browser: ${error}`);
  return result as T;
}
