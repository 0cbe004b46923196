/**
 * ArcFace training of a face recognizer, one step at a time (no Node imports: the command in
 * tools/train-recognizer.ts and the browser drive it the same way).
 *
 *   step:  rows <- sampler (a shuffled epoch, full batches)
 *          x <- augmentImages(upload(u8 rows), params from the augmentation generator)
 *          loss <- cross-entropy(arcface(cos(backbone(x), W), labels))
 *          backward; SGD (momentum, weight decay) at lr(step)
 *
 * Everything random has its own seeded generator, and everything that changes is in the
 * checkpoint (weights, momentum, step, sampler position, generator offsets), so a run killed
 * and resumed replays the same batches, augmentations and dropout masks as one that was not.
 */
import { backward } from '../autograd/tape.js';
import { augmentImages, sampleAugmentParams, uploadU8Images, type AugmentOptions } from '../ops/augment.js';
import { SGD } from '../optim/sgd.js';
import { multiStep, warmupPoly } from '../optim/schedule.js';
import { tensor } from '../tensor/create.js';
import { Generator } from '../tensor/random.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { batchPixels, type ImageCache } from '../data/image-cache.js';
import type { CheckpointParts, Checkpoint } from '../io/checkpoint.js';
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
}

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
  step = 0;
  private readonly labels: Int32Array;

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
    this.classes = dense.classes;
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
    this.lrAt = learningRate(config);
  }

  /** One optimizer step; returns the batch's loss (a scalar tensor the caller disposes). */
  trainStep(): Tensor {
    const { cache } = this.data;
    const { C, H, W } = cache;
    const B = this.config.batch;
    const rows = this.sampler.next();
    const u8 = batchPixels(cache, rows, 'RecognizerTrainer');
    const labels = Int32Array.from(rows, (r) => this.labels[r]);
    const params = sampleAugmentParams(this.augmentGen, B, H, W, {
      ...this.config.augment,
      out: this.config.backbone.input,
    });
    this.optimizer.lr = this.lrAt(this.step);
    this.model.train();
    const loss = scope(() => {
      const x = augmentImages(uploadU8Images(u8, B, C, H, W), params);
      const loss = this.model.loss(x, tensor(labels, [B], 'i32'), marginAt(this.config, this.step));
      backward(loss);
      this.optimizer.step();
      this.optimizer.zeroGrad();
      return loss;
    });
    this.step++;
    return loss;
  }

  /** The train record's fields besides the loss: epochs done and the learning rate of the last step. */
  status(): Record<string, number> {
    return { epoch: this.sampler.epochsDone, lr: this.optimizer.lr };
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
