/**
 * Training presets of the recognizer.
 *
 * paper  SynFace's setting: LResNet50E-IR at 112x96 (the 112x96 centre crop of deep-funneled
 *        LFW at full scale), ArcFace s = 30, m = 0.5, SGD momentum 0.9, wd 5e-4, lr 0.1 at batch
 *        512, 40 epochs with lr x 0.1 at epochs 24, 30 and 36. For real GPUs.
 * small  sized for a CPU adapter (lavapipe, 2 cores) to train in under 30 minutes: 64x64 input
 *        (the generator's resolution, so domain mixup blends same-size images) taken from a
 *        112x112 centre crop, a stride-2 stem (the network works at 32x32 from there on), IR
 *        stages [1, 2, 2, 1] of 16..128 channels, a 256-d embedding. Trained on the people with
 *        at least 2 images (LFW devtrain: 1,006 training people, 5,025 images) for 20 epochs,
 *        the ArcFace margin warmed up over the first 3. Measured on the held-out validation
 *        people (weights/split): every image of all 3,432 training people for 11 epochs, full
 *        margin from the start: 76.9%; 14 epochs with a 2-epoch margin warm-up: 78.0%; only
 *        people with >= 2 images, 20 epochs, 3-epoch warm-up: see weights/*.manifest.json.
 */
import { IRESNET_PRESETS } from '../models/iresnet.js';
import type { Preprocess } from '../data/preprocess.js';
import type { RecognizerTrainConfig } from './recognizer-trainer.js';

export interface RecognizerPreset {
  train: Omit<RecognizerTrainConfig, 'steps' | 'seed' | 'marginWarmupSteps'>;
  /** Epochs over the training images (turned into steps once the data is known). */
  epochs: number;
  /** Epochs of ArcFace margin warm-up (marginWarmupSteps, once the data is known). */
  marginWarmupEpochs: number;
  preprocess: Preprocess;
  /** Keep training people with at least this many images. */
  minImages: number;
}

const SYNFACE_AUGMENT = { flipProb: 0.5, zoomMin: 0.8, eraseProb: 0.5 };

export const RECOGNIZER_PRESETS: Record<'paper' | 'small', RecognizerPreset> = {
  paper: {
    train: {
      backbone: IRESNET_PRESETS.paper,
      arcface: { s: 30, m: 0.5 },
      batch: 512,
      lr: 0.1,
      momentum: 0.9,
      weightDecay: 5e-4,
      schedule: 'multistep',
      warmupSteps: 0,
      milestones: [24 / 40, 30 / 40, 36 / 40],
      augment: SYNFACE_AUGMENT,
    },
    epochs: 40,
    marginWarmupEpochs: 0,
    preprocess: { crop: [112, 96], out: [112, 96] },
    minImages: 1,
  },
  small: {
    train: {
      backbone: IRESNET_PRESETS.small,
      arcface: { s: 30, m: 0.5 },
      batch: 64,
      lr: 0.1,
      momentum: 0.9,
      weightDecay: 5e-4,
      schedule: 'poly',
      warmupSteps: 50,
      milestones: [],
      augment: SYNFACE_AUGMENT,
    },
    epochs: 20,
    marginWarmupEpochs: 3,
    preprocess: { crop: [112, 112], out: [64, 64] },
    minImages: 2,
  },
};
