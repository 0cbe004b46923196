/**
 * `synface eval --model dlib` (src/eval/evaluate-dlib.ts) on the embedded sample's 200 held-out
 * pairs: the bar is at least 95% (an independent numpy re-implementation measured 96.0%
 * at the 0.6 threshold, AUC 0.996; this code measured 95.5% +- 6.9 at 0.607, AUC 0.9958). The
 * summary has the recognizer's keys, the threshold is a distance near dlib's 0.6, and the score
 * is minus the Euclidean distance (euclideanDistance checked on its own). Option
 * errors of the command are checked without running anything. About 30 s on lavapipe.
 */
import { describe, expect, it } from 'vitest';
import { evaluateDlib } from '../src/eval/evaluate-dlib.js';
import { euclideanDistance } from '../src/eval/verification.js';
import { evalCommand } from '../tools/eval.js';

describe('synface eval --model dlib', () => {
  it('reaches >= 95% on data/lfw-sample/val-pairs.txt with the usual summary keys', async () => {
    const { summary, view } = await evaluateDlib({
      data: 'data/lfw-sample',
      pairs: 'data/lfw-sample/val-pairs.txt',
    });
    expect(view).toBe(2);
    expect(Object.keys(summary).sort()).toEqual(
      [
        'accuracy',
        'accuracy_std',
        'auc',
        'tar_at_far_1e-3',
        'tar_at_far_1e-2',
        'pairs',
        'folds',
        'fold_accuracies',
        'threshold',
        'flip',
        'weights',
        'pairs_file',
      ].sort(),
    );
    expect(summary.pairs).toBe(200);
    expect(summary.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(summary.auc).toBeGreaterThan(0.99);
    expect(summary.threshold).toBeGreaterThan(0.4);
    expect(summary.threshold).toBeLessThan(0.8);
  }, 120_000);

  it('euclideanDistance is |a - b|', () => {
    expect(euclideanDistance([0, 3], [4, 0])).toBe(5);
    expect(() => euclideanDistance([1], [1, 2])).toThrow('euclideanDistance: lengths 1 and 2 differ');
  });

  it('refuses an unknown model and --model with --weights', async () => {
    await expect(evalCommand(['--model', 'facenet', '--data', 'x', '--pairs', 'y'])).rejects.toThrow(
      "synface eval: --model must be 'dlib', got 'facenet'",
    );
    await expect(
      evalCommand(['--model', 'dlib', '--weights', 'w.safetensors', '--data', 'x', '--pairs', 'y']),
    ).rejects.toThrow('synface eval: give --weights or --model, not both');
  });
});
