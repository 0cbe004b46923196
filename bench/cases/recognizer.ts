/**
 * One training step of the `small` recognizer preset exactly as `synface train-recognizer` runs
 * it (RecognizerTrainer.trainStep): upload a u8 batch, GPU augmentation (zoom-crop, flip,
 * erasing), IResNet small (64x64, stride-2 stem, [1, 2, 2, 1] IR blocks), ArcFace (s 30,
 * m 0.5) over `classes` identities, cross-entropy, backward, SGD with momentum and weight
 * decay. The images are random bytes: speed does not depend on them. Unit: images per second,
 * over STEPS_PER_RUN steps recorded back to back before one wait (as training runs).
 */
import * as E from '../../src/index.js';
import { RecognizerTrainer } from '../../src/train/recognizer-trainer.js';
import { RECOGNIZER_PRESETS } from '../../src/train/presets.js';
import type { PeerCase } from '../peers/tfjs-webgpu.js';
import { STEPS_PER_RUN, WARMUP_STEPS } from '../peers/tfjs-recognizer.js';

/** classes: 1006, the training people of the shipped small recognizer (LFW devtrain people with >= 2 images, minus validation). */
export function recognizerTrainStep(preset: 'small' | 'paper' = 'small', classes = 1006): PeerCase {
  const p = RECOGNIZER_PRESETS[preset];
  const batch = p.train.batch;
  let trainer: RecognizerTrainer | null = null;
  return {
    name: `recognizer-${preset}-train-step`,
    unit: 'images/s',
    work: batch,
    opsPerRun: STEPS_PER_RUN,
    minIterations: 3,
    async setup() {
      const [H, W] = p.preprocess.out;
      const count = Math.max(classes, 2 * batch);
      const pixels = new Uint8Array(count * 3 * H * W);
      for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 2654435761) >>> 24; // any bytes
      const labels = Int32Array.from({ length: count }, (_, i) => i % classes);
      const cache = { count, C: 3, H, W, labels, pixels };
      trainer = new RecognizerTrainer(
        { ...p.train, steps: 1_000_000, seed: 0, marginWarmupSteps: 0 },
        { cache, rows: Int32Array.from({ length: count }, (_, i) => i) },
      );
      // warm up: the first steps compile pipelines, grow the buffer pool and train the wait predictor
      for (let k = 0; k < WARMUP_STEPS; k++) trainer.trainStep().dispose();
      await E.getDevice().sync();
    },
    async run() {
      // steps back to back, one wait at the end: the CPU records step k+1 while the GPU runs k
      for (let k = 0; k < STEPS_PER_RUN; k++) trainer!.trainStep().dispose();
      await E.getDevice().sync();
    },
    async teardown() {
      trainer?.dispose();
      await E.getDevice().sync();
    },
  };
}
