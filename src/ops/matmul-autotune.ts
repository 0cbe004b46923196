/**
 * Picks the fastest matmul kernel version for the adapter at hand.
 *
 * Each contender (TUNED_VERSIONS in matmul.ts) that supports the probe size runs one warm-up
 * and `reps` timed products, each waited for on its own; its best time counts (the least
 * disturbed by whatever else the machine does). The versions are then ranked by time, and every later matmul
 * uses the first version in the ranking that supports its shape. On lavapipe the register-
 * blocked vec4 kernels win by 5-15x over the textbook tiled one; on a real GPU the order can
 * differ, which is the point of measuring. The result is cached per adapter (a file in Node,
 * localStorage in a browser: see the `cache` option) so the cost is paid once per machine.
 * initGpu runs it as a start-up task (`matmulAutotuneTask`, registered in src/ops/index.ts).
 */
import { getDevice } from '../gpu/runtime.js';
import type { KeyValueStore, StartupTask } from '../gpu/startup.js';
import { keep } from '../tensor/scope.js';
import { randn, Generator } from '../tensor/random.js';
import { matmulVariants } from '../../shaders/matmul.js';
import { matmulKernel, runsHere, setMatmulRanking, TUNED_VERSIONS } from './matmul.js';

export interface TuneResult {
  ranking: string[];
  /** GFLOPS per version at the probe size (empty when the ranking came from the cache). */
  gflops: Record<string, number>;
  cached: boolean;
}

export async function autotuneMatmul(
  options: { size?: number; reps?: number; cache?: KeyValueStore } = {},
): Promise<TuneResult> {
  const { size = 512, reps = 3, cache } = options;
  const device = getDevice();
  const key = `matmul:${size}:${device.adapter.name}:${matmulVariants.map((v) => v.name).join(',')}`;
  const known = cache?.get(key);
  if (isRanking(known)) {
    setMatmulRanking(known);
    return { ranking: known, gflops: {}, cached: true };
  }
  const gen = new Generator(0);
  const a = keep(randn([size, size], 0, 1, gen)),
    b = keep(randn([size, size], 0, 1, gen));
  const gflops: Record<string, number> = {};
  // Every version is waited for the same way: the wait predictor (gpu/wait.ts) would carry
  // one version's timing into the next one's sleep.
  const mode = device.waiting.mode;
  device.waiting.mode = 'spin';
  try {
    for (const v of matmulVariants) {
      if (!TUNED_VERSIONS.includes(v.name) || !runsHere(v)) continue;
      if (v.supports && !v.supports(size, size, size)) continue;
      matmulKernel(a, b, {}, v.name).dispose(); // compile and warm up
      await device.sync();
      let best = Infinity;
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        matmulKernel(a, b, {}, v.name).dispose();
        await device.sync();
        best = Math.min(best, performance.now() - t0);
      }
      gflops[v.name] = (2 * size ** 3) / (best * 1e6);
    }
  } finally {
    device.waiting.mode = mode;
    a.dispose();
    b.dispose();
  }
  const ranking = Object.keys(gflops).sort((x, y) => gflops[y] - gflops[x]);
  setMatmulRanking(ranking);
  cache?.set(key, ranking);
  return { ranking, gflops, cached: false };
}

/** A cached ranking, if it names only versions that still exist. */
function isRanking(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((n) => matmulVariants.some((m) => m.name === n));
}

/** The autotune as initGpu runs it: its line reads "matmul kernel v7 (cached)" or lists GFLOPS. */
export const matmulAutotuneTask: StartupTask = {
  name: 'matmul autotune',
  async run(store) {
    const tuned = await autotuneMatmul({ cache: store });
    const detail = tuned.cached
      ? '(cached)'
      : Object.entries(tuned.gflops)
          .map(([n, g]) => `${n} ${g.toFixed(1)}`)
          .join(', ') + ' GFLOPS';
    return `matmul kernel ${tuned.ranking[0]} ${detail}`;
  },
};
