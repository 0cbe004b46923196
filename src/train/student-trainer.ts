/**
 * Distillation of the factor student (models/factor-student.ts), one step at a time, for
 * runTraining (runner.ts); no Node imports.
 *
 *   step:  rows <- sampler (a shuffled epoch, full batches)
 *          x <- cache bytes / 127.5 - 1 (the generator's pixel format), each image shifted by
 *               (dx, dy) in [-jitter, jitter]^2 px, borders repeated
 *          t <- the rows' measured factors, standardized with the student's norm
 *          loss <- factorLoss(student(x), t): per-group MSE, groups weighted equally
 *          backward; Adam at lr(step) (linear warm-up, then (1 - progress)^2 to 0)
 *
 * Augmentation: only what leaves every factor as measured. A shift of a couple of pixels keeps
 * pose (angles), expression (landmark shape relative to the face) and lighting (fitted in
 * face-centred coordinates) exactly, and dlib's descriptor nearly (dlib aligns its own chip).
 * Left out on purpose: brightness / contrast / colour jitter (they change the lighting code's
 * a..f, which are luminance values), zoom and rotation (roll, and the crop the generator's
 * images share), and horizontal flips (they negate yaw, roll and the lighting code's b and e,
 * mirror the expression code through the landmark PCA, and change dlib's descriptor in a way
 * only the teacher could measure).
 *
 * Everything random has its own seeded generator and everything that changes is in the
 * checkpoint (weights, Adam's moments, step, sampler position, generator offsets), so a resumed
 * run replays the same batches and shifts.
 */
import { backward } from '../autograd/tape.js';
import { Adam } from '../optim/adam.js';
import { warmupPoly } from '../optim/schedule.js';
import { tensor } from '../tensor/create.js';
import { Generator } from '../tensor/random.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ImageCache } from '../data/image-cache.js';
import type { Checkpoint, CheckpointParts } from '../io/checkpoint.js';
import type { FactorRows } from '../models/generator/factors.js';
import {
  EQUAL_GROUPS,
  FactorStudent,
  factorLayout,
  factorLoss,
  standardizedTargets,
  type FactorStudentConfig,
  type GroupWeights,
} from '../models/factor-student.js';
import { EpochSampler } from './sampler.js';
import { restoreTrainer, trainerCheckpointParts } from './trainer-checkpoint.js';

export interface StudentTrainConfig {
  model: FactorStudentConfig;
  batch: number;
  steps: number;
  /** Peak learning rate (Adam). */
  lr: number;
  warmupSteps: number;
  /** Largest shift in pixels (0: none). */
  jitter: number;
  groupWeights: GroupWeights;
  seed: number;
}

export const STUDENT_TRAIN_DEFAULTS = { lr: 2e-3, warmupSteps: 100, jitter: 2, groupWeights: EQUAL_GROUPS };

/** The images and their factors: row k of `factors` belongs to cache row rows[k]. */
export interface StudentTrainingData {
  cache: ImageCache;
  rows: Int32Array;
  factors: FactorRows;
}

/**
 * Float images (N, 3, H, W) in the generator's format, image n shifted by (dx[n], dy[n]):
 * out(y, x) = src(clamp(y - dy), clamp(x - dx)) (positive dx moves the face right).
 */
export function shiftedPixels(
  cache: ImageCache,
  rows: ArrayLike<number>,
  dx: ArrayLike<number>,
  dy: ArrayLike<number>,
): Float32Array {
  const { C, H, W } = cache;
  const size = C * H * W;
  const out = new Float32Array(rows.length * size);
  for (let n = 0; n < rows.length; n++) {
    const r = rows[n];
    if (!(Number.isInteger(r) && r >= 0 && r < cache.count))
      throw new RangeError(`shiftedPixels: row ${r} is not in 0..${cache.count - 1}`);
    const src = cache.pixels.subarray(r * size, (r + 1) * size);
    for (let c = 0; c < C; c++)
      for (let y = 0; y < H; y++) {
        const sy = Math.min(H - 1, Math.max(0, y - dy[n]));
        for (let x = 0; x < W; x++) {
          const sx = Math.min(W - 1, Math.max(0, x - dx[n]));
          out[n * size + (c * H + y) * W + x] = src[(c * H + sy) * W + sx] / 127.5 - 1;
        }
      }
  }
  return out;
}

