/**
 * ArcFace training of a face recognizer, one step at a time (no Node imports: the command in
 * tools/train-recognizer.ts and the browser drive it the same way).
 *
 *   step:  rows <- sampler (a shuffled epoch, full batches)
 *          x <- augmentImages(upload(u8 rows), params from the augmentation generator)
 *          loss <- cross-entropy(arcface(cos(backbone(x), W), labels))
 *          backward; SGD (momentum, weight decay) at lr(step)
 *
 * SynFace's data (synfaceStep): with identity mixup's soft labels (a, phi), (b, 1 - phi) per
 * image and/or domain mixup's real images, the step is
 *          x_S <- augment(synthetic rows)          labels (a, w_a = phi), (b, w_b = 1 - phi)
 *          x_R <- augment(real rows)               labels r = K_S + real class
 *          psi = k / 20, k uniform in 0 .. 20, one per batch (no real data: psi = 1)
 *          x = psi x_S + (1 - psi) x_R             (normalized pixels, after augmentation)
 *          loss <- synfaceLoss(cos(backbone(x), W); a, w_a, b, w_b, r, psi)
 * one ArcFace head over the K_S synthetic and the real classes.
 *
 * Everything random has its own seeded generator, and everything that changes is in the
 * checkpoint (weights, momentum, step, sampler position, generator offsets), so a run killed
 * and resumed replays the same batches, augmentations and dropout masks as one that was not.
 */
import { backward } from '../autograd/tape.js';
import { augmentImages, sampleAugmentParams, uploadU8Images, type AugmentOptions } from '../ops/augment.js';
import { SGD } from '../optim/sgd.js';
import { multiStep, warmupPoly } from '../optim/schedule.js';
import { add, scale } from '../ops/elementwise.js';
import { synfaceLoss } from '../ops/loss.js';
import { tensor } from '../tensor/create.js';
import { Generator, toUnit } from '../tensor/random.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { batchPixels, type ImageCache } from '../data/image-cache.js';
import type { CheckpointParts, Checkpoint } from '../io/checkpoint.js';
import type { SoftLabels } from '../data/synthetic-dataset.js';
import type { IResNetConfig } from '../models/iresnet.js';
import { Recognizer, type ArcFaceConfig } from '../models/recognizer.js';
import { EpochSampler } from './sampler.js';
import { restoreTrainer, trainerCheckpointParts } from './trainer-checkpoint.js';

export interface RecognizerTrainConfig {
  backbone: IResNetConfig;
  arcface: ArcFaceConfig;
  batch: number;
  /** Total optimizer steps. */
  steps: number;
  /** Peak learning rate (SGD). */
  lr: number;
  momentum: number;
  weightDecay: number;
  /**
   * 'poly': linear warm-up over warmupSteps, then (1 - progress)^2 decay to 0.
   * 'multistep': lr x 0.1 at each of `milestones` (fractions of steps), as the paper (24/30/36 of 40 epochs).
   */
  schedule: 'poly' | 'multistep';
  warmupSteps: number;
  milestones: number[];
  /**
   * Margin warm-up: m grows linearly from 0 to arcface.m over this many steps (0: the full
   * margin from the start). From scratch on a small dataset, the full margin keeps the target
   * logit s cos(theta + m) so low that learning stalls for epochs; starting as plain normalized
   * softmax (m = 0) and raising m lets the features form first.
   */
  marginWarmupSteps: number;
  augment: AugmentOptions;
  seed: number;
}

export interface TrainingData {
  cache: ImageCache;
  /** Cache rows used for training. */
  rows: Int32Array;
  /** Identity mixup's soft label of each cache row (a synthetic dataset); classes are then soft.classes. */
  soft?: SoftLabels;
  /** Domain mixup's real images: rows of their own cache and each cache row's class (0 .. people-1). */
  real?: { cache: ImageCache; rows: Int32Array; labels: Int32Array; people: number };
}

/** A batch of SynFace's step: images (B, 3, h, w) and the labels of synfaceLoss (src/ops/loss.ts). */
export interface SynfaceBatch {
  xS: Tensor;
  xR: Tensor | null;
  /** psi xS + (1 - psi) xR (xS without real data). */
  x: Tensor;
  a: Int32Array;
  b: Int32Array;
  wA: Float32Array;
  wB: Float32Array;
  /** Real labels, offset past the data's own classes (null without real data). */
  r: Int32Array | null;
  psi: number;
}

