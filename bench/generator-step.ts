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
 * The same trainer is `npm run bench`'s `generator-train-step` row (bench/cases/generator.ts),
 * beside the tfjs-webgpu peer; this script shows each step, R1 steps included.
 */
import { initGpu, shutdownGpu } from '../src/gpu/node.js';
import { benchGeneratorTrainer, GENERATOR_BENCH } from './cases/generator.js';

const i = process.argv.indexOf('--steps');
const steps = i >= 0 ? Number(process.argv[i + 1]) : 8;
if (!(Number.isInteger(steps) && steps >= 1)) throw new Error(`--steps needs an integer >= 1`);

await initGpu({});
const B = GENERATOR_BENCH.batch;
const trainer = benchGeneratorTrainer();
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
