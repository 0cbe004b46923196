/**
 * `generator-train-step`: one step of the face generator's real trainer
 * (src/train/generator-trainer.ts, the step train-generator runs) at the base preset and batch
 * 16, on random images and factors (the speed does not depend on them). The peer,
 * bench/peers/tfjs-generator.ts, builds the same networks and losses in tfjs.
 *
 *   G        identity encoder (128 -> 128 lrelu -> 64); mapping: embed of [identity 64 |
 *            expression 8 | pose 3 | lighting 6] (81 -> 128) and z (32), each pixel-normalized,
 *            concatenated (160) -> 2 x EqualLinear (lrelu, lrMul 0.01) -> w (128); synthesis as
 *            stylegan-step-64's G (widths {4: 128, 8: 128, 16: 64, 32: 32, 64: 16}, FIR-upsampled
 *            modulated convs, noise, skip toRGB)
 *   D        residual: at 64..8 px conv 3x3, FIR down, conv 3x3, plus a 1x1 conv (no bias) of the
 *            downsampled input, summed / sqrt 2; at 4 px minibatch std, conv, fc (lrelu), out; plus
 *            the projection <h, embed(c)> / sqrt(128) on the factors c (128 + 8 + 3 + 6 = 145)
 *   step     D: fakes without a tape, logistic loss on reals (their own factors) and fakes (the
 *            factors they were asked for), Adam on D; G (D frozen): non-saturating loss +
 *            reconstruction (mean |avgpool 16 px| over the 8 of 16 fakes asked for their real
 *            image's factors), Adam on G; EMA of G. Adam lr 0.0025, betas (0, 0.99).
 *   R1       lazy, every 16th step (step 0 included): the case's first run (the warm-up, not
 *            timed) is step 0, so the timed runs are R1-free unless more than 15 are timed
 *            (--time of a minute or more): the R1 step costs about 2.3 s more on this machine
 *            (bench/generator-step.ts), 1/16 of it per step on average. The peer has no R1.
 *   CPU      ours also gathers the batch's pixels and factors and draws new identities from the
 *            identity prior on the CPU each step (as in training); the peer reuses fixed tensors.
 * Unit: images per second (16 per D + G step).
 *
 * Against stylegan-step-64 (same synthesis widths and layers): the identity encoder and the
 * factor embedding in the mapping (z 32 there 128), D's residual 1x1 skips and projection, the
 * reconstruction loss and the EMA update; D runs on 16 reals and 16 fakes in both.
 *
 * Measured 2026-12-03, two runs of `npm run bench -- --filter generator-train-step` (lavapipe,
 * 2 cores, load average 5-6 from a training and other helpers): synface 1.706 and 1.807
 * images/s, tfjs-webgpu 0.3985 and 0.4572 in the same runs (4.3x, 4.0x).
 */
import * as E from '../../src/index.js';
import {
  fitFactorNorm,
  fitIdentityPrior,
  GENERATOR_PRESETS,
  type FactorRows,
} from '../../src/models/generator/index.js';
import {
  defaultTrainSettings,
  GeneratorTrainer,
  type FactorPredictor,
} from '../../src/train/generator-trainer.js';
import { FactorStudent, freezeStudent, STUDENT_BACKBONES } from '../../src/models/factor-student.js';
import type { ImageCache } from '../../src/data/image-cache.js';
import type { PeerCase } from '../peers/tfjs-webgpu.js';

export const GENERATOR_BENCH = { batch: 16, resolution: 64, expDim: 8, images: 64 };

/**
 * GENERATOR_BENCH's images (u8, 3 x R x R) and factors, uniform noise of a fixed seed: the
 * training data of the generator's and the factor student's benches (speed does not depend on it).
 */
export function benchFactorData(): { cache: ImageCache; rows: Int32Array; factors: FactorRows } {
  const { images: n, resolution: R, expDim } = GENERATOR_BENCH;
  let s = 1;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const fill = (len: number) => Float32Array.from({ length: len }, rnd);
  const factors: FactorRows = {
    count: n,
    descriptor: fill(n * 128),
    expression: fill(n * expDim),
    pose: fill(n * 3),
    lighting: fill(n * 6),
  };
  const pixels = Uint8Array.from({ length: n * 3 * R * R }, () => Math.floor(128 + 127 * rnd()));
  return {
    cache: { count: n, C: 3, H: R, W: R, labels: new Int32Array(n), pixels },
    rows: Int32Array.from({ length: n }, (_, k) => k),
    factors,
  };
}

/**
 * The trainer of the bench (and of bench/generator-step.ts): base preset, batch 16, random data.
 * With `student`, also the factor loss (factorWeight 1) read by a randomly initialized factor
 * student of the shipped architecture (STUDENT_BACKBONES.base), as train-generator runs it with
 * `--factor-weight 1`: its forward and backward to the fakes are part of every G step.
 */
export function benchGeneratorTrainer(opts: { student?: boolean } = {}): GeneratorTrainer {
  const { images: n, resolution: R, batch: B, expDim } = GENERATOR_BENCH;
  const data = benchFactorData();
  const { factors } = data;
  const model = { ...GENERATOR_PRESETS.base, expDim, norm: fitFactorNorm(factors) };
  let factorPredictor: FactorPredictor | undefined;
  if (opts.student) {
    const student = freezeStudent(
      new FactorStudent({
        backbone: STUDENT_BACKBONES.base,
        descriptorDim: 128,
        expDim,
        poseDim: 3,
        lightDim: 6,
        norm: model.norm,
      }),
    );
    factorPredictor = { predict: (x) => student.forward(x) };
  }
  const settings = { ...defaultTrainSettings(R, B), factorWeight: opts.student ? 1 : 0 };
  return new GeneratorTrainer(
    { model, batch: B, steps: 1000, ...settings, seed: 0 },
    {
      ...data,
      factorPredictor,
      identityPrior: fitIdentityPrior(
        factors.descriptor,
        Int32Array.from({ length: n }, (_, k) => k % 8),
        128,
      ),
    },
  );
}

export function generatorTrainStep(opts: { student?: boolean } = {}): PeerCase {
  let trainer: GeneratorTrainer | null = null;
  return {
    name: opts.student ? 'generator-train-step+student' : 'generator-train-step',
    unit: 'images/s',
    work: GENERATOR_BENCH.batch,
    opsPerRun: 1,
    minIterations: 2,
    async setup() {
      trainer = benchGeneratorTrainer(opts);
      await E.getDevice().sync();
    },
    async run() {
      const losses = trainer!.trainStep();
      Object.values(losses).forEach((t) => t.dispose());
      await E.getDevice().sync();
    },
    async teardown() {
      trainer?.dispose();
      trainer = null;
      await E.getDevice().sync();
    },
  };
}
