/**
 * The synface side of the side-by-side benchmarks, with the same semantics as the peer's
 * cases (bench/peers/tfjs-webgpu.ts): one `run()` issues `opsPerRun` ops back to back and
 * waits once for the GPU; results are disposed inside run(), inputs in teardown().
 */
import * as E from '../../src/index.js';
import type { PeerCase } from '../peers/tfjs-webgpu.js';

function makeCase(name: string, unit: PeerCase['unit'], work: number, opsPerRun: number, inputs: () => E.Tensor[], op: (xs: E.Tensor[]) => E.Tensor): PeerCase {
  let xs: E.Tensor[] = [];
  return {
    name, unit, work, opsPerRun,
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
    return makeCase(`matmul-${n}`, 'GFLOPS', 2 * n ** 3, opsPerRun, () => [E.randn([n, n], 0, 1, g), E.randn([n, n], 0, 1, g)], ([a, b]) => E.matmul(a, b));
  },
  elementwiseAdd(n: number, opsPerRun = clamp(Math.ceil(64e6 / (12 * n)), 4, 64)): PeerCase {
    const g = new E.Generator(2);
    return makeCase(`add-${n}`, 'GB/s', 12 * n, opsPerRun, () => [E.randn([n], 0, 1, g), E.randn([n], 0, 1, g)], ([a, b]) => E.add(a, b));
  },
  smallDispatch(opsPerRun = 256): PeerCase {
    return makeCase('dispatch-small', 'us', 0, opsPerRun, () => [E.ones([4]), E.ones([4])], ([a, b]) => E.add(a, b));
  },
};
