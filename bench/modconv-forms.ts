/**
 * The stylegan-step-64 step (bench/cases/stylegan.ts) with its generator's modulated convs in
 * each form of src/ops/modconv.ts, measured in one process with the steps alternating (so both
 * see the same machine state): 'scaled' (one conv between two broadcast multiplies, the only
 * form before 'grouped' existed), 'grouped' everywhere, and 'auto' (grouped where the per-sample
 * weights are smaller than the input), the default.
 *
 *   npx tsx bench/modconv-forms.ts [--rounds 3]
 *
 * On a shared machine the fastest step of each form is the figure to compare (other work only
 * ever slows a step down); the mean is printed too.
 */
import { initGpu, shutdownGpu } from '../src/gpu/node.js';
import { StyleganBenchStep, STYLEGAN_BENCH } from './cases/stylegan.js';

const args = process.argv.slice(2);
const at = args.indexOf('--rounds');
const rounds = at >= 0 ? Number(args[at + 1]) : 3;

const device = await initGpu({ announce: true });
try {
  const forms = ['scaled', 'grouped', 'auto'] as const;
  const steps = forms.map((f) => new StyleganBenchStep(f));
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
      `${f.padEnd(8)} ${rate(best)} images/s at the fastest step, ${rate(mean)} on average ` +
        `(steps ${ms[i].map((t) => t.toFixed(0)).join(', ')} ms; ${dispatches[i]} dispatches a step)`,
    );
  });
  for (const s of steps) s.dispose();
} finally {
  shutdownGpu();
}
