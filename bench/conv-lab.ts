/**
 * Conv2d kernel lab timing (correctness lives in test/conv.test.ts).
 *
 *   npx tsx bench/conv-lab.ts                         every version of fwd/dgrad/wgrad, ResNet shape
 *   npx tsx bench/conv-lab.ts --kind=wgrad --only=v3,v4 --rounds=5
 *   npx tsx bench/conv-lab.ts --shape=32,64,28,28,64,3,1,1   N,C,H,W,O,K,stride,pad
 *   npx tsx bench/conv-lab.ts --nobias                forward without the bias epilogue
 *
 * Versions are interleaved round by round (the machine is shared) and the best round is kept.
 * GFLOPS = 2*N*O*OH*OW*C/g*KH*KW / time, the same work for all three passes.
 */
import * as E from '../src/index.js';
import { initGpu, shutdownGpu } from '../src/gpu/node.js';
import {
  conv2dInputGradKernel,
  conv2dKernel,
  conv2dSupports,
  conv2dVersions,
  conv2dWeightGradKernel,
  convGeometry,
} from '../src/ops/conv.js';

const args = process.argv.slice(2);
const argVal = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const kinds = (argVal('kind') ?? 'forward,dgrad,wgrad').split(',') as ('forward' | 'dgrad' | 'wgrad')[];
const only = argVal('only')?.split(',');
const rounds = Number(argVal('rounds') ?? 3);
const reps = Number(argVal('reps') ?? 3);
const [N, C, H, W, O, K, s, pd] = (argVal('shape') ?? '32,64,28,28,64,3,1,1').split(',').map(Number);

await initGpu({ autotune: false });
const opts = { stride: s, padding: pd };
const g = convGeometry('lab', [N, C, H, W], [O, C, K, K], opts);
const flops = 2 * N * O * g.OH * g.OW * C * K * K;
const gen = new E.Generator(3);
const x = E.keep(E.randn([N, C, H, W], 0, 1, gen)),
  w = E.keep(E.randn([O, C, K, K], 0, 1, gen));
const b = E.keep(E.randn([O], 0, 1, gen)),
  dy = E.keep(E.randn([N, O, g.OH, g.OW], 0, 1, gen));
console.log(
  `shape x [${x.shape}] w [${w.shape}] stride ${s} pad ${pd}: ${(flops / 1e9).toFixed(2)} GFLOP per op`,
);

const op = (kind: string, v: string) => () =>
  kind === 'forward'
    ? conv2dKernel(x, w, args.includes('--nobias') ? undefined : b, opts, v)
    : kind === 'dgrad'
      ? conv2dInputGradKernel(dy, w, x.shape, opts, v)
      : conv2dWeightGradKernel(x, dy, w.shape, opts, v);

for (const kind of kinds) {
  const versions = conv2dVersions[kind].filter(
    (v) => conv2dSupports(v, g) && (!only || only.some((o) => v.startsWith(o))),
  );
  const best = new Map<string, number>();
  for (const v of versions) {
    op(kind, v)().dispose();
    await E.getDevice().sync();
  } // compile
  for (let r = 0; r < rounds; r++) {
    for (const v of versions) {
      if (v === 'v1-direct' && r > 0) continue; // slow; one round is enough
      const f = op(kind, v);
      const t0 = performance.now();
      const n = v === 'v1-direct' ? 1 : reps;
      for (let i = 0; i < n; i++) f().dispose();
      await E.getDevice().sync();
      const ms = (performance.now() - t0) / n;
      best.set(v, Math.min(best.get(v) ?? Infinity, ms));
    }
  }
  console.log(`\n${kind}`);
  for (const [v, ms] of best)
    console.log(
      `  ${v.padEnd(24)} ${ms.toFixed(1).padStart(8)} ms  ${(flops / ms / 1e6).toFixed(2).padStart(7)} GFLOPS`,
    );
}
[x, w, b, dy].forEach((t) => t.dispose());
shutdownGpu();
