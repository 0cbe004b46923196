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
import { fitFactorNorm, type FactorRows } from '../src/models/generator/index.js';
import { STUDENT_BACKBONES } from '../src/models/factor-student.js';
import { randn, Generator } from '../src/tensor/random.js';
import { scope } from '../src/tensor/scope.js';
import { StudentTrainer, STUDENT_TRAIN_DEFAULTS } from '../src/train/student-trainer.js';

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
  {
    cache: { count: n, C: 3, H: R, W: R, labels: new Int32Array(n), pixels },
    rows: Int32Array.from({ length: n }, (_, k) => k),
    factors,
  },
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
