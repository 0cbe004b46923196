/**
 * `synface analyze --data DIR [--layout lfw|folders] [--people FILE] --out FILE.safetensors
 *  [--batch N] [--chunk N] [--landmarks full|tiny] [--summary FILE.png] [--faces FILE.png]`
 *
 * Measures every image of a dataset once (src/face/analyze-dataset.ts) into one factors file:
 * dlib's identity descriptor, 68 landmarks, yaw/pitch/roll and the fit's error, the expression
 * code and probabilities, the lighting code, a quality flag. Resumable: the file is written after
 * every chunk, and a run continues where a killed one stopped (the data must be unchanged); a
 * complete file for unchanged data is reused. Then draws the summary (distributions of the
 * factors; default `<out without .safetensors>-summary.png`) and, with --faces, a grid of faces
 * with their landmarks, pose axes and lighting direction.
 */
import { analyzeDataset } from '../src/face/analyze-dataset.js';
import { factorSummary, summaryNumbers } from '../src/face/factor-summary.js';
import { faceGrid } from '../src/face/face-figure.js';
import { FACE_PREPROCESS } from '../src/face/measure-faces.js';
import { cachedIdentityFolders, cachedLfw } from '../src/data/lfw-cache.js';
import { writePng } from '../src/plot/png-node.js';
import { parseArgs, usage, type OptionSpec } from './args.js';
import { formatDuration, ProgressBar } from './progress.js';

const SPEC: Record<string, OptionSpec> = {
  data: {
    type: 'string',
    help: 'dataset folder (LFW layout: images/<Name>/<Name>_NNNN.jpg and a people file)',
  },
  layout: {
    type: 'string',
    help: 'lfw (a people file) | folders (a folder per identity)',
    default: 'lfw',
  },
  people: {
    type: 'string',
    help: 'with --layout lfw: people file inside --data',
    default: 'peopleDevTrain.txt',
  },
  out: { type: 'string', help: 'the factors file (.safetensors)' },
  batch: { type: 'number', help: 'images per forward pass', default: 32, int: true, min: 1 },
  chunk: {
    type: 'number',
    help: 'images per chunk (the file is written after each)',
    default: 512,
    int: true,
    min: 1,
  },
  landmarks: { type: 'string', help: "landmark network: 'full' or 'tiny'", default: 'full' },
  summary: { type: 'string', help: 'summary image (default: beside --out, <name>-summary.png)' },
  faces: { type: 'string', help: 'also draw a grid of faces with landmarks, pose axes and lighting (PNG)' },
  'faces-grid': { type: 'string', help: 'rows x columns of --faces', default: '4x6' },
  help: { type: 'flag', help: 'this text' },
};

export async function analyzeCommand(args: string[]): Promise<number> {
  const o = parseArgs('analyze', args, SPEC);
  if (o.help) {
    console.log(usage('analyze', 'Measure the face factors of every image of a dataset, once.', SPEC));
    return 0;
  }
  for (const k of ['data', 'out'])
    if (!o[k]) throw new Error(`synface analyze: --${k} is required (see synface analyze --help)`);
  if (o.layout !== 'lfw' && o.layout !== 'folders')
    throw new Error(`synface analyze: --layout must be lfw or folders, got '${o.layout}'`);
  if (o.landmarks !== 'full' && o.landmarks !== 'tiny')
    throw new Error(`synface analyze: --landmarks must be full or tiny, got '${o.landmarks}'`);
  const grid = /^(\d+)x(\d+)$/.exec(String(o['faces-grid']));
  if (!grid || Number(grid[1]) < 1 || Number(grid[2]) < 1)
    throw new Error(`synface analyze: --faces-grid needs ROWSxCOLUMNS, e.g. 4x6, got '${o['faces-grid']}'`);
  const out = String(o.out);
  let bar: ProgressBar | undefined;
  const r = await analyzeDataset({
    data: String(o.data),
    layout: o.layout,
    people: String(o.people),
    out,
    batch: Number(o.batch),
    chunk: Number(o.chunk),
    landmarks: o.landmarks,
    log: (s) => {
      bar?.break();
      console.log(s);
    },
    onProgress: (done, total, perSecond) => {
      bar ??= new ProgressBar(total);
      bar.update(done, { 'img/s': perSecond.toFixed(2) }, (total - done) / perSecond);
    },
  });
  bar?.break();
  const t = r.table;
  if (r.status !== 'reused')
    console.log(
      `analyze: ${r.measured} images measured in ${formatDuration(r.seconds)}; ${out} holds ${t.done} of ${t.total}`,
    );
  const s = summaryNumbers(t);
  console.log(
    `  yaw    ${s.yaw[0].toFixed(1)} .. ${s.yaw[1].toFixed(1)} deg (5th..95th percentile ${s.yaw5[0].toFixed(1)} .. ${s.yaw5[1].toFixed(1)})`,
  );
  console.log(
    `  pitch  ${s.pitch[0].toFixed(1)} .. ${s.pitch[1].toFixed(1)} deg (5th..95th ${s.pitch5[0].toFixed(1)} .. ${s.pitch5[1].toFixed(1)})`,
  );
  console.log(
    `  roll   ${s.roll[0].toFixed(1)} .. ${s.roll[1].toFixed(1)} deg (5th..95th ${s.roll5[0].toFixed(1)} .. ${s.roll5[1].toFixed(1)})`,
  );
  console.log(
    `  flagged ${s.flagged} of ${t.done} (${((100 * s.flagged) / Math.max(1, t.done)).toFixed(1)}%): ${
      Object.entries(s.reasons)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
  );
  if (t.expression)
    console.log(
      `  expression code: ${t.expression.model.variances.length} components explaining ${(100 * s.explained).toFixed(1)}% of the residual variance`,
    );
  const summaryPath = o.summary ? String(o.summary) : `${out.replace(/\.safetensors$/, '')}-summary.png`;
  writePng(summaryPath, factorSummary(t));
  console.log(`analyze: summary ${summaryPath}`);
  if (o.faces) {
    // the same crops the factors were measured on, from the image cache
    const c =
      o.layout === 'lfw'
        ? cachedLfw(String(o.data), String(o.people), FACE_PREPROCESS)
        : cachedIdentityFolders(String(o.data), FACE_PREPROCESS);
    writePng(String(o.faces), faceGrid(t, c.cache, { rows: Number(grid[1]), columns: Number(grid[2]) }));
    console.log(`analyze: faces ${o.faces}`);
  }
  return 0;
}
