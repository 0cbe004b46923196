/**
 * Conv2d kernel lab timing (correctness lives in test/conv.test.ts).
 *
 *   npx tsx bench/conv-lab.ts                         every version of fwd/dgrad/wgrad, ResNet shape
 *   npx tsx bench/conv-lab.ts --kind=wgrad --only=v3,v4 --rounds=5
 *   npx tsx bench/conv-lab.ts --shape=32,64,28,28,64,3,1,1   N,C,H,W,O,K,stride,pad
 *   npx tsx bench/conv-lab.ts --nobias                forward without the bias epilogue
 *   npx tsx bench/conv-lab.ts --print=v5 [--kind=dgrad] [--shape=...] [--nobias]
 *                                                     print a version's WGSL (full name or vN; kind
 *                                                     forward by default) as specialized for the
 *                                                     shape, and exit without a GPU
 *
 * Every version's WGSL at the default shape is also committed in shaders/generated/conv2d-*
 * (npm run gen:shaders), so two versions can be diffed without running anything.
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
import { labVersions, ROUTES } from '../shaders/conv2d-versions.js';
import { convVersionText, findLabVersion } from '../shaders/lab-text.js';

const args = process.argv.slice(2);
/** The value of `--name=value`, or of `--name value`. */
const argVal = (name: string) => {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  if (args[i] !== `--${name}`) return args[i].split('=')[1];
  return args[i + 1] && !args[i + 1].startsWith('--') ? args[i + 1] : undefined;
};
const kinds = (argVal('kind') ?? 'forward,dgrad,wgrad').split(',') as ('forward' | 'dgrad' | 'wgrad')[];
const only = argVal('only')?.split(',');
const rounds = Number(argVal('rounds') ?? 3);
const reps = Number(argVal('reps') ?? 3);
const shape = argVal('shape') ?? '32,64,28,28,64,3,1,1';
const [N, C, H, W, O, K, s, pd] = shape.split(',').map(Number);
if (
  shape.split(',').length !== 8 ||
  [N, C, H, W, O, K, s, pd + 1].some((v) => !Number.isInteger(v) || v < 1)
) {
  console.error(
    `conv lab: --shape=${shape}: want 8 integers N,C,H,W,O,K,stride,pad (pad >= 0, the rest >= 1)`,
  );
  process.exit(2);
}

if (args.some((a) => a === '--print' || a.startsWith('--print='))) {
  // --print: the WGSL of one version for this shape, then exit (no device is opened)
  let text: string;
  try {
    const kind = argVal('kind') ?? 'forward';
    if (kind !== 'forward' && kind !== 'dgrad' && kind !== 'wgrad')
      throw new Error(`conv lab: --print takes one --kind: forward, dgrad or wgrad (got '${kind}')`);
    const query = argVal('print');
    const names = labVersions(kind);
    if (!query)
      throw new Error(`conv lab: --print needs a version, e.g. --print=v5 (${kind}: ${names.join(', ')})`);
    if (query in ROUTES)
      throw new Error(`conv lab: '${query}' has no WGSL of its own: ${ROUTES[query as keyof typeof ROUTES]}`);
    const name = findLabVersion(names, query, `conv lab (${kind})`);
    convGeometry('conv lab --shape', [N, C, H, W], [O, C, K, K], { stride: s, padding: pd }); // output not empty
    text = convVersionText(kind, name, {
      geo: { KH: K, KW: K, sh: s, sw: s, dh: 1, dw: 1 },
      bias: !args.includes('--nobias'),
      shape: `bench/conv-lab.ts: x [${[N, C, H, W]}], w [${[O, C, K, K]}], stride ${s}, padding ${pd}`,
    });
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  await new Promise<void>((done) => process.stdout.write(text, () => done()));
  process.exit(0);
}

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
