/**
 * A recognizer training run, as a library call (Node): `synface train-recognizer` parses its
 * options into these and prints what comes back; the demo calls it directly.
 *
 *   data     prepareRecognizerData: training rows of an image cache, validation pairs
 *   config   a preset (train/presets.ts) with the options that override it
 *   loop     runTraining (runner.ts) around a RecognizerTrainer, with validation on the pairs
 *   end      recognizer.safetensors (the backbone, for `synface eval`), report.json, curves.png
 *
 * Files in `out`: split/ (unless a split is given), checkpoint.safetensors (+ .prev), log.jsonl,
 * curves.png, and at the end recognizer.safetensors and report.json.
 */
import { createHash } from 'node:crypto';
import { getDevice } from '../gpu/runtime.js';
import type { LfwPair } from '../data/lfw-pairs.js';
import type { ImageCache } from '../data/image-cache.js';
import { prepareRecognizerData, type RecognizerDataOptions } from '../data/recognizer-data.js';
import { evaluatePairs } from '../eval/embed.js';
import type { VerificationReport } from '../eval/verification.js';
import { serializeRecognizer } from '../models/recognizer-weights.js';
import { drawCurves } from '../plot/figure-files.js';
import { RECOGNIZER_PRESETS } from './presets.js';
import { RecognizerTrainer, type RecognizerTrainConfig } from './recognizer-trainer.js';
import { RunFolder } from './run-folder.js';
import { runTraining, type Progress, type RunResult } from './runner.js';

export interface TrainRecognizerOptions extends Omit<RecognizerDataOptions, 'out' | 'log' | 'minImages'> {
  preset: keyof typeof RECOGNIZER_PRESETS;
  /** The run's folder. */
  out: string;
  /** Optimizer steps; default: `epochs` over the training images. */
  steps?: number;
  /** Epochs (default: the preset's), when `steps` is not given. */
  epochs?: number;
  batch?: number;
  lr?: number;
  marginWarmupEpochs?: number;
  minImages?: number;
  seed?: number;
  valEvery?: number;
  ckptEvery?: number;
  logEvery?: number;
  stopAfter?: number;
  /** Stop (with a checkpoint) after this many seconds of this session. */
  maxSeconds?: number;
  resume?: boolean;
  overwrite?: boolean;
  /** The command line, recorded in the checkpoint, the weights and the report. */
  command?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
  onProgress?: (p: Progress) => void;
}

/** report.json: what a finished run reports. */
export interface RecognizerReport {
  preset: string;
  steps: number;
  batch: number;
  epochs: number;
  images: number;
  people: number;
  val_accuracy: number | null;
  val_std: number | null;
  auc: number | null;
  tar_at_far_1e_3: number | null;
  tar_at_far_1e_2: number | null;
  val_pairs: number;
  seed: number;
  wall_seconds: number;
  command: string;
  adapter: unknown;
}

export interface TrainRecognizerResult extends RunResult {
  steps: number;
  /** The finished run's report (null if it stopped early). */
  report: RecognizerReport | null;
  /** The files of the finished run. */
  files: string[];
}

/** sha256 of the listed images' labels and pixels (hex): what the run trained or validated on. */
function imagesDigest(cache: ImageCache, rows: Iterable<number>): string {
  const h = createHash('sha256');
  const size = cache.C * cache.H * cache.W;
  h.update(`${cache.C}x${cache.H}x${cache.W}`);
  for (const r of rows) {
    h.update(Int32Array.of(cache.labels[r]));
    h.update(cache.pixels.subarray(r * size, (r + 1) * size));
  }
  return h.digest('hex');
}

const pairsDigest = (pairs: readonly LfwPair[]) =>
  createHash('sha256').update(JSON.stringify(pairs)).digest('hex');

export async function trainRecognizer(o: TrainRecognizerOptions): Promise<TrainRecognizerResult> {
  const log = o.log ?? (() => {});
  if (!RECOGNIZER_PRESETS[o.preset])
    throw new Error(
      `train-recognizer: unknown preset '${o.preset}' (${Object.keys(RECOGNIZER_PRESETS).join(', ')})`,
    );
  // the lock comes first: the data step writes <out>/split
  const folder = new RunFolder(o.out, log, o.command);
  try {
    return await trainInFolder(o, folder, log);
  } finally {
    folder.close();
  }
}

