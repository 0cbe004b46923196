/** The trainer's and evaluator's figures as PNG files (src/plot draws them). */
import { trainingCurves, rocFigure } from '../src/plot/figures.js';
import { writePng } from '../src/plot/png-node.js';
import type { Roc } from '../src/eval/verification.js';

/** Loss, validation accuracy and learning rate against the step, from the log's records. */
export function drawCurves(
  records: readonly { type: string; step: number; [k: string]: unknown }[],
  path: string,
): void {
  writePng(
    path,
    trainingCurves(
      records.map((r) => ({
        step: r.step,
        loss: r.type === 'train' ? (r.loss as number) : undefined,
        lr: r.type === 'train' ? (r.lr as number) : undefined,
        val_accuracy: r.type === 'val' ? (r.val_accuracy as number) : undefined,
      })),
    ),
  );
}

export function drawRoc(curve: Roc, label: string, path: string): void {
  writePng(path, rocFigure({ far: curve.far, tar: curve.tar }, label, curve.auc));
}
