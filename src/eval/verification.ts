/**
 * Face verification metrics on pairs: SynFace's 10-fold LFW protocol, and ROC.
 *
 * The protocol, as in SynFace's lib/core/lfw_eval.py (itself CosFace_pytorch's lfw_eval.py):
 *   - score = cosine similarity of the two embeddings, dot / (|a| |b| + 1e-5);
 *   - a pair is predicted "same" iff score > threshold (strictly);
 *   - thresholds: numpy's arange(-1.0, 1.0, 0.005), i.e. -1 + 0.005 k for k = 0..399
 *     (400 values, 0.995 the last; 1.0 is not in the grid);
 *   - for each fold, the threshold with the best accuracy on the other folds is applied to the
 *     held-out fold. Ties: SynFace keeps the LAST best (`if accuracy >= best_acc`), i.e. the
 *     highest threshold among the best; that is the default here (`ties: 'highest'`).
 *     `ties: 'lowest'` keeps the first. Accuracies are compared as integer counts (exact).
 *   - reported: mean and std of the 10 held-out accuracies; std is np.std's default, the
 *     population std (ddof = 0), as SynFace prints it.
 *   - folds: SynFace cuts the pair list into 10 contiguous blocks, KFold(n, 10) with fold i =
 *     [floor(i n / 10), floor((i + 1) n / 10)); on View 2's pairs.txt these are the official
 *     folds. `contiguousFolds` reproduces it. A View 1 list (all same pairs, then all
 *     different) would give one-class folds, so `balancedFolds` cuts the same pairs and the
 *     different pairs separately into 10 contiguous blocks each (the same KFold boundaries,
 *     file order kept): fold i gets the i-th block of each. In pairsDevTrain.txt the same
 *     pairs are sorted by name, so contiguous blocks also keep most people within one fold.
 *
 * Mirrored variant (insightface's verification.py, not SynFace's): the embedding of an image
 * and the embedding of its horizontal flip are summed, then compared by cosine
 * (`mirroredSum`, `mirroredCosine`). Report which variant a number used.
 *
 * ROC (pooled over all pairs): for every distinct score t, predict same iff score >= t; FAR =
 * false accepts / different pairs, TAR = true accepts / same pairs; the curve runs from (0,0)
 * to (1,1), tied scores moving in one diagonal step. AUC by the trapezoid rule. TAR at a FAR
 * target: the largest TAR of a curve point with FAR <= target, no interpolation (a point the
 * scores really reach; conservative). With D different pairs the finest reachable FAR step is
 * 1/D, so TAR@FAR=1e-3 needs D >= 1000 to mean anything.
 *
 * Pure CPU, no imports from Node.
 */
import type { LfwImageRef, LfwPair } from '../data/lfw-pairs.js';

// ---------------------------------------------------------------- similarity

/** SynFace's epsilon in the cosine's denominator. */
export const COSINE_EPS = 1e-5;

/** dot(a, b) / (|a| |b| + eps), accumulated in float64. eps = 1e-5 as SynFace; pass 0 for the plain cosine. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>, eps = COSINE_EPS): number {
  if (a.length !== b.length) throw new Error(`cosineSimilarity: lengths ${a.length} and ${b.length} differ`);
  let dot = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / (Math.sqrt(na) * Math.sqrt(nb) + eps);
}

/** |a - b|, accumulated in float64: dlib's metric (same person below ~0.6). */
export function euclideanDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`euclideanDistance: lengths ${a.length} and ${b.length} differ`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/** The mirrored embedding: embedding(image) + embedding(flipped image), elementwise. */
export function mirroredSum(e: ArrayLike<number>, eFlip: ArrayLike<number>): Float32Array {
  if (e.length !== eFlip.length)
    throw new Error(`mirroredSum: lengths ${e.length} and ${eFlip.length} differ`);
  const out = new Float32Array(e.length);
  for (let i = 0; i < e.length; i++) out[i] = e[i] + eFlip[i];
  return out;
}

/** Cosine of the mirrored embeddings of two images (insightface's variant). */
export function mirroredCosine(
  a: ArrayLike<number>,
  aFlip: ArrayLike<number>,
  b: ArrayLike<number>,
  bFlip: ArrayLike<number>,
  eps = COSINE_EPS,
): number {
  return cosineSimilarity(mirroredSum(a, aFlip), mirroredSum(b, bFlip), eps);
}

