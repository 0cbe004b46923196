/**
 * `npm run web`: the in-browser demo (src/web/) with vite, from its JS API (no vite config at
 * the top level).
 *
 *   npm run web                          dev server on http://127.0.0.1:5173 (--port N; 0: any free)
 *   npm run web -- --build DIR           a static folder anyone can host: the bundled page plus
 *                                        the files it fetches (files/..., model/...)
 *
 * The page fetches, relative to itself, files/<repository path> (the generator, the factors
 * file, the validation people, the recognizer and its manifest, the embedded sample:
 * demoFileList) and model/<file> (face-api's dlib descriptor, only when the visitor asks for
 * it). In development a small vite plugin serves exactly those files from the repository; the
 * build copies them. Nothing is downloaded.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, createServer, type Plugin, type ViteDevServer } from 'vite';
import { faceApiModelDir } from '../src/io/tfjs-weights-node.js';
import { DLIB_WEIGHTS_NAME } from '../src/models/face-api/dlib-descriptor.js';
import { DEMO_FILES } from '../src/web/face-demo.js';
import { parseArgs } from './args.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PAGE = join(ROOT, 'src', 'web');

/** Every repository file the page may fetch (relative, `/`-separated). */
export function demoFileList(root = ROOT): string[] {
  const files: string[] = [
    DEMO_FILES.generator,
    DEMO_FILES.factors,
    DEMO_FILES.valPeople,
    DEMO_FILES.recognizer,
    DEMO_FILES.manifest,
  ];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(root, dir)).sort()) {
      const path = `${dir}/${name}`;
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk(DEMO_FILES.sample);
  for (const f of files)
    if (!existsSync(join(root, f)))
      throw new Error(
        `web: ${f} is missing` +
          (f === DEMO_FILES.generator
            ? ' (the shipped generator: a training run exports it, synface train-generator --export)'
            : ''),
      );
  return files;
}

/** face-api's files of the dlib descriptor (manifest and shards). */
function dlibModelFiles(): string[] {
  const manifest = `${DLIB_WEIGHTS_NAME}-weights_manifest.json`;
  const groups = JSON.parse(readFileSync(join(faceApiModelDir(), manifest), 'utf8')) as { paths: string[] }[];
  return [manifest, ...groups.flatMap((g) => g.paths)];
}

/** The dev server's middleware: files/<listed path> and model/<dlib file>, nothing else. */
function demoFilesPlugin(): Plugin {
  const files = new Set(demoFileList());
  const models = new Set(dlibModelFiles());
  return {
    name: 'synface-demo-files',
    configureServer(server: ViteDevServer) {
      server.middlewares.use((req, res, next) => {
        const path = decodeURIComponent((req.url ?? '').split('?')[0]);
        let file: string | null = null;
        if (path.startsWith('/files/') && files.has(path.slice(7))) file = join(ROOT, path.slice(7));
        else if (path.startsWith('/model/') && models.has(path.slice(7)))
          file = join(faceApiModelDir(), path.slice(7));
        if (!file && /^\/(files|model)\//.test(path)) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end(`${path}: not a file the demo serves`);
          return;
        }
        if (!file) return next();
        const type = /\.(json)$/.test(file)
          ? 'application/json'
          : /\.txt$/.test(file)
            ? 'text/plain'
            : 'application/octet-stream';
        res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' });
        res.end(readFileSync(file));
      });
    },
  };
}

const common = {
  configFile: false as const,
  root: PAGE,
  base: './',
  logLevel: 'warn' as const,
  // the engine's sources live above the page's root: let the dev server read them
  server: { fs: { allow: [ROOT] } },
};

/** Starts the dev server on 127.0.0.1; returns it and its URL. */
export async function startWebServer(port = 5173): Promise<{ server: ViteDevServer; url: string }> {
  const server = await createServer({
    ...common,
    plugins: [demoFilesPlugin()],
    server: { ...common.server, host: '127.0.0.1', port, strictPort: port !== 0 },
    // no dependency pre-bundling scan of the whole repository
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  await server.listen();
  const address = server.httpServer!.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return { server, url: `http://127.0.0.1:${actual}/` };
}

/** Builds the static site into `out`: the page, then the files it fetches. */
export async function buildWeb(out: string): Promise<{ files: number; bytes: number }> {
  const outDir = resolve(out);
  if (outDir === ROOT || ROOT.startsWith(outDir + sep))
    throw new Error(`web --build: ${out} would hold the repository; name an empty folder`);
  await build({
    ...common,
    build: { outDir, emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
  });
  let files = 0,
    bytes = 0;
  const copy = (from: string, to: string) => {
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
    files++;
    bytes += statSync(to).size;
  };
  for (const f of demoFileList()) copy(join(ROOT, f), join(outDir, 'files', f));
  for (const f of dlibModelFiles()) copy(join(faceApiModelDir(), f), join(outDir, 'model', f));
  return { files, bytes };
}

async function main(argv: string[]): Promise<void> {
  const o = parseArgs('web', argv, {
    build: { type: 'string', help: 'write a static site into this folder instead of serving' },
    port: { type: 'number', int: true, min: 0, default: 5173, help: 'the dev server port (0: any free one)' },
    help: { type: 'flag', help: 'this help' },
  });
  if (o.help) {
    console.log('npm run web [-- --port 5173]   |   npm run web -- --build DIR');
    return;
  }
  if (typeof o.build === 'string') {
    const { files, bytes } = await buildWeb(o.build);
    console.log(
      `web: built ${relative(process.cwd(), resolve(o.build)) || '.'}/ (index.html, assets/, ${files} data files, ${(bytes / 1e6).toFixed(1)} MB); ` +
        'serve it over https or from 127.0.0.1 (WebGPU needs a secure context), e.g. npx vite preview --outDir DIR',
    );
    return;
  }
  const { url } = await startWebServer(o.port as number);
  console.log(`web: the demo is at ${url}  (Ctrl-C stops; Chromium on Linux needs --enable-unsafe-webgpu)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href)
  main(process.argv.slice(2)).catch((e: Error) => {
    console.error(e.message);
    process.exit(1);
  });
