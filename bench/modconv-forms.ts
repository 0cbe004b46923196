/**
 * The stylegan-step-64 step (bench/cases/stylegan.ts) with its generator's modulated convs run
 * each way, measured in one process with the steps alternating (so all see the same machine
 * state). Upsampling: 'fir-first' (upsample2d, then the conv at the large size: the only mode
 * before 'transposed') or 'transposed' (StyleGAN2's strided transposed conv + FIR, the default).
 * Form (src/ops/modconv.ts): 'scaled' (one conv between two broadcast multiplies: the only form
 * before 'grouped') or 'auto' (grouped where the per-sample weights are smaller than the
 * input, the default). 'fir-first scaled' is the engine before this work.
 *
 *   npx tsx bench/modconv-forms.ts [--rounds 3]
 *
 * On a shared machine the fastest step of each form is the figure to compare (other work only
 * ever slows a step down); the mean is printed too.
 */
import { initGpu, shutdownGpu } from '../src/gpu/node.js';
import { StyleganBenchStep, STYLEGAN_BENCH, type StyleganBenchOptions } from './cases/stylegan.js';

const args = process.argv.slice(2);
const at = args.indexOf('--rounds');
const rounds = at >= 0 ? Number(args[at + 1]) : 3;

const device = await initGpu({ announce: true });
try {
  const variants: [string, StyleganBenchOptions][] = [
    ['fir-first scaled', { upMode: 'fir-first', form: 'scaled' }],
    ['fir-first auto', { upMode: 'fir-first', form: 'auto' }],
    ['transposed scaled', { upMode: 'transposed', form: 'scaled' }],
    ['transposed auto', { upMode: 'transposed', form: 'auto' }],
  ];
  const forms = variants.map(([name]) => name);
  const steps = variants.map(([, o]) => new StyleganBenchStep(o));
  const ms = forms.map(() => [] as number[]),
    dispatches = forms.map(() => 0);
  for (const s of steps) s.step(); // compile, warm up the buffer pool
  await device.sync();
  for (let r = 0; r < rounds; r++)
    for (let i = 0; i < forms.length; i++) {
      const d0 = device.dispatchCount,
        t0 = performance.now();
      steps[i].step();
      await device.sync();
      ms[i].push(performance.now() - t0);
      dispatches[i] = device.dispatchCount - d0;
    }
  forms.forEach((f, i) => {
    const mean = ms[i].reduce((a, b) => a + b, 0) / rounds,
      best = Math.min(...ms[i]);
    const rate = (t: number) => ((1e3 * STYLEGAN_BENCH.batch) / t).toFixed(3);
    console.log(
      `${f.padEnd(18)} ${rate(best)} images/s at the fastest step, ${rate(mean)} on average ` +
        `(steps ${ms[i].map((t) => t.toFixed(0)).join(', ')} ms; ${dispatches[i]} dispatches a step)`,
    );
  });
  for (const s of steps) s.dispose();
} finally {
  shutdownGpu();
}
