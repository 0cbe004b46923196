/**
 * The synface side of the side-by-side benchmarks, with the same semantics as the peer's
 * cases (bench/peers/tfjs-webgpu.ts): one `run()` issues `opsPerRun` ops back to back and
 * waits once for the GPU; results are disposed inside run(), inputs in teardown().
 */
import * as E from '../../src/index.js';
import type { PeerCase } from '../peers/tfjs-webgpu.js';
import { conv2d, conv2dInputGradKernel, conv2dWeightGradKernel, convGeometry } from '../../src/ops/conv.js';

/** The conv benchmark shape (ResNet stage 2): x (N, C, H, W), w (O, C, K, K), stride 1, pad 1. */
export const CONV_BENCH = { N: 32, C: 64, H: 28, W: 28, O: 64, K: 3, stride: 1, pad: 1 };
/** Work of one conv pass (forward, dgrad and wgrad alike): 2 * N * O * OH * OW * C/g * KH * KW. */
export function convFlops(): number {
  const g = convBenchGeometry();
  return 2 * g.N * g.O * g.OH * g.OW * g.Cg * g.KH * g.KW;
}

/** CONV_BENCH as the engine sees it (output size included). */
function convBenchGeometry() {
  const s = CONV_BENCH;
  return convGeometry('bench', [s.N, s.C, s.H, s.W], [s.O, s.C, s.K, s.K], {
    stride: s.stride,
    padding: s.pad,
  });
}

function makeCase(
  name: string,
  unit: PeerCase['unit'],
  work: number,
  opsPerRun: number,
  inputs: () => E.Tensor[],
  op: (xs: E.Tensor[]) => E.Tensor,
): PeerCase {
  let xs: E.Tensor[] = [];
  return {
    name,
    unit,
    work,
    opsPerRun,
    async setup() {
      xs = inputs().map((t) => E.keep(t));
      await E.getDevice().sync();
    },
    async run() {
      for (let i = 0; i < opsPerRun; i++) op(xs).dispose();
      await E.getDevice().sync();
    },
    async teardown() {
      xs.forEach((t) => t.dispose());
      await E.getDevice().sync();
    },
  };
}

const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

export const synfaceCases = {
  matmul(n: number, opsPerRun = clamp(Math.ceil(0.5e9 / (2 * n ** 3)), 2, 64)): PeerCase {
    const g = new E.Generator(1);
    return makeCase(
      `matmul-${n}`,
      'GFLOPS',
      2 * n ** 3,
      opsPerRun,
      () => [E.randn([n, n], 0, 1, g), E.randn([n, n], 0, 1, g)],
      ([a, b]) => E.matmul(a, b),
    );
  },
  elementwiseAdd(n: number, opsPerRun = clamp(Math.ceil(64e6 / (12 * n)), 4, 64)): PeerCase {
    const g = new E.Generator(2);
    return makeCase(
      `add-${n}`,
      'GB/s',
      12 * n,
      opsPerRun,
      () => [E.randn([n], 0, 1, g), E.randn([n], 0, 1, g)],
      ([a, b]) => E.add(a, b),
    );
  },
  /** conv2d forward with bias (NCHW), at CONV_BENCH; unit GFLOPS. */
  conv2dForward(opsPerRun = 4): PeerCase {
    const s = CONV_BENCH,
      g = new E.Generator(5),
      opts = { stride: s.stride, padding: s.pad };
    return makeCase(
      'conv2d-fwd',
      'GFLOPS',
      convFlops(),
      opsPerRun,
      () => [
        E.randn([s.N, s.C, s.H, s.W], 0, 1, g),
        E.randn([s.O, s.C, s.K, s.K], 0, 1, g),
        E.randn([s.O], 0, 1, g),
      ],
      ([x, w, b]) => conv2d(x, w, b, opts),
    );
  },
  /** conv2d input gradient (dgrad) from dy and w, at CONV_BENCH. */
  conv2dInputGrad(opsPerRun = 4): PeerCase {
    const s = CONV_BENCH,
      g = new E.Generator(6),
      opts = { stride: s.stride, padding: s.pad },
      geo = convBenchGeometry();
    return makeCase(
      'conv2d-dgrad',
      'GFLOPS',
      convFlops(),
      opsPerRun,
      () => [E.randn([s.N, s.O, geo.OH, geo.OW], 0, 1, g), E.randn([s.O, s.C, s.K, s.K], 0, 1, g)],
      ([dy, w]) => conv2dInputGradKernel(dy, w, [s.N, s.C, s.H, s.W], opts),
    );
  },
  /** conv2d weight gradient (wgrad) from x and dy, at CONV_BENCH. */
  conv2dWeightGrad(opsPerRun = 4): PeerCase {
    const s = CONV_BENCH,
      g = new E.Generator(7),
      opts = { stride: s.stride, padding: s.pad },
      geo = convBenchGeometry();
    return makeCase(
      'conv2d-wgrad',
      'GFLOPS',
      convFlops(),
      opsPerRun,
      () => [E.randn([s.N, s.C, s.H, s.W], 0, 1, g), E.randn([s.N, s.O, geo.OH, geo.OW], 0, 1, g)],
      ([x, dy]) => conv2dWeightGradKernel(x, dy, [s.O, s.C, s.K, s.K], opts),
    );
  },
  smallDispatch(opsPerRun = 256): PeerCase {
    return makeCase(
      'dispatch-small',
      'us',
      0,
      opsPerRun,
      () => [E.ones([4]), E.ones([4])],
      ([a, b]) => E.add(a, b),
    );
  },
};
