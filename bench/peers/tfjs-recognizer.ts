/**
 * The same training step as bench/cases/recognizer.ts (the `small` recognizer preset,
 * RecognizerTrainer.trainStep), in TensorFlow.js on its WebGPU backend, NHWC:
 *
 *   input     a batch of 64 images, 64x64x3, and 64 labels over 1006 classes (the shipped run's training people), uploaded every step
 *   augment   zoom-crop + horizontal flip in one tf.image.cropAndResize (a flip is a box with
 *             x1 > x2), random erasing as a multiply by a 0/1 mask uploaded with the batch
 *   backbone  IResNet small: conv3x3/2 (3 -> 16) + BN + PReLU; IR blocks [1, 2, 2, 1] of widths
 *             [16, 32, 64, 128] (BN - conv3x3 - BN - PReLU - conv3x3/stride - BN, shortcut
 *             conv1x1/stride + BN when the shape changes); BN2d - Dropout(0.2) - Flatten -
 *             Dense(512 -> 256) - BN1d
 *   head      ArcFace: cos = normalize(f) normalize(W)^T, W (1006, 256); s cos, and at the label
 *             s cos(theta + m) in insightface's safe form (cos - m sin(pi - m) below
 *             cos(pi - m)), s 30, m 0.5; softmax cross-entropy, mean over the batch
 *   update    gradients by tf.variableGrads, weight decay 5e-4 added to every gradient (our SGD
 *             decays every parameter), then tf.train.momentum(0.1, 0.9): the same update as ours
 *             (v = 0.9 v + g + wd p; p -= lr v)
 *
 * Batch norm runs in training mode on batch statistics and, like ours (and PyTorch), also
 * updates running mean and (unbiased) variance with momentum 0.1 (`runningStats`; tfjs has no
 * fused op for it, so it costs a few small ops per BN layer).
 *
 * What differs from our side, and why it is the same work:
 *  - Our trainer uploads a u8 batch (copied from an image cache) and normalizes it in its
 *    augmentation kernel; tfjs has no u8 tensors, so here the batch is uploaded as float32
 *    already in [-1, 1] (taken in turn from two batches made in setup). Crop boxes, flips and
 *    erase boxes are drawn on the CPU every step, as ours are (with a small xorshift, not our
 *    Philox generator); the erase mask (64x64 per image) is filled on the CPU and uploaded.
 *  - tfjs's cropAndResize samples with TF's corner-aligned mapping, ours with PyTorch's
 *    align_corners=False: the same bilinear work.
 *  - The margin is applied through the label's cosine (gathered by a one-hot multiply and a row
 *    sum) rather than by one fused kernel over (B, K) as ours: a few (B, K) elementwise ops.
 *  - 'same' padding of the stride-2 convs pads (0, 1) where ours pads (1, 1): same shapes.
 *  - The step waits for the GPU (flush + onSubmittedWorkDone) without reading the loss back,
 *    as our case does. Unit: images per second.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { PeerCase, TfjsWebgpuPeer } from './tfjs-webgpu.js';

type Tf = typeof TfCore;
type T4 = TfCore.Tensor4D;
type T2 = TfCore.Tensor2D;

export interface TfjsRecognizerOptions {
  batch?: number;
  classes?: number;
  /** Update BN running statistics as our BatchNorm does in training. Default true. */
  runningStats?: boolean;
  /** Draw and apply the augmentation (crop, flip, erase) every step. Default true. */
  augment?: boolean;
}

// The `small` preset (src/models/iresnet.ts, src/train/presets.ts).
const SIZE = 64,
  STEM = 16,
  BLOCKS = [1, 2, 2, 1],
  WIDTHS = [16, 32, 64, 128],
  EMBEDDING = 256,
  DROPOUT = 0.2;
const S = 30,
  M = 0.5,
  LR = 0.1,
  MOMENTUM = 0.9,
  WEIGHT_DECAY = 5e-4;
const ZOOM_MIN = 0.8,
  FLIP_P = 0.5,
  ERASE_P = 0.5,
  ERASE_SCALE = [0.02, 0.33],
  ERASE_RATIO = [0.3, 3.3];
/** Training steps per timed run, recorded back to back before one wait: throughput, as training runs (bench/cases/recognizer.ts does the same). */
export const STEPS_PER_RUN = 4;
/** Untimed steps in setup (pipelines compile, memory pools grow), on both sides. */
export const WARMUP_STEPS = 12;

