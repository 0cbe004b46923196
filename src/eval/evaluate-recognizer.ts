/**
 * The verification of a trained recognizer on LFW-layout pairs (Node: reads the weights, the
 * pairs file and the images): embeds every image a pair names (the crop and size stored in the
 * weights file), scores pairs by cosine similarity, and runs the 10-fold protocol (threshold
 * chosen on 9 folds, accuracy mean +- std over the 10; a View 1 pairs file is split into 10
 * balanced folds), plus the pooled ROC: AUC and TAR at FAR 1e-3 and 1e-2 (src/eval/verification.ts).
 * `synface eval` prints it; the demo and the trainer's users call it.
 */
import { readFileSync } from 'node:fs';
import { parsePairs } from '../data/lfw-pairs.js';
import { loadPairImages } from '../data/pair-images.js';
import { loadRecognizer } from '../models/recognizer-weights.js';
import { drawRoc } from '../plot/figure-files.js';
import { evaluatePairs } from './embed.js';
import { roc, type VerificationReport } from './verification.js';

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

export interface EvalOptions {
  weights: string;
  data: string;
  pairs: string;
  flip?: boolean;
  batch?: number;
  /** Write the ROC curve to this PNG. */
  roc?: string;
  /** Progress lines. */
  say?: (line: string) => void;
}

/**
 * The summary `synface eval` prints (and --json keys) from a verification report, and the ROC
 * figure if asked for. `threshold` is the score threshold; a model scored by minus a distance
 * passes `distance: true` to report it as the distance.
 */
export function summarizeVerification(
  report: VerificationReport,
  scores: Float64Array,
  same: boolean[],
  o: {
    pairs: string;
    flip?: boolean;
    roc?: string;
    say?: (line: string) => void;
    model: string;
    label: string;
    distance?: boolean;
  },
): EvalSummary {
  const summary: EvalSummary = {
    accuracy: report.accuracy,
    accuracy_std: report.std,
    auc: report.auc,
    'tar_at_far_1e-3': report.tarAtFar1e3,
    'tar_at_far_1e-2': report.tarAtFar1e2,
    pairs: same.length,
    folds: report.foldAccuracies.length,
    fold_accuracies: report.foldAccuracies,
    threshold: o.distance ? -report.meanThreshold : report.meanThreshold,
    flip: !!o.flip,
    weights: o.model,
    pairs_file: o.pairs,
  };
  if (o.roc) {
    drawRoc(roc(scores, same), o.label, o.roc);
    o.say?.(`eval: ROC curve written to ${o.roc}`);
  }
  return summary;
}

/** The verification of `weights` on a pairs file (what `synface eval` prints). */
export async function evaluateRecognizer(o: EvalOptions): Promise<{ summary: EvalSummary; view: 1 | 2 }> {
  const say = o.say ?? (() => {});
  const { backbone, file } = loadRecognizer(readFileSync(o.weights), o.weights);
  const pairsFile = parsePairs(readFileSync(o.pairs, 'utf8'), o.pairs);
  const images = loadPairImages(o.data, pairsFile.pairs, file.preprocess, `eval: ${o.pairs}`);
  say(`eval: ${images.cache.count} images decoded and aligned in ${images.seconds.toFixed(1)} s`);
  const { report, scores, same } = await evaluatePairs(
    backbone,
    images.cache,
    pairsFile.pairs,
    images.rowOf,
    { input: file.backbone.input, flip: !!o.flip, batch: o.batch ?? 64, model: o.weights },
  );
  backbone.dispose();
  const summary = summarizeVerification(report, scores, same, {
    ...o,
    model: o.weights,
    label: `${o.weights}${o.flip ? ' (flip)' : ''}`,
  });
  return { summary, view: pairsFile.view };
}
