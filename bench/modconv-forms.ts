/**
 * The stylegan-step-64 step (bench/cases/stylegan.ts) with its generator's modulated convs run
 * each way, measured in one process with the steps alternating (so all see the same machine
 * state). Upsampling: 'fir-first' (upsample2d, then the conv at the large size; the default) or
 * 'transposed' (StyleGAN2's strided transposed conv + FIR).
 * Form (src/ops/modconv.ts): 'scaled' (one conv between two broadcast multiplies: the only form
 * before 'grouped') or 'auto' (grouped where the per-sample weights are smaller than the
 * input, the default). 'fir-first scaled' is the engine before this work.
 *
 *   npx tsx bench/modconv-forms.ts [--rounds 3] [--only fir-first]   (variants whose name contains it)
 *
 * On a shared machine the fastest step of each form is the figure to compare (other work only
 * ever slows a step down); the mean is printed too, and the CPU time the process spent on each
 * step (all its threads: on lavapipe the GPU's work is CPU work of this process), which other
 * work on the machine disturbs much less than the wall time.
 *
 * Measured 2026-12-02, --rounds 5, load average about 6 (images/s at the fastest step / on
 * average; CPU seconds a step, the first step of each left out):
 *   fir-first scaled    2.948 / 2.603   5.2-5.9      (the engine before the grouped form)
 *   fir-first auto      3.445 / 3.062   4.7-4.9      (the default now)
 *   transposed scaled   3.190 / 3.053   5.0-5.5
 *   transposed auto     3.317 / 3.024   4.9-5.2
 * Again, --rounds 6 --only fir-first: scaled 3.125 / 2.674 (CPU 5.1-7.4 s), auto 3.325 / 3.061
 * (CPU 4.6-5.5 s).
 * 'transposed' does not pay yet: its transposed conv is the engine's stride-2 input gradient,
 * which convolves the zero-dilated input (conv2dInputGradKernel), so none of the 3/4 of
 * multiply-adds it could skip are skipped.
 */
import { initGpu, shutdownGpu } from '../src/gpu/node.js';
import { StyleganBenchStep, STYLEGAN_BENCH, type StyleganBenchOptions } from './cases/stylegan.js';

const args = process.argv.slice(2);
const at = args.indexOf('--rounds');
const rounds = at >= 0 ? Number(args[at + 1]) : 3;
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1] : '';

const device = await initGpu({ announce: true });
try {
  const all: [string, StyleganBenchOptions][] = [
    ['fir-first scaled', { upMode: 'fir-first', form: 'scaled' }],
    ['fir-first auto', { upMode: 'fir-first', form: 'auto' }],
    ['transposed scaled', { upMode: 'transposed', form: 'scaled' }],
    ['transposed auto', { upMode: 'transposed', form: 'auto' }],
  ];
  const variants = all.filter(([name]) => name.includes(only));
  const forms = variants.map(([name]) => name);
  const steps = variants.map(([, o]) => new StyleganBenchStep(o));
  const ms = forms.map(() => [] as number[]),
    cpu = forms.map(() => [] as number[]),
    dispatches = forms.map(() => 0);
  for (const s of steps) s.step(); // compile, warm up the buffer pool
  await device.sync();
  for (let r = 0; r < rounds; r++)
    for (let i = 0; i < forms.length; i++) {
      const d0 = device.dispatchCount,
        t0 = performance.now(),
        c0 = process.cpuUsage();
      steps[i].step();
      await device.sync();
      ms[i].push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[i].push((c.user + c.system) / 1e3);
      dispatches[i] = device.dispatchCount - d0;
    }
  forms.forEach((f, i) => {
    const mean = ms[i].reduce((a, b) => a + b, 0) / rounds,
      best = Math.min(...ms[i]);
    const rate = (t: number) => ((1e3 * STYLEGAN_BENCH.batch) / t).toFixed(3);
    console.log(
      `${f.padEnd(18)} ${rate(best)} images/s at the fastest step, ${rate(mean)} on average ` +
        `(steps ${ms[i].map((t) => t.toFixed(0)).join(', ')} ms; ${dispatches[i]} dispatches a step); ` +
        `CPU time of the process (every thread, lavapipe's included) ${cpu[i].map((t) => t.toFixed(0)).join(', ')} ms`,
    );
  });
  for (const s of steps) s.dispose();
} finally {
  shutdownGpu();
}