/**
 * Scores of pairs from an embedding lookup (e.g. a Map keyed by imagePath). For the mirrored
 * variant, let the lookup return mirroredSum(e, eFlip).
 */
export function pairScores(
  pairs: readonly LfwPair[],
  embedding: (ref: LfwImageRef) => ArrayLike<number>,
  eps = COSINE_EPS,
): Float64Array {
  const out = new Float64Array(pairs.length);
  for (let i = 0; i < pairs.length; i++)
    out[i] = cosineSimilarity(embedding(pairs[i].a), embedding(pairs[i].b), eps);
  return out;
}

// ---------------------------------------------------------------- folds

/** SynFace's KFold(n, k), no shuffle: fold of item i for contiguous blocks [floor(f n / k), floor((f+1) n / k)). */
export function contiguousFolds(n: number, k = 10): Int32Array {
  const folds = new Int32Array(n);
  for (let f = 0; f < k; f++) {
    for (let i = Math.floor((f * n) / k); i < Math.floor(((f + 1) * n) / k); i++) folds[i] = f;
  }
  return folds;
}

/** Same pairs and different pairs cut separately into k contiguous blocks (file order kept); fold f gets block f of each. */
export function balancedFolds(same: readonly boolean[], k = 10): Int32Array {
  const idxSame: number[] = [],
    idxDiff: number[] = [];
  same.forEach((s, i) => (s ? idxSame : idxDiff).push(i));
  const folds = new Int32Array(same.length);
  for (const idx of [idxSame, idxDiff]) {
    const f = contiguousFolds(idx.length, k);
    idx.forEach((i, j) => (folds[i] = f[j]));
  }
  return folds;
}

// ---------------------------------------------------------------- 10-fold accuracy

/** numpy's arange(-1.0, 1.0, 0.005): -1 + 0.005 k, k = 0..399. */
export function thresholdGrid(start = -1, stop = 1, step = 0.005): Float64Array {
  const n = Math.ceil((stop - start) / step);
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) out[k] = start + k * step;
  return out;
}

export interface VerificationOptions {
  /** Fold id (0..k-1) per pair. Default: balancedFolds(same, 10). SynFace on pairs.txt: contiguousFolds(n, 10). */
  folds?: ArrayLike<number>;
  /** Default thresholdGrid() = arange(-1, 1, 0.005). */
  thresholds?: ArrayLike<number>;
  /** Which of equally good thresholds to keep: 'highest' (SynFace's `>=`, default) or 'lowest'. */
  ties?: 'highest' | 'lowest';
}

export interface VerificationResult {
  /** Mean of the held-out fold accuracies. */
  accuracy: number;
  /** Population std (ddof = 0) of the held-out fold accuracies. */
  std: number;
  foldAccuracies: number[];
  /** The threshold chosen on the other folds, per fold. */
  thresholds: number[];
  /** Mean of the chosen thresholds (SynFace prints it as thd). */
  meanThreshold: number;
}