async function trainInFolder(
  o: TrainRecognizerOptions,
  folder: RunFolder,
  log: (line: string) => void,
): Promise<TrainRecognizerResult> {
  const preset = RECOGNIZER_PRESETS[o.preset];

  // ---- data
  const minImages = o.minImages ?? preset.minImages;
  const { cache, rows, val, describe, soft, real } = prepareRecognizerData(
    { ...o, minImages, log },
    preset.preprocess,
  );
  if (rows.length === 0)
    throw new Error(`train-recognizer: no training images (people with >= ${minImages} images)`);

  // ---- the run's configuration
  const batch = o.batch ?? preset.train.batch;
  const batchesPerEpoch = Math.floor(rows.length / batch);
  const steps = o.steps ?? Math.ceil((o.epochs ?? preset.epochs) * batchesPerEpoch);
  if (!(Number.isInteger(steps) && steps >= 1))
    throw new Error(`train-recognizer: ${steps} steps (--steps or --epochs) is not a positive integer`);
  const config: RecognizerTrainConfig = {
    ...preset.train,
    batch,
    lr: o.lr ?? preset.train.lr,
    steps,
    seed: o.seed ?? 0,
    marginWarmupSteps: Math.round((o.marginWarmupEpochs ?? preset.marginWarmupEpochs) * batchesPerEpoch),
  };
  const trainer = new RecognizerTrainer(config, {
    cache,
    rows: Int32Array.from(rows),
    soft,
    real: real && { ...real, rows: Int32Array.from(real.rows) },
  });
  try {
    log(
      `train: ${o.preset} preset, ${rows.length} images of ${trainer.classes} people, batch ${batch}, ${steps} steps (${((steps * batch) / rows.length).toFixed(1)} epochs), ` +
        `${trainer.model.backbone.parameterCount().toLocaleString('en')} backbone parameters; ` +
        (real
          ? `domain mixup with ${real.rows.length} real images of ${real.people} people (classes ${trainer.classes - real.people}..${trainer.classes - 1}); `
          : '') +
        `validation: ${val ? `${val.pairs.length} pairs of ${val.people} held-out people` : 'none'}`,
    );
    const command = o.command ?? 'trainRecognizer()';
    const extra = { preset: o.preset, ...describe, preprocess: preset.preprocess };
    const fingerprint: Record<string, string> = { train_images: imagesDigest(cache, rows) };
    if (soft) fingerprint.train_labels = String(describe.labels_sha256);
    if (real) fingerprint.real_images = imagesDigest(real.cache, real.rows);
    if (val) {
      fingerprint.val_pairs = pairsDigest(val.pairs);
      const valRows = new Set(val.pairs.flatMap((p) => [val.rowOf(p.a), val.rowOf(p.b)]));
      fingerprint.val_images = imagesDigest(
        val.cache,
        [...valRows].sort((a, b) => a - b),
      );
    }

    let lastReport: VerificationReport | null = null;
    const validate = async () => {
      if (!val) return null;
      trainer.model.eval();
      const { report } = await evaluatePairs(trainer.model.backbone, val.cache, val.pairs, val.rowOf, {
        input: config.backbone.input,
      });
      trainer.model.train();
      lastReport = report;
      return {
        fields: {
          val_accuracy: report.accuracy,
          val_std: report.std,
          auc: report.auc,
          tar_at_far_1e_2: report.tarAtFar1e2,
        },
        summary: `validation accuracy ${(100 * report.accuracy).toFixed(2)}% +- ${(100 * report.std).toFixed(2)}, AUC ${report.auc.toFixed(4)}`,
      };
    };

    const run = await runTraining(trainer, {
      folder,
      steps,
      imagesPerStep: batch,
      logEvery: o.logEvery ?? 10,
      valEvery: o.valEvery ?? 200,
      ckptEvery: o.ckptEvery ?? 100,
      stopAfter: o.stopAfter,
      maxSeconds: o.maxSeconds,
      resume: o.resume,
      overwrite: o.overwrite,
      fingerprint,
      meta: { ...extra, command },
      validate,
      signal: o.signal,
      log,
      onProgress: o.onProgress,
    });
    drawCurves(folder.records, folder.path('curves.png'));
    if (run.status !== 'finished') return { ...run, steps, report: null, files: [folder.checkpointPath] };

    // ---- the end: the backbone file and the report
    const report = lastReport as VerificationReport | null;
    const summary: RecognizerReport = {
      preset: o.preset,
      steps,
      batch,
      epochs: (steps * batch) / rows.length,
      images: rows.length,
      people: trainer.classes,
      val_accuracy: report?.accuracy ?? null,
      val_std: report?.std ?? null,
      auc: report?.auc ?? null,
      tar_at_far_1e_3: report?.tarAtFar1e3 ?? null,
      tar_at_far_1e_2: report?.tarAtFar1e2 ?? null,
      val_pairs: val?.pairs.length ?? 0,
      seed: config.seed,
      wall_seconds: run.wallSeconds,
      command,
      adapter: getDevice().adapter,
    };
    folder.writeFile(
      'recognizer.safetensors',
      await serializeRecognizer(trainer.model.backbone, preset.preprocess, { ...extra, ...summary }),
    );
    folder.writeFile('report.json', JSON.stringify(summary, null, 2) + '\n');
    const files = ['recognizer.safetensors', 'report.json', 'curves.png', 'log.jsonl'].map((f) =>
      folder.path(f),
    );
    return { ...run, steps, report: summary, files };
  } finally {
    trainer.dispose();
  }
}