export class StudentTrainer {
  readonly model: FactorStudent;
  readonly optimizer: Adam;
  readonly sampler: EpochSampler;
  readonly modelGen: Generator;
  readonly augmentGen: Generator;
  readonly lrAt: (step: number) => number;
  readonly layout: ReturnType<typeof factorLayout>;
  step = 0;

  constructor(
    readonly config: StudentTrainConfig,
    readonly data: StudentTrainingData,
  ) {
    const { cache, rows, factors } = data;
    const [H, W] = config.model.backbone.input;
    if (cache.C !== 3 || cache.H !== H || cache.W !== W)
      throw new Error(
        `StudentTrainer: the images are ${cache.C}x${cache.H}x${cache.W}, the student takes 3x${H}x${W}`,
      );
    if (factors.count !== rows.length)
      throw new Error(`StudentTrainer: ${factors.count} factor rows for ${rows.length} images`);
    if (!(Number.isInteger(config.jitter) && config.jitter >= 0))
      throw new Error(`StudentTrainer: jitter ${config.jitter} is not a non-negative integer`);
    this.layout = factorLayout(config.model);
    this.modelGen = new Generator(config.seed);
    this.augmentGen = new Generator(config.seed + 1);
    this.model = new FactorStudent(config.model, this.modelGen);
    this.optimizer = new Adam(this.model.parameters(), { lr: config.lr });
    this.sampler = new EpochSampler(
      Int32Array.from(rows, (_, k) => k),
      config.batch,
      config.seed + 2,
    );
    const warmupSteps = Math.min(config.warmupSteps, Math.floor(config.steps / 10));
    this.lrAt = warmupPoly({
      lr: config.lr,
      warmupSteps,
      totalSteps: config.steps,
      power: 2,
      warmupStart: 0.1,
    });
  }

  /** One optimizer step; the total loss and each group's MSE (scalars the caller disposes). */
  trainStep(): Record<string, Tensor> {
    const { batch: B, jitter, model } = this.config;
    const [H, W] = model.backbone.input;
    const picked = this.sampler.next();
    const { cache, rows, factors } = this.data;
    // two draws per image, always taken (the generator's offset does not depend on jitter)
    const bits = this.augmentGen.bitsCpu(2 * B);
    const shift = (b: number) => (jitter ? (b % (2 * jitter + 1)) - jitter : 0);
    const dx = Int32Array.from({ length: B }, (_, n) => shift(bits[2 * n]));
    const dy = Int32Array.from({ length: B }, (_, n) => shift(bits[2 * n + 1]));
    const pixels = shiftedPixels(
      cache,
      Array.from(picked, (k) => rows[k]),
      dx,
      dy,
    );
    const targets = standardizedTargets(factors, model.norm, picked);
    this.optimizer.lr = this.lrAt(this.step);
    this.model.train();
    const out = scope(() => {
      const x = tensor(pixels, [B, 3, H, W]);
      const t = tensor(targets, [B, this.layout.dim]);
      const { total, groups } = factorLoss(this.model.forward(x), t, this.layout, this.config.groupWeights);
      backward(total);
      this.optimizer.step();
      this.optimizer.zeroGrad();
      return {
        loss: total,
        descriptor: groups.descriptor,
        expression: groups.expression,
        pose: groups.pose,
        lighting: groups.lighting,
      };
    });
    this.step++;
    return out;
  }

  status(): Record<string, number> {
    return { epoch: this.sampler.epochsDone, lr: this.optimizer.lr };
  }

  checkpointParts(extra: Record<string, unknown> = {}): CheckpointParts {
    return trainerCheckpointParts(this, extra);
  }

  /** Restores a checkpoint made by checkpointParts; the settings (all but the length) must match. */
  restore(ckpt: Checkpoint, source: string): void {
    restoreTrainer(this, ckpt, source, 'factor student');
  }

  dispose(): void {
    this.model.dispose();
    this.optimizer.dispose();
  }
}
