/**
 * Where the time of a training step goes. For one of the bench's training steps:
 *   - unprofiled, per step: the wall time, the CPU time spent recording it (the synchronous part
 *     of the step: autograd, kernel choice, encoding the dispatches; on lavapipe the GPU's
 *     threads share the same cores, so this is what the step costs before the GPU can finish)
 *     and the number of dispatches;
 *   - profiled (a timestamp query around every dispatch, each in a pass of its own): the GPU
 *     time per kernel, longest first.
 *
 *   npx tsx bench/profile.ts stylegan                    one G + D step of stylegan-step-64 (batch 16)
 *   npx tsx bench/profile.ts generator [--student]       one step of the face generator's trainer
 *                                                        (batch 16; --student: with the factor loss)
 *   npx tsx bench/profile.ts resnet18 [--batch 16]       one ResNet-18 training step (the bench case)
 *   npx tsx bench/profile.ts recognizer                  one `small` recognizer step (batch 64)
 *   npx tsx bench/profile.ts faceapi-landmark68 [--batch 16]   one forward pass (the bench case)
 *   npx tsx bench/profile.ts faceapi-dlib [--batch 16]         one forward pass (the bench case)
 *   npx tsx bench/profile.ts demo                        the spiral demo, 100 steps (GPU time only)
 *   options: --top N (kernels listed, default 30), --steps N (unprofiled steps timed, default 2),
 *            --by-shape (a row per kernel and dispatch shape: params' first words, workgroups)
 */
import { initGpu, shutdownGpu } from '../src/gpu/node.js';
import { formatProfile } from '../src/gpu/profiler.js';
import { resnet18TrainStep } from './cases/resnet18.js';
import { faceApiForward } from './cases/faceapi.js';
import { recognizerTrainStep } from './cases/recognizer.js';
import { styleganTrainStep } from './cases/stylegan.js';
import { generatorTrainStep } from './cases/generator.js';
import type { PeerCase } from './peers/tfjs-webgpu.js';
import { runDemo } from '../tools/demo.js';

const [what = 'resnet18', ...args] = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const batch = option('batch', 16);
const top = option('top', 30);
const steps = option('steps', 2);

const cases: Record<string, () => PeerCase> = {
  resnet18: () => resnet18TrainStep(batch),
  recognizer: () => recognizerTrainStep('small'),
  stylegan: () => styleganTrainStep(),
  generator: () => generatorTrainStep({ student: args.includes('--student') }),
  'faceapi-landmark68': () => faceApiForward('landmark68', batch),
  'faceapi-dlib': () => faceApiForward('dlib', batch),
};

const device = await initGpu({ announce: true });
try {
  if (what === 'demo') {
    device.startProfiling();
    await runDemo({ steps: 100, hidden: 64, seed: 0, log: () => {} });
    console.log(formatProfile(await device.stopProfiling(), top));
  } else if (cases[what]) {
    const c = cases[what]();
    await c.setup();
    await c.run(); // compile and warm up outside the measurements
    // unprofiled: a case's run() records its steps synchronously, then awaits device.sync()
    let wall = 0,
      record = 0,
      dispatches = 0;
    for (let k = 0; k < steps; k++) {
      const d0 = device.dispatchCount;
      const t0 = performance.now();
      const done = c.run();
      const t1 = performance.now();
      await done;
      wall += performance.now() - t0;
      record += t1 - t0;
      dispatches += device.dispatchCount - d0;
    }
    const perStep = steps * c.opsPerRun;
    console.log(
      `${c.name} (${c.work} images a step), per step over ${perStep} unprofiled steps: ` +
        `${(wall / perStep).toFixed(0)} ms wall, ${(record / perStep).toFixed(0)} ms CPU recording, ` +
        `${Math.round(dispatches / perStep)} dispatches ` +
        `(${((1e3 * record) / dispatches).toFixed(0)} us each)`,
    );
    device.startProfiling({ byShape: args.includes('--by-shape') });
    await c.run();
    const rows = await device.stopProfiling();
    console.log(`profiled, one run of ${c.opsPerRun} step(s) (one pass per dispatch):`);
    console.log(formatProfile(rows, top));
    await c.teardown();
  } else {
    throw new Error(`profile: unknown workload '${what}' (${[...Object.keys(cases), 'demo'].join(', ')})`);
  }
} finally {
  shutdownGpu();
}
