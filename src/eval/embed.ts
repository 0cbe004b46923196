/**
 * Embeddings of cached images and the verification of pairs among them: the bridge between a
 * trained backbone and the protocol in verification.ts, shared by training's periodic
 * validation and the `synface eval` command.
 *
 *   images (u8 CHW rows of an ImageCache) -> upload -> normalize + resize to the model's input
 *   (augmentImages with identity parameters, one kernel) -> backbone in eval mode -> (n, E)
 *
 * With `flip`, the mirror image is embedded too and insightface's variant is used:
 * e = f(x) + f(flip(x)) before the cosine (mirroredSum). No Node imports.
 */
import { noGrad } from '../autograd/tape.js';
import { augmentImages, flipHorizontal, identityAugmentParams, uploadU8Images } from '../ops/augment.js';
import { add } from '../ops/index.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Layer } from '../nn/module.js';
import { batchPixels, type ImageCache } from '../data/image-cache.js';
import type { LfwImageRef, LfwPair } from '../data/lfw-pairs.js';
import {
  balancedFolds,
  cosineSimilarity,
  euclideanDistance,
  thresholdGrid,
  verificationReport,
  type VerificationReport,
} from './verification.js';

export interface EmbedOptions {
  /** The backbone's input [H, W]. */
  input: readonly [number, number];
  /** Images per forward pass (default 64). */
  batch?: number;
  /** Sum the embeddings of each image and its mirror (insightface's evaluation). */
  flip?: boolean;
  /** Names the model (e.g. its weights file) in errors. */
  model?: string;
  /**
   * How a pair is scored: 'cosine' similarity (default; our recognizer, SynFace) or 'euclidean':
   * minus the Euclidean distance (dlib's rule), so that higher still means "same person".
   */
  metric?: 'cosine' | 'euclidean';
}

/** Embeddings (rows.length, E) of cache rows `rows`, in that order. The caller puts the model in eval mode. */
export async function embedRows(
  backbone: Layer,
  cache: ImageCache,
  rows: ArrayLike<number>,
  options: EmbedOptions,
): Promise<{ data: Float32Array; dim: number }> {
  const { C, H, W } = cache;
  if (C !== 3) throw new Error(`embedRows: the cache holds ${C}-channel images, the recognizer takes 3`);
  const batch = options.batch ?? 64;
  const parts: Float32Array[] = [];
  let dim = 0;
  for (let start = 0; start < rows.length; start += batch) {
    const n = Math.min(batch, rows.length - start);
    const u8 = batchPixels(
      cache,
      Array.from({ length: n }, (_, k) => rows[start + k]),
      'embedRows',
    );
    const emb = noGrad(() =>
      scope(() => {
        const packed = uploadU8Images(u8, n, C, H, W);
        const x = augmentImages(packed, identityAugmentParams(n, H, W, options.input[0], options.input[1]));
        let e: Tensor = backbone.forward(x);
        if (options.flip) e = add(e, backbone.forward(flipHorizontal(x)));
        return e;
      }),
    );
    dim = emb.shape[1];
    parts.push((await emb.toArray()) as Float32Array);
    emb.dispose();
  }
  const data = new Float32Array(rows.length * dim);
  let offset = 0;
  for (const p of parts) {
    data.set(p, offset);
    offset += p.length;
  }
  return { data, dim };
}

export interface PairEvaluation {
  report: VerificationReport;
  scores: Float64Array;
  same: boolean[];
}

/**
 * Scores every pair (cosine of the two embeddings) and runs the protocol: the file's folds
 * when it has them (View 2), else 10 balanced folds. `rowOf` maps an image to its cache row.
 */
export async function evaluatePairs(
  backbone: Layer,
  cache: ImageCache,
  pairs: readonly LfwPair[],
  rowOf: (ref: LfwImageRef) => number,
  options: EmbedOptions,
): Promise<PairEvaluation> {
  const rowIndex = new Map<number, number>(); // cache row -> position in `rows`
  const rows: number[] = [];
  const need = (ref: LfwImageRef) => {
    const r = rowOf(ref);
    if (!rowIndex.has(r)) {
      rowIndex.set(r, rows.length);
      rows.push(r);
    }
    return rowIndex.get(r)!;
  };
  const ends = pairs.map((p) => [need(p.a), need(p.b)]);
  const { data, dim } = await embedRows(backbone, cache, rows, options);
  const vec = (i: number) => data.subarray(i * dim, (i + 1) * dim);
  // NaN or infinite embeddings (broken weights, a diverged training) would make every score NaN
  let bad = 0;
  for (let i = 0; i < rows.length; i++) if (!vec(i).every(Number.isFinite)) bad++;
  if (bad)
    throw new Error(
      `${options.model ? `${options.model}: ` : ''}the recognizer's embeddings are not finite (NaN or infinite) ` +
        `for ${bad} of ${rows.length} images: its weights hold non-finite or overflowing values`,
    );
  const euclidean = options.metric === 'euclidean';
  const score = euclidean ? (a: Float32Array, b: Float32Array) => -euclideanDistance(a, b) : cosineSimilarity;
  const scores = Float64Array.from(ends, ([i, j]) => score(vec(i), vec(j)));
  const same = pairs.map((p) => p.same);
  const hasFolds = pairs.every((p) => p.fold >= 0);
  const report = verificationReport(scores, same, {
    folds: hasFolds ? pairs.map((p) => p.fold) : balancedFolds(same),
    // minus distances lie below 0 (dlib's descriptors: distances up to ~1.5, twice that with flip)
    thresholds: euclidean ? thresholdGrid(-4, 0, 0.005) : undefined,
  });
  return { report, scores, same };
}
