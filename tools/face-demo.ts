/**
 * `synface demo`, the main job: face verification end to end on the embedded real sample
 * (data/lfw-sample: pre-aligned LFW faces, see tools/make-sample.ts), in a few minutes on a
 * CPU adapter.
 *
 *   1. the shipped recognizer (weights/) verifies pairs of held-out people it never saw;
 *   2. a recognizer trained from scratch, here and now, on the sample's 24 training people
 *      (a short ArcFace run with validation and checkpoints, as `synface train-recognizer`);
 *   3. that model verifies the same pairs;
 * then a report: accuracy (10 folds), AUC and TAR of both, next to chance (50%).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainRecognizer } from '../src/train/recognizer-run.js';
import type { Progress } from '../src/train/runner.js';
import { evaluateRecognizer, type EvalSummary } from '../src/eval/evaluate-recognizer.js';

export interface FaceDemoOptions {
  sample: string;
  weights: string;
  out: string;
  steps: number;
  log: (line: string) => void;
  /** The training's progress, step by step. */
  onProgress?: (p: Progress) => void;
}

const evaluate = async (weights: string, sample: string, roc: string): Promise<EvalSummary> =>
  (
    await evaluateRecognizer({
      weights,
      data: sample,
      pairs: join(sample, 'val-pairs.txt'),
      roc,
      say: (s) => console.error(s),
    })
  ).summary;

export async function runFaceDemo(
  o: FaceDemoOptions,
): Promise<{ shipped: EvalSummary | null; trained: EvalSummary }> {
  const { log } = o;
  if (!existsSync(join(o.sample, 'dataset.json')))
    throw new Error(`synface demo: the embedded sample ${o.sample} is missing (dataset.json)`);
  const pairs = readFileSync(join(o.sample, 'val-pairs.txt'), 'utf8').trim().split('\n').length - 1;
  log(`\n== 1/3  the shipped recognizer on ${pairs} pairs of held-out people (${o.sample}/val-pairs.txt)`);
  let shipped: EvalSummary | null = null;
  if (existsSync(o.weights)) {
    shipped = await evaluate(o.weights, o.sample, join(o.out, 'roc-shipped.png'));
    log(
      `   accuracy ${(100 * shipped.accuracy).toFixed(1)}% +- ${(100 * shipped.accuracy_std).toFixed(1)}, AUC ${shipped.auc.toFixed(3)}`,
    );
  } else log(`   ${o.weights} is missing: skipped`);

  log(`\n== 2/3  training a recognizer from scratch on the sample's training people (${o.steps} steps)`);
  const run = await trainRecognizer({
    preset: 'small',
    layout: 'lfw',
    data: o.sample,
    people: 'people.txt',
    split: o.sample,
    valFraction: 0.15,
    out: o.out,
    overwrite: true,
    steps: o.steps,
    batch: 32,
    valEvery: Math.max(10, Math.floor(o.steps / 3)),
    ckptEvery: 20,
    logEvery: 5,
    command: 'synface demo',
    log,
    onProgress: o.onProgress,
  });

  log(`\n== 3/3  the model just trained, on the same pairs`);
  const trained = await evaluate(
    join(o.out, 'recognizer.safetensors'),
    o.sample,
    join(o.out, 'roc-trained.png'),
  );

  const row = (name: string, s: EvalSummary | null) =>
    `| ${name.padEnd(34)} | ${s ? `${(100 * s.accuracy).toFixed(1)}% +- ${(100 * s.accuracy_std).toFixed(1)}`.padEnd(15) : 'n/a'.padEnd(15)} | ${s ? s.auc.toFixed(3) : 'n/a  '} | ${s ? `${(100 * s['tar_at_far_1e-2']).toFixed(1)}%` : 'n/a'} |`;
  log(`\nVerification of ${pairs} pairs of people neither model trained on (10 folds, cosine similarity):\n`);
  log(`| model                              | accuracy        | AUC   | TAR@FAR=1e-2 |`);
  log(`|------------------------------------|-----------------|-------|--------------|`);
  log(row('shipped (weights/)', shipped));
  log(row(`trained just now (${o.steps} steps)`, trained));
  log(`| chance                             | 50.0%           | 0.500 | 1.0%         |`);
  log(`\nFiles: ${o.out}/ (log.jsonl, curves.png, checkpoint, recognizer.safetensors, roc-*.png)`);
  const manifestPath = o.weights.replace(/\.safetensors$/, '.manifest.json');
  if (existsSync(manifestPath)) {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8'));
    log(
      `The shipped model learned from ${m.training_images} images of ${m.training_people} LFW people in ${Math.round(m.wall_seconds / 60)} minutes ` +
        `(${m.steps} steps; ${(100 * m.validation.accuracy).toFixed(1)}% on ${m.validation.pairs} held-out pairs, ${manifestPath}); ` +
        `the one trained here saw ${o.steps} batches of 32 from the sample's ${run.report!.images} images.`,
    );
  }
  return { shipped, trained };
}
