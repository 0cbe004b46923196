/**
 * The recognizer trainer's test world: a tiny IResNet config and 4 separable identities x 5
 * images of 20x20 (shared by recognizer-train.test.ts and synface-train.test.ts).
 */
import type { ImageCache } from '../src/data/image-cache.js';
import type { RecognizerTrainConfig } from '../src/train/recognizer-trainer.js';

/** A tiny recognizer: 16x16 input, four narrow IR stages (16x16 -> 1x1), 8-d embedding. */
export const config: RecognizerTrainConfig = {
  backbone: {
    input: [16, 16],
    blocks: [1, 1, 1, 1],
    widths: [4, 8, 8, 8],
    stem: 4,
    embedding: 8,
    dropout: 0.1,
  },
  arcface: { s: 16, m: 0.3 },
  batch: 6,
  steps: 40,
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 5e-4,
  schedule: 'poly',
  warmupSteps: 4,
  milestones: [],
  marginWarmupSteps: 0,
  augment: { flipProb: 0.5, zoomMin: 0.8, eraseProb: 0.5 },
  seed: 5,
};

/** 4 identities x 5 images of 20x20: each identity a coloured pattern, each image a noisy copy. */
export function syntheticCache(): ImageCache {
  const count = 20,
    C = 3,
    H = 20,
    W = 20;
  const pixels = new Uint8Array(count * C * H * W);
  const labels = new Int32Array(count);
  let noise = 12345;
  for (let n = 0; n < count; n++) {
    const id = n % 4;
    labels[n] = 10 + id; // sparse labels: the trainer renumbers them
    for (let c = 0; c < C; c++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          noise = (noise * 1103515245 + 12345) >>> 0;
          const base = 128 + 100 * Math.sin((id + 1) * (x + 2 * y) * 0.3 + c);
          pixels[((n * C + c) * H + y) * W + x] = Math.max(
            0,
            Math.min(255, Math.round(base + ((noise >>> 24) - 128) * 0.2)),
          );
        }
  }
  return { count, C, H, W, labels, pixels };
}

export const rows = Int32Array.from({ length: 20 }, (_, i) => i);