/** psi's grid: k / PSI_STEPS, k = 0 .. PSI_STEPS (SynFace: 0, 0.05, ..., 1). */
export const PSI_STEPS = 20;

/** Training-class index of each row: the cache labels of `rows`, renumbered 0..K-1 in order of first appearance. */
export function denseLabels(cache: ImageCache, rows: Int32Array): { labels: Int32Array; classes: number } {
  const map = new Map<number, number>();
  const labels = new Int32Array(cache.labels.length).fill(-1);
  for (const r of rows) {
    const l = cache.labels[r];
    if (!map.has(l)) map.set(l, map.size);
    labels[r] = map.get(l)!;
  }
  return { labels, classes: map.size };
}

/** The ArcFace margin at a step (see marginWarmupSteps). */
export function marginAt(config: RecognizerTrainConfig, step: number): number {
  const w = config.marginWarmupSteps;
  return w > 0 && step < w ? (config.arcface.m * step) / w : config.arcface.m;
}

export function learningRate(config: RecognizerTrainConfig): (step: number) => number {
  if (config.schedule === 'multistep')
    return multiStep({
      lr: config.lr,
      milestones: config.milestones.map((f) => Math.round(f * config.steps)),
    });
  // a run shorter than the warm-up (a smoke test) warms up over its first tenth instead
  const warmupSteps = config.warmupSteps <= config.steps ? config.warmupSteps : Math.floor(config.steps / 10);
  return warmupPoly({ lr: config.lr, warmupSteps, totalSteps: config.steps, power: 2, warmupStart: 0.1 });
}

export class RecognizerTrainer {
  readonly model: Recognizer;
  readonly optimizer: SGD;
  readonly sampler: EpochSampler;
  /** Initial weights and dropout masks. */
  readonly modelGen: Generator;
  /** Augmentation parameters. */
  readonly augmentGen: Generator;
  readonly classes: number;
  readonly lrAt: (step: number) => number;
  /** Domain mixup: psi per batch, and the real images' batches. */
  readonly moreGenerators?: { psi: Generator };
  readonly moreSamplers?: { real: EpochSampler };
  step = 0;
  /** Domain mixup's psi of the last step (1 without real data). */
  lastPsi = 1;
  private readonly labels: Int32Array;
  /** Classes of the data before the real ones (the synthetic identities). */
  private readonly ownClasses: number;

  constructor(
    readonly config: RecognizerTrainConfig,
    readonly data: TrainingData,
  ) {
    const { C, H, W } = data.cache;
    if (C !== 3)
      throw new Error(`RecognizerTrainer: the cache holds ${C}-channel images, the recognizer takes 3`);
    const [IH, IW] = config.backbone.input;
    if (H < IH || W < IW)
      throw new Error(
        `RecognizerTrainer: cached images are ${H}x${W}, smaller than the model's input ${IH}x${IW}`,
      );
    const dense = denseLabels(data.cache, data.rows);
    this.labels = dense.labels;
    this.ownClasses = data.soft ? data.soft.classes : dense.classes;
    this.classes = this.ownClasses + (data.real?.people ?? 0);
    this.modelGen = new Generator(config.seed);
    this.augmentGen = new Generator(config.seed + 1);
    this.model = new Recognizer(
      { backbone: config.backbone, arcface: config.arcface },
      this.classes,
      this.modelGen,
    );
    this.optimizer = new SGD(this.model.parameters(), {
      lr: config.lr,
      momentum: config.momentum,
      weightDecay: config.weightDecay,
    });
    this.sampler = new EpochSampler(data.rows, config.batch, config.seed + 2);
    if (data.real) {
      this.moreSamplers = { real: new EpochSampler(data.real.rows, config.batch, config.seed + 3) };
      this.moreGenerators = { psi: new Generator(config.seed + 4) };
    }
    this.lrAt = learningRate(config);
  }

  /** One optimizer step; returns the batch's loss (a scalar tensor the caller disposes). */
  trainStep(): Tensor {
    if (this.data.soft || this.data.real) return this.synfaceStep();
    const B = this.config.batch;
    const rows = this.sampler.next();
    const labels = Int32Array.from(rows, (r) => this.labels[r]);
    return this.optimize((margin) => {
      const x = this.augmentedBatch(this.data.cache, rows);
      return this.model.loss(x, tensor(labels, [B], 'i32'), margin);
    });
  }