/** The k-fold verification protocol; see the top of the file. */
export function verificationAccuracy(
  scores: ArrayLike<number>,
  same: readonly boolean[],
  opts: VerificationOptions = {},
): VerificationResult {
  const n = scores.length;
  if (same.length !== n) throw new Error(`verificationAccuracy: ${n} scores but ${same.length} labels`);
  const folds = opts.folds ?? balancedFolds(same);
  if (folds.length !== n) throw new Error(`verificationAccuracy: ${n} scores but ${folds.length} fold ids`);
  const grid = opts.thresholds ?? thresholdGrid();
  const ties = opts.ties ?? 'highest';
  let k = 0;
  for (let i = 0; i < n; i++) {
    const f = folds[i];
    if (!Number.isInteger(f) || f < 0)
      throw new Error(`verificationAccuracy: fold id ${f} of pair ${i} is not an integer >= 0`);
    if (!Number.isFinite(scores[i]))
      throw new Error(`verificationAccuracy: score ${scores[i]} of pair ${i} is not finite`);
    k = Math.max(k, f + 1);
  }
  if (k < 2) throw new Error(`verificationAccuracy: need at least 2 folds, got ${k}`);
  const T = grid.length;
  // correct[f * T + t]: pairs of fold f classified right at threshold t
  const correct = new Int32Array(k * T);
  const size = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    const f = folds[i];
    size[f]++;
    for (let t = 0; t < T; t++) if (scores[i] > grid[t] === same[i]) correct[f * T + t]++;
  }
  const total = new Int32Array(T);
  for (let f = 0; f < k; f++) for (let t = 0; t < T; t++) total[t] += correct[f * T + t];
  const foldAccuracies: number[] = [],
    thresholds: number[] = [];
  for (let f = 0; f < k; f++) {
    if (size[f] === 0) throw new Error(`verificationAccuracy: fold ${f} is empty`);
    let best = -1,
      bestT = 0;
    for (let t = 0; t < T; t++) {
      const c = total[t] - correct[f * T + t]; // right on the other folds; same denominator for every t
      if (c > best || (c === best && ties === 'highest')) {
        best = c;
        bestT = t;
      }
    }
    thresholds.push(grid[bestT]);
    foldAccuracies.push(correct[f * T + bestT] / size[f]);
  }
  const accuracy = mean(foldAccuracies);
  const std = Math.sqrt(mean(foldAccuracies.map((a) => (a - accuracy) ** 2)));
  return { accuracy, std, foldAccuracies, thresholds, meanThreshold: mean(thresholds) };
}

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

// ---------------------------------------------------------------- ROC

export interface Roc {
  /** False accept rate per curve point, from 0 to 1 (non-decreasing). */
  far: Float64Array;
  /** True accept rate per curve point, from 0 to 1 (non-decreasing). */
  tar: Float64Array;
  /** thresholds[j]: predict same iff score >= thresholds[j]; +Infinity for the first point (0, 0). */
  thresholds: Float64Array;
  /** Area under the curve, trapezoid rule. */
  auc: number;
}

/** The ROC over all distinct scores; needs at least one same and one different pair. */
export function roc(scores: ArrayLike<number>, same: readonly boolean[]): Roc {
  const n = scores.length;
  if (same.length !== n) throw new Error(`roc: ${n} scores but ${same.length} labels`);
  let P = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(scores[i])) throw new Error(`roc: score ${scores[i]} of pair ${i} is not finite`);
    if (same[i]) P++;
  }
  const N = n - P;
  if (P === 0 || N === 0)
    throw new Error(`roc: need same and different pairs, got ${P} same and ${N} different`);
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => scores[j] - scores[i]);
  const far = [0],
    tar = [0],
    thr = [Infinity];
  let tp = 0,
    fp = 0;
  for (let k = 0; k < n;) {
    const t = scores[order[k]];
    for (; k < n && scores[order[k]] === t; k++) same[order[k]] ? tp++ : fp++;
    far.push(fp / N);
    tar.push(tp / P);
    thr.push(t);
  }
  let auc = 0;
  for (let j = 1; j < far.length; j++) auc += ((far[j] - far[j - 1]) * (tar[j] + tar[j - 1])) / 2;
  return {
    far: Float64Array.from(far),
    tar: Float64Array.from(tar),
    thresholds: Float64Array.from(thr),
    auc,
  };
}

/** The largest TAR of a curve point with FAR <= target (no interpolation). */
export function tarAtFar(curve: Roc, target: number): number {
  let best = 0;
  for (let j = 0; j < curve.far.length; j++)
    if (curve.far[j] <= target && curve.tar[j] > best) best = curve.tar[j];
  return best;
}

export interface VerificationReport extends VerificationResult {
  auc: number;
  /** TAR at FAR <= 1e-3 and 1e-2 on the pooled ROC. */
  tarAtFar1e3: number;
  tarAtFar1e2: number;
}

/** The 10-fold accuracy plus the pooled ROC numbers. */
export function verificationReport(
  scores: ArrayLike<number>,
  same: readonly boolean[],
  opts: VerificationOptions = {},
): VerificationReport {
  const r = roc(scores, same);
  return {
    ...verificationAccuracy(scores, same, opts),
    auc: r.auc,
    tarAtFar1e3: tarAtFar(r, 1e-3),
    tarAtFar1e2: tarAtFar(r, 1e-2),
  };
}
