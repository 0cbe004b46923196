/**
 * `synface eval --weights W --data DIR --pairs FILE [--flip] [--json] [--roc out.png]`
 *
 * Verification of a trained recognizer on LFW-layout pairs: embeds every image a pair names
 * (the crop and size stored in the weights file), scores pairs by cosine similarity, and runs
 * the 10-fold protocol (threshold chosen on 9 folds, accuracy mean +- std over the 10; a View 1
 * pairs file is split into 10 balanced folds), plus the pooled ROC: AUC and TAR at FAR 1e-3
 * and 1e-2. `--flip` sums each image's embedding with its mirror's first (insightface's
 * variant). `--json` prints one JSON object; fractions, not percents.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage } from '../src/data/decode-image.js';
import { imagePath, parsePairs, type LfwImageRef } from '../src/data/lfw-pairs.js';
import { toUint8CHW } from '../src/data/preprocess.js';
import type { ImageCache } from '../src/data/image-cache.js';
import { evaluatePairs } from '../src/eval/embed.js';
import { cropFor } from '../src/data/layout.js';
import { readLayout } from '../src/data/lfw-cache.js';
import { roc } from '../src/eval/verification.js';
import { loadRecognizer } from '../src/models/recognizer-weights.js';
import { parseArgs, usage, type OptionSpec } from './args.js';
import { drawRoc } from './figures.js';

const SPEC: Record<string, OptionSpec> = {
  weights: { type: 'string', help: 'recognizer file (safetensors, from train-recognizer)' },
  data: { type: 'string', help: 'LFW-layout folder: images/<Name>/<Name>_NNNN.jpg (or the folder of those person folders)' },
  pairs: { type: 'string', help: 'pairs file, View 1 (`N`) or View 2 (`folds N`)' },
  flip: { type: 'flag', help: 'embed each image and its mirror and sum them (insightface\'s variant)' },
  json: { type: 'flag', help: 'print one JSON object' },
  roc: { type: 'string', help: 'write the ROC curve to this PNG' },
  batch: { type: 'number', help: 'images per forward pass', default: 64 },
  help: { type: 'flag', help: 'this text' },
};

export interface EvalSummary {
  accuracy: number;
  accuracy_std: number;
  auc: number;
  'tar_at_far_1e-3': number;
  'tar_at_far_1e-2': number;
  pairs: number;
  folds: number;
  fold_accuracies: number[];
  threshold: number;
  flip: boolean;
  weights: string;
  pairs_file: string;
}

/** `images/` when the folder has one, else the folder itself. */
function imageRoot(data: string): string {
  if (!existsSync(data) || !statSync(data).isDirectory()) throw new Error(`synface eval: --data ${data} is not a directory`);
  const images = join(data, 'images');
  return existsSync(images) && statSync(images).isDirectory() ? images : data;
}

export async function evalCommand(args: string[]): Promise<number> {
  const o = parseArgs('eval', args, SPEC);
  if (o.help) {
    console.log(usage('eval', 'LFW-protocol verification of a trained recognizer.', SPEC));
    return 0;
  }
  for (const k of ['weights', 'data', 'pairs']) if (!o[k]) throw new Error(`synface eval: --${k} is required (see synface eval --help)`);
  const weightsPath = String(o.weights), pairsPath = String(o.pairs), root = imageRoot(String(o.data));
  const layout = readLayout(String(o.data));
  const { backbone, file } = loadRecognizer(readFileSync(weightsPath), weightsPath);
  const pairsFile = parsePairs(readFileSync(pairsPath, 'utf8'), pairsPath);
  const say = o.json ? (s: string) => console.error(s) : (s: string) => console.log(s);

  // decode and align the images the pairs name, once each
  const refs = new Map<string, LfwImageRef>();
  for (const p of pairsFile.pairs) for (const r of [p.a, p.b]) refs.set(imagePath(r.name, r.index, layout.extension), r);
  const crop = cropFor(layout, file.preprocess, join(String(o.data), 'dataset.json'));
  const [H, W] = file.preprocess.out;
  const size = 3 * H * W;
  const pixels = new Uint8Array(refs.size * size);
  const rows = new Map<string, number>();
  const t0 = performance.now();
  for (const rel of refs.keys()) {
    const path = join(root, rel);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw new Error(`synface eval: ${pairsPath} names ${rel}, but ${path} cannot be read (${(e as NodeJS.ErrnoException).code})`);
    }
    pixels.set(toUint8CHW(decodeImage(bytes, path), crop), rows.size * size);
    rows.set(rel, rows.size);
  }
  say(`eval: ${refs.size} images decoded and aligned in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const cache: ImageCache = { count: rows.size, C: 3, H, W, labels: new Int32Array(rows.size), pixels };
  const rowOf = (r: LfwImageRef) => rows.get(imagePath(r.name, r.index, layout.extension))!;
  const { report, scores, same } = await evaluatePairs(backbone, cache, pairsFile.pairs, rowOf, { input: file.backbone.input, flip: !!o.flip, batch: Number(o.batch) });
  backbone.dispose();
  const summary: EvalSummary = {
    accuracy: report.accuracy, accuracy_std: report.std, auc: report.auc,
    'tar_at_far_1e-3': report.tarAtFar1e3, 'tar_at_far_1e-2': report.tarAtFar1e2,
    pairs: pairsFile.pairs.length, folds: report.foldAccuracies.length, fold_accuracies: report.foldAccuracies,
    threshold: report.meanThreshold, flip: !!o.flip, weights: weightsPath, pairs_file: pairsPath,
  };
  if (o.roc) {
    drawRoc(roc(scores, same), `${weightsPath}${o.flip ? ' (flip)' : ''}`, String(o.roc));
    say(`eval: ROC curve written to ${o.roc}`);
  }
  if (o.json) console.log(JSON.stringify(summary));
  else {
    const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
    console.log(`${pairsPath}: ${summary.pairs} pairs in ${summary.folds} folds${pairsFile.view === 1 ? ' (balanced, made from a View 1 file)' : ''}, cosine similarity${o.flip ? ' of mirrored sums' : ''}`);
    console.log(`  accuracy      ${pct(summary.accuracy)} +- ${pct(summary.accuracy_std)} (threshold ${summary.threshold.toFixed(3)})`);
    console.log(`  AUC           ${summary.auc.toFixed(4)}`);
    console.log(`  TAR@FAR=1e-3  ${pct(summary['tar_at_far_1e-3'])}`);
    console.log(`  TAR@FAR=1e-2  ${pct(summary['tar_at_far_1e-2'])}`);
  }
  return 0;
}