/** xorshift32 -> [0, 1) */
function uniform(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export function tfjsRecognizerTrainStep(peer: TfjsWebgpuPeer, opts: TfjsRecognizerOptions = {}): PeerCase {
  const tf: Tf = peer.tf;
  const batch = opts.batch ?? 64,
    classes = opts.classes ?? 1006;
  const runningStats = opts.runningStats ?? true,
    augment = opts.augment ?? true;
  const vars: TfCore.Variable[] = []; // trained
  const stats: TfCore.Variable[] = []; // BN running statistics
  let optimizer: TfCore.MomentumOptimizer | null = null;
  let forward: ((x: T4, y: T2) => TfCore.Scalar) | null = null;
  let images: Float32Array[] = [];
  let boxInd: TfCore.Tensor1D | null = null;
  let rand = uniform(1);
  let step = 0;
  let tensorsBefore = 0;

  const build = () => {
    const conv = (cin: number, cout: number, k: number) => {
      const w = tf.variable(tf.randomNormal([k, k, cin, cout], 0, Math.sqrt(2 / (k * k * cin))) as T4);
      vars.push(w);
      return w;
    };
    /** BN over all axes but the last (NHWC, or (B, C) for the embedding). */
    const bn = (c: number) => {
      const g = tf.variable(tf.ones([c])),
        b = tf.variable(tf.zeros([c]));
      vars.push(g, b);
      const rm = tf.variable(tf.zeros([c]), false),
        rv = tf.variable(tf.ones([c]), false);
      stats.push(rm, rv);
      return <X extends TfCore.Tensor>(h: X): X => {
        const axes = h.rank === 4 ? [0, 1, 2] : [0];
        const { mean, variance } = tf.moments(h, axes);
        if (runningStats) {
          const n = h.size / c;
          rm.assign(tf.add(tf.mul(rm, 0.9), tf.mul(mean, 0.1)));
          rv.assign(tf.add(tf.mul(rv, 0.9), tf.mul(variance, (0.1 * n) / (n - 1))));
        }
        return tf.batchNorm(h, mean, variance, b, g, 1e-5) as X;
      };
    };
    const prelu = (c: number) => {
      const a = tf.variable(tf.fill([c], 0.25));
      vars.push(a);
      return (h: T4) => tf.prelu(h, a as TfCore.Tensor as T4) as T4; // alpha (C) broadcasts over NHWC
    };

    const stem = conv(3, STEM, 3),
      stemBn = bn(STEM),
      stemAct = prelu(STEM);
    const blocks: ((h: T4) => T4)[] = [];
    let cin = STEM;
    BLOCKS.forEach((count, s) => {
      const w = WIDTHS[s]!;
      for (let k = 0; k < count; k++) {
        const stride = k === 0 ? 2 : 1;
        const bn1 = bn(cin),
          c1 = conv(cin, w, 3),
          bn2 = bn(w),
          act = prelu(w),
          c2 = conv(w, w, 3),
          bn3 = bn(w);
        const short = stride !== 1 || cin !== w ? { c: conv(cin, w, 1), b: bn(w) } : null;
        blocks.push((x) => {
          const h = bn3(tf.conv2d(act(bn2(tf.conv2d(bn1(x), c1, 1, 'same'))), c2, stride, 'same'));
          return tf.add(h, short ? short.b(tf.conv2d(x, short.c, stride, 'same')) : x) as T4;
        });
        cin = w;
      }
    });
    const headBn = bn(cin);
    const flat = cin * (SIZE / 32) * (SIZE / 32);
    const fcW = tf.variable(
      tf.randomUniform([flat, EMBEDDING], -1 / Math.sqrt(flat), 1 / Math.sqrt(flat)) as T2,
    );
    const fcB = tf.variable(tf.zeros([EMBEDDING]));
    vars.push(fcW, fcB);
    const features = bn(EMBEDDING);
    const bound = Math.sqrt(6 / (classes + EMBEDDING));
    const centres = tf.variable(tf.randomUniform([classes, EMBEDDING], -bound, bound) as T2);
    vars.push(centres);

    const l2n = (v: T2) => tf.mul(v, tf.rsqrt(tf.maximum(tf.sum(tf.square(v), 1, true), 1e-24))) as T2;
    const cosm = Math.cos(M),
      sinm = Math.sin(M),
      th = Math.cos(Math.PI - M),
      mm = Math.sin(Math.PI - M) * M;

    forward = (x, onehot) => {
      let h = stemAct(stemBn(tf.conv2d(x, stem, 2, 'same')));
      for (const b of blocks) h = b(h);
      const drop = tf.dropout(headBn(h), DROPOUT);
      const emb = features(tf.add(tf.matMul(tf.reshape(drop, [batch, flat]) as T2, fcW), fcB) as T2);
      const cos = tf.matMul(l2n(emb), l2n(centres), false, true); // (B, K)
      const c = tf.sum(tf.mul(cos, onehot), 1, true); // label cosine (B, 1)
      const sin = tf.sqrt(tf.clipByValue(tf.sub(1, tf.square(c)), 1e-8, 1));
      // where(c > th, cos(theta + m), c - mm), with the condition as a step (tf.where would send a
      // gradient into tf.greater, which has none)
      const above = tf.step(tf.sub(c, th));
      const phi = tf.add(
        tf.sub(c, mm),
        tf.mul(above, tf.sub(tf.sub(tf.mul(c, cosm), tf.mul(sin, sinm)), tf.sub(c, mm))),
      );
      const logits = tf.mul(tf.add(cos, tf.mul(onehot, tf.sub(phi, c))), S);
      return tf.losses.softmaxCrossEntropy(onehot, logits) as TfCore.Scalar;
    };
  };

  /** This step's augmentation: crop boxes (flipped ones mirrored) and the erase mask. */
  const drawAugmentation = () => {
    const boxes = new Float32Array(batch * 4);
    const mask = new Float32Array(batch * SIZE * SIZE).fill(1);
    for (let i = 0; i < batch; i++) {
      const side = Math.sqrt(ZOOM_MIN + (1 - ZOOM_MIN) * rand());
      const h = Math.max(1, Math.round(side * SIZE)),
        w = h;
      const top = Math.floor(rand() * (SIZE - h + 1)),
        left = Math.floor(rand() * (SIZE - w + 1));
      const y1 = top / (SIZE - 1),
        y2 = (top + h - 1) / (SIZE - 1);
      let x1 = left / (SIZE - 1),
        x2 = (left + w - 1) / (SIZE - 1);
      if (rand() < FLIP_P) [x1, x2] = [x2, x1];
      boxes.set([y1, x1, y2, x2], i * 4);
      if (rand() < ERASE_P) {
        for (let attempt = 0; attempt < 10; attempt++) {
          const area = SIZE * SIZE * (ERASE_SCALE[0]! + (ERASE_SCALE[1]! - ERASE_SCALE[0]!) * rand());
          const ratio = Math.exp(
            Math.log(ERASE_RATIO[0]!) + (Math.log(ERASE_RATIO[1]!) - Math.log(ERASE_RATIO[0]!)) * rand(),
          );
          const eh = Math.round(Math.sqrt(area * ratio)),
            ew = Math.round(Math.sqrt(area / ratio));
          if (eh < 1 || ew < 1 || eh > SIZE || ew > SIZE) continue;
          const et = Math.floor(rand() * (SIZE - eh + 1)),
            el = Math.floor(rand() * (SIZE - ew + 1));
          for (let r = et; r < et + eh; r++)
            mask.fill(0, (i * SIZE + r) * SIZE + el, (i * SIZE + r) * SIZE + el + ew);
          break;
        }
      }
    }
    return { boxes, mask };
  };

  /** One training step, recorded without waiting (a timed run is STEPS_PER_RUN of them, then one wait). */
  const oneStep = () => {
    const labels = Int32Array.from({ length: batch }, (_, i) => (step * batch + i) % classes);
    const src = images[step % 2]!;
    const aug = augment ? drawAugmentation() : null;
    step++;
    tf.tidy(() => {
      let x = tf.tensor4d(src, [batch, SIZE, SIZE, 3]);
      if (aug) {
        const boxes = tf.tensor2d(aug.boxes, [batch, 4]);
        x = tf.mul(
          tf.image.cropAndResize(x, boxes, boxInd!, [SIZE, SIZE]),
          tf.tensor4d(aug.mask, [batch, SIZE, SIZE, 1]),
        );
      }
      const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), classes, 1, 0, 'float32') as T2;
      const { grads } = tf.variableGrads(() => forward!(x, onehot), vars);
      const decayed: TfCore.NamedTensorMap = {};
      for (const v of vars) decayed[v.name] = tf.add(grads[v.name]!, tf.mul(v, WEIGHT_DECAY));
      // (typed as a map of Variables, but any tensors do: tf.train.* read them as gradients)
      optimizer!.applyGradients(decayed as Parameters<TfCore.MomentumOptimizer['applyGradients']>[0]);
    });
  };

  return {
    name: 'recognizer-small-train-step',
    unit: 'images/s',
    work: batch,
    opsPerRun: STEPS_PER_RUN,
    minIterations: 3,
    async setup() {
      tensorsBefore = tf.memory().numTensors;
      tf.tidy(build); // frees the initial values tf.variable copied
      rand = uniform(12345);
      step = 0;
      images = [0, 1].map(() => Float32Array.from({ length: batch * SIZE * SIZE * 3 }, () => rand() * 2 - 1));
      boxInd = tf.tensor1d(
        Array.from({ length: batch }, (_, i) => i),
        'int32',
      );
      optimizer = tf.train.momentum(LR, MOMENTUM);
      for (let k = 0; k < WARMUP_STEPS; k++) oneStep();
      await peer.sync();
    },
    async run() {
      for (let k = 0; k < STEPS_PER_RUN; k++) oneStep();
      await peer.sync();
    },
    async teardown() {
      optimizer?.dispose();
      // tfjs 4.22's MomentumOptimizer.dispose() leaves SGDOptimizer's learning-rate scalar `c`
      (optimizer as unknown as { c?: TfCore.Tensor } | null)?.c?.dispose();
      optimizer = null;
      for (const v of [...vars, ...stats]) v.dispose();
      vars.length = 0;
      stats.length = 0;
      boxInd?.dispose();
      boxInd = null;
      images = [];
      await peer.sync();
      const leaked = tf.memory().numTensors - tensorsBefore;
      if (leaked !== 0) throw new Error(`tfjs recognizer-small-train-step: leaked ${leaked} tensors`);
    },
  };
}
