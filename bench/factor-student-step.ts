/**
 * The factor student's cost at batch 16: `npx tsx bench/factor-student-step.ts [--steps N] [--backbone base|tiny]`.
 *   train step   one StudentTrainer step (forward, backward, Adam), losses read back
 *   on fakes     what the generator's factor loss adds: the frozen student in eval mode on
 *                images that require grad, forward + backward to the images (no Adam)
 * Random images and factors (the speed does not depend on them). Prints each repetition's wall time.
 * Measured numbers: weights/factor-student.md.
 */
import { initGpu, shutdownGpu } from '../src/gpu/node.js';
import { backward } from '../src/autograd/tape.js';
import { mean, square } from '../src/ops/index.js';
import { fitFactorNorm } from '../src/models/generator/index.js';
import { STUDENT_BACKBONES } from '../src/models/factor-student.js';
import { randn, Generator } from '../src/tensor/random.js';
import { scope } from '../src/tensor/scope.js';
import { StudentTrainer, STUDENT_TRAIN_DEFAULTS } from '../src/train/student-trainer.js';
import { benchFactorData, GENERATOR_BENCH } from './cases/generator.js';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
};
const steps = Number(arg('--steps', '6'));
const backboneName = arg('--backbone', 'base') as keyof typeof STUDENT_BACKBONES;
if (!(Number.isInteger(steps) && steps >= 1)) throw new Error(`--steps needs an integer >= 1`);
if (!STUDENT_BACKBONES[backboneName])
  throw new Error(`--backbone: ${Object.keys(STUDENT_BACKBONES).join(' | ')}`);

await initGpu({});
const { resolution: R, batch: B, expDim } = GENERATOR_BENCH;
const data = benchFactorData();
const { factors } = data;
const model = {
  backbone: STUDENT_BACKBONES[backboneName],
  descriptorDim: 128,
  expDim,
  poseDim: 3 as const,
  lightDim: 6,
  norm: fitFactorNorm(factors),
};
const trainer = new StudentTrainer(
  { model, batch: B, steps: 1000, ...STUDENT_TRAIN_DEFAULTS, seed: 0 },
  data,
);
console.log(`factor-student (${backboneName}): ${trainer.model.parameterCount()} parameters, batch ${B}`);
for (let k = 0; k < steps; k++) {
  const t0 = performance.now();
  const losses = trainer.trainStep();
  await Promise.all(Object.values(losses).map((t) => t.item()));
  Object.values(losses).forEach((t) => t.dispose());
  const sec = (performance.now() - t0) / 1000;
  console.log(`train step ${trainer.step}: ${sec.toFixed(3)} s, ${(B / sec).toFixed(1)} images/s`);
}
const student = trainer.model;
student.eval();
for (const p of student.parameters()) p.requiresGrad = false;
const gen = new Generator(5);
for (let k = 0; k < steps; k++) {
  const t0 = performance.now();
  const x = randn([B, 3, R, R], 0, 0.5, gen);
  x.requiresGrad = true;
  const loss = scope(() => {
    const l = mean(square(student.forward(x)));
    backward(l);
    return l;
  });
  await loss.item();
  if (process.argv.includes('--read-grad')) await x.grad!.toArray();
  loss.dispose();
  x.grad?.dispose();
  x.dispose();
  const sec = (performance.now() - t0) / 1000;
  console.log(`on fakes ${k + 1}: forward + backward to the images ${sec.toFixed(3)} s`);
}
trainer.dispose();
shutdownGpu();
