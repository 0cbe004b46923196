/**
 * The face generator's training step, timed alone: `npx tsx bench/generator-step.ts [--steps N]`.
 * One step of src/train/generator-trainer.ts at the base preset (64x64, G 0.80 M and D 0.90 M
 * parameters) and batch 16: a D step (R1 on the first step and every 16th), a G step with the
 * reconstruction loss, the EMA update; random images and factors (the speed does not depend on
 * them). Prints each step's wall time (readback of the losses included) and images/s.
 *
 * Measured 2026-12-02 on lavapipe (2 cores): 2.9-3.4 s per step, 4.1-5.6 images/s, with the
 * machine's load average about 2; 5.3-6.7 s (2.4-3.0 images/s) with a load average of 4-6 (other
 * helpers' work). An R1 step costs about 2.3 s more (7.9-8.4 s against 5.5-6.3 s under load).
 * Not part of `npm run bench` yet (no peer); the issue's `generator-train-step` row is this step.
 */
import { initGpu, shutdownGpu } from '../src/gpu/node.js';
import {
  fitFactorNorm,
  fitIdentityPrior,
  GENERATOR_PRESETS,
  type FactorRows,
} from '../src/models/generator/index.js';
import { defaultTrainSettings, GeneratorTrainer } from '../src/train/generator-trainer.js';

const i = process.argv.indexOf('--steps');
const steps = i >= 0 ? Number(process.argv[i + 1]) : 8;
if (!(Number.isInteger(steps) && steps >= 1)) throw new Error(`--steps needs an integer >= 1`);

await initGpu({});
const n = 64,
  R = 64,
  B = 16,
  expDim = 8;
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
const model = { ...GENERATOR_PRESETS.base, expDim, norm: fitFactorNorm(factors) };
const trainer = new GeneratorTrainer(
  { model, batch: B, steps: 1000, ...defaultTrainSettings(R, B), seed: 0 },
  {
    cache: { count: n, C: 3, H: R, W: R, labels: new Int32Array(n), pixels },
    rows: Int32Array.from({ length: n }, (_, k) => k),
    factors,
    identityPrior: fitIdentityPrior(
      factors.descriptor,
      Int32Array.from({ length: n }, (_, k) => k % 8),
      128,
    ),
  },
);
console.log(
  `generator-train-step: G ${trainer.G.parameterCount()}, D ${trainer.D.parameterCount()} parameters, batch ${B}`,
);
for (let k = 0; k < steps; k++) {
  const r1 = trainer.step % trainer.config.r1Every === 0;
  const t0 = performance.now();
  const losses = trainer.trainStep();
  await Promise.all(Object.values(losses).map((t) => t.item()));
  Object.values(losses).forEach((t) => t.dispose());
  const sec = (performance.now() - t0) / 1000;
  console.log(
    `step ${trainer.step}${r1 ? ' (R1)' : ''}: ${sec.toFixed(2)} s, ${(B / sec).toFixed(2)} images/s`,
  );
}
trainer.dispose();
shutdownGpu();
