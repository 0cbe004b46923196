/** The trainer's and evaluator's figures written as PNG files (Node; src/plot/figures.ts draws them). */
import { trainingCurves, rocFigure } from './figures.js';
import { writePng } from './png-node.js';

/** Loss, validation accuracy and learning rate against the step, from a run log's records. */
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

/** A ROC curve (false accept rate against true accept rate) with its AUC in the legend. */
export function drawRoc(
  curve: { far: ArrayLike<number>; tar: ArrayLike<number>; auc: number },
  label: string,
  path: string,
): void {
  writePng(path, rocFigure({ far: curve.far, tar: curve.tar }, label, curve.auc));
}
