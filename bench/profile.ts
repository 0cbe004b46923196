/**
 * Where the GPU time goes: runs a workload with per-dispatch timestamp queries and prints
 * the kernels by total time.
 *   npx tsx bench/profile.ts resnet18 [--batch 16]      one ResNet-18 training step (the bench case)
 *   npx tsx bench/profile.ts demo                       the spiral demo, 100 steps
 *   npx tsx bench/profile.ts faceapi-landmark68 [--batch 16]   one forward pass (the bench case)
 *   npx tsx bench/profile.ts faceapi-dlib [--batch 16]         one forward pass (the bench case)
 */
import { initGpu, shutdownGpu } from '../src/gpu/node.js';
import { formatProfile } from '../src/gpu/profiler.js';
import { resnet18TrainStep } from './cases/resnet18.js';
import { faceApiForward } from './cases/faceapi.js';
import { runDemo } from '../tools/demo.js';

const [what = 'resnet18', ...args] = process.argv.slice(2);
const batchAt = args.indexOf('--batch');
const batch = batchAt >= 0 ? Number(args[batchAt + 1]) : 16;
const device = await initGpu({ announce: true });
try {
  if (what === 'resnet18' || what === 'faceapi-landmark68' || what === 'faceapi-dlib') {
    const c =
      what === 'resnet18'
        ? resnet18TrainStep(batch)
        : faceApiForward(what === 'faceapi-dlib' ? 'dlib' : 'landmark68', batch);
    await c.setup();
    await c.run(); // compile and warm up outside the profile
    device.startProfiling();
    const t0 = performance.now();
    await c.run();
    console.log(
      `${what}, batch ${batch}: ${(performance.now() - t0).toFixed(0)} ms wall (profiled: one pass per dispatch)`,
    );
    console.log(formatProfile(await device.stopProfiling(), 30));
    await c.teardown();
  } else if (what === 'demo') {
    device.startProfiling();
    await runDemo({ steps: 100, hidden: 64, seed: 0, log: () => {} });
    console.log(formatProfile(await device.stopProfiling(), 30));
  } else {
    throw new Error(`profile: unknown workload '${what}' (resnet18, demo, faceapi-landmark68, faceapi-dlib)`);
  }
} finally {
  shutdownGpu();
}