  /**
   * One optimizer step on the loss `lossOf(margin)` builds (its tensors freed, the loss kept):
   * the learning rate and margin of this step, backward, SGD, the step count.
   */
  private optimize(lossOf: (margin: number) => Tensor): Tensor {
    this.optimizer.lr = this.lrAt(this.step);
    this.model.train();
    const loss = scope(() => {
      const loss = lossOf(marginAt(this.config, this.step));
      backward(loss);
      this.optimizer.step();
      this.optimizer.zeroGrad();
      return loss;
    });
    this.step++;
    return loss;
  }

  /** Augmented images (B, 3, h, w) of `rows` of `cache`, parameters from the augmentation generator. */
  private augmentedBatch(cache: ImageCache, rows: Int32Array): Tensor {
    const { C, H, W } = cache;
    const B = rows.length;
    const u8 = batchPixels(cache, rows, 'RecognizerTrainer');
    const params = sampleAugmentParams(this.augmentGen, B, H, W, {
      ...this.config.augment,
      out: this.config.backbone.input,
    });
    return augmentImages(uploadU8Images(u8, B, C, H, W), params);
  }

  /**
   * The next batch of SynFace's step (see the header), its tensors in the caller's scope: the
   * augmented synthetic and real images, their blend x, and synfaceLoss's labels and psi.
   */
  synfaceBatch(): SynfaceBatch {
    const { soft, real } = this.data;
    const rows = this.sampler.next();
    const B = rows.length;
    // labels: (a, phi), (b, 1 - phi); a plain label is (a, 1), (a, 0)
    const a = Int32Array.from(rows, (r) => (soft ? soft.a[r] : this.labels[r]));
    const b = soft ? Int32Array.from(rows, (r) => soft.b[r]) : a;
    const wA = Float32Array.from(rows, (r) => (soft ? soft.phi[r] : 1));
    const wB = wA.map((w) => 1 - w);
    const realRows = real ? this.moreSamplers!.real.next() : null;
    const r = realRows && Int32Array.from(realRows, (row) => this.ownClasses + real!.labels[row]);
    // one psi per batch, uniform on the grid (toUnit: a uniform in [0, 1) from 32 bits)
    const psi = real
      ? Math.floor(toUnit(this.moreGenerators!.psi.bitsCpu(1)[0]) * (PSI_STEPS + 1)) / PSI_STEPS
      : 1;
    // both batches are augmented every step (the generators advance the same whatever psi is)
    const xS = this.augmentedBatch(this.data.cache, rows);
    const xR = real ? this.augmentedBatch(real.cache, realRows!) : null;
    const x = xR === null || psi === 1 ? xS : psi === 0 ? xR : add(scale(xS, psi), scale(xR, 1 - psi));
    return { xS, xR, x, a, b, wA, wB, r, psi };
  }

  /** The step with soft labels and domain mixup; its psi is kept in `lastPsi`. */
  private synfaceStep(): Tensor {
    return this.optimize((margin) => {
      const batch = this.synfaceBatch();
      this.lastPsi = batch.psi;
      const B = batch.a.length;
      return synfaceLoss(this.model.cosine(batch.x), {
        a: tensor(batch.a, [B], 'i32'),
        b: tensor(batch.b, [B], 'i32'),
        wA: batch.wA,
        wB: batch.wB,
        r: batch.r ? tensor(batch.r, [B], 'i32') : undefined,
        psi: batch.psi,
        s: this.config.arcface.s,
        m: margin,
      }).loss;
    });
  }

  /** The train record's fields besides the loss: epochs done and the learning rate of the last step. */
  status(): Record<string, number> {
    const psi: Record<string, number> = this.data.real ? { psi: this.lastPsi } : {};
    return { epoch: this.sampler.epochsDone, lr: this.optimizer.lr, ...psi };
  }

  /** What a checkpoint holds; `extra` goes into its config next to the sampler state. */
  checkpointParts(extra: Record<string, unknown> = {}): CheckpointParts {
    const parts = trainerCheckpointParts(this, extra);
    return { ...parts, config: { ...parts.config, classes: this.classes } };
  }

  /** Restores a checkpoint made by checkpointParts; the run's configuration must match. */
  restore(ckpt: Checkpoint, source: string): void {
    restoreTrainer(this, ckpt, source, 'recognizer', (saved) => {
      if (saved.classes !== this.classes)
        throw new Error(`${source}: the checkpoint has ${saved.classes} classes, this data ${this.classes}`);
    });
  }

  dispose(): void {
    this.model.dispose();
    this.optimizer.dispose();
  }
}
