/**
 * The cross-environment suite: the same engine calls, run once in Node (Dawn) and once in a
 * browser (navigator.gpu), must give the same numbers. test/browser/run.ts runs both and
 * compares them case by case.
 *
 * Environment-independent on purpose: imports only from src/ (no Node modules, no DOM), and
 * every input comes from a tiny JS formula, so both sides start from identical bits.
 * The caller must have called initGpu() (src/gpu/node.ts or src/gpu/browser.ts) first.
 */
import {
  add, backward, dropoutMask, Generator, getDevice, logsumexp, matmul, max, mul, rand, randn,
  randomBits, scope, square, sum, tanh, tensor, type Tensor,
} from '../../src/index.js';

export interface SuiteCase {
  name: string;
  /** Flattened output values (for u32 outputs: the integers). */
  values: number[];
  /** True: the two environments must agree bit for bit. False: within the runner's tolerance. */
  exact: boolean;
  shape: number[];
  /**
   * Optional CPU result computed in plain JS on the same inputs (float64 for float ops, the
   * CPU Philox for random bits), for a sanity check that both environments are also right.
   */
  reference?: number[];
  /** Whether `reference` must match exactly (same rules as `exact`). */
  referenceExact?: boolean;
}

export interface SuiteResult {
  adapter: string;
  isCpu: boolean;
  cases: SuiteCase[];
  /** Wall time of the suite in milliseconds (informational). */
  ms: number;
}

// ---------------------------------------------------------------- deterministic inputs

/** Values in roughly [-1, 1], not dyadic (so rounding matters), from a small integer hash. */
function wave(n: number, salt: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + salt * 1.3) * 0.9 + (((i * 37 + salt * 11) % 17) - 8) / 40);
}

/** Small dyadic values k/16, k in [-8, 8]: products and sums are exact in f32 in any order. */
function dyadic(n: number, salt: number): number[] {
  return Array.from({ length: n }, (_, i) => (((i * 29 + salt * 7) % 17) - 8) / 16);
}

const f32 = (xs: number[]): number[] => Array.from(Float32Array.from(xs));

/** float64 matmul of f32-rounded inputs: a (batch, M, K) @ b (batch|1, K, N). */
function refMatmul(a: number[], b: number[], batch: number, M: number, K: number, N: number, bBatched: boolean): number[] {
  const A = f32(a), B = f32(b);
  const out = new Array<number>(batch * M * N).fill(0);
  for (let t = 0; t < batch; t++) {
    const bo = bBatched ? t * K * N : 0;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A[t * M * K + i * K + k] * B[bo + k * N + j];
        out[t * M * N + i * N + j] = s;
      }
    }
  }
  return out;
}

async function read(t: Tensor): Promise<number[]> {
  try {
    return Array.from(await t.toArray());
  } finally {
    t.dispose();
  }
}

// ---------------------------------------------------------------- the suite

export async function runSuite(): Promise<SuiteResult> {
  const t0 = performance.now();
  const cases: SuiteCase[] = [];
  const push = async (name: string, t: Tensor, exact: boolean, extra: Partial<SuiteCase> = {}) => {
    const shape = [...t.shape];
    cases.push({ name, values: await read(t), exact, shape, ...extra });
  };

  // --- matmul: an awkward 2-D shape (not a multiple of any tile size)
  {
    const [M, K, N] = [67, 45, 33];
    const a = wave(M * K, 1), b = wave(K * N, 2);
    const c = scope(() => matmul(tensor(a, [M, K]), tensor(b, [K, N])));
    await push('matmul 67x45@45x33', c, false, { reference: refMatmul(a, b, 1, M, K, N, false) });
  }
  // --- matmul with dyadic inputs: every partial sum is exact, so summation order and FMA
  //     cannot matter and the two adapters must agree bit for bit
  {
    const [M, K, N] = [67, 45, 33];
    const a = dyadic(M * K, 3), b = dyadic(K * N, 4);
    const c = scope(() => matmul(tensor(a, [M, K]), tensor(b, [K, N])));
    await push('matmul dyadic (exact)', c, true, { reference: refMatmul(a, b, 1, M, K, N, false), referenceExact: true });
  }
  // --- batched matmul (3 x 17x29 @ 3 x 29x21) and batch-broadcast (3 x 17x29 @ 29x21)
  {
    const [T, M, K, N] = [3, 17, 29, 21];
    const a = wave(T * M * K, 5), b = wave(T * K * N, 6), b1 = wave(K * N, 7);
    const c = scope(() => matmul(tensor(a, [T, M, K]), tensor(b, [T, K, N])));
    await push('matmul batched 3x17x29@3x29x21', c, false, { reference: refMatmul(a, b, T, M, K, N, true) });
    const d = scope(() => matmul(tensor(a, [T, M, K]), tensor(b1, [K, N])));
    await push('matmul broadcast 3x17x29@29x21', d, false, { reference: refMatmul(a, b1, T, M, K, N, false) });
  }
  // --- matmul with transposes: a^T @ b^T, a stored (K, M), b stored (N, K)
  {
    const [M, K, N] = [19, 70, 23];
    const at = wave(K * M, 8), bt = wave(N * K, 9);
    const c = scope(() => matmul(tensor(at, [K, M]), tensor(bt, [N, K]), { transA: true, transB: true }));
    // reference: transpose on the CPU, then the plain product
    const a = Array.from({ length: M * K }, (_, i) => at[(i % K) * M + Math.floor(i / K)]);
    const b = Array.from({ length: K * N }, (_, i) => bt[(i % N) * K + Math.floor(i / N)]);
    await push('matmul transA transB 19x70@70x23', c, false, { reference: refMatmul(a, b, 1, M, K, N, false) });
  }

  // --- reductions
  {
    const x = wave(13 * 57 * 7, 10);
    const big = wave(5 * 1000, 11); // R >= 256 with few outputs: the workgroup reduction kernel
    const r = scope(() => {
      const t = tensor(x, [13, 57, 7]);
      const tb = tensor(big, [5, 1000]);
      return {
        sumAxis1: sum(t, 1),
        sumAll: sum(t),
        sumWide: sum(tb, 1),
        maxLast: max(t, -1),
        maxAxes02: max(t, [0, 2]),
        lse0: logsumexp(t, 0),
        lseWide: logsumexp(tb, -1),
      };
    });
    await push('sum axis 1 [13,57,7]', r.sumAxis1, false);
    await push('sum all [13,57,7]', r.sumAll, false);
    await push('sum axis 1 [5,1000] (workgroup)', r.sumWide, false);
    await push('max axis -1 [13,57,7]', r.maxLast, true); // max is exact: no rounding anywhere
    await push('max axes [0,2] [13,57,7]', r.maxAxes02, true);
    await push('logsumexp axis 0 [13,57,7]', r.lse0, false);
    await push('logsumexp axis -1 [5,1000]', r.lseWide, false);
  }

  // --- elementwise chain with backward: y = sum(tanh(x * w + b)^2), broadcasting w and b
  {
    const [R, C] = [24, 40];
    const xv = wave(R * C, 12), wv = wave(C, 13).map((v) => 1.5 * v), bv = wave(R, 14).map((v) => 0.5 * v);
    const { x, w, b, y } = scope(() => {
      const x = tensor(xv, [R, C]);
      const w = tensor(wv, [C]);
      const b = tensor(bv, [R, 1]);
      x.requiresGrad = w.requiresGrad = b.requiresGrad = true;
      const y = sum(square(tanh(add(mul(x, w), b))));
      backward(y);
      return { x, w, b, y };
    });
    // float64 reference of y and its gradients
    const X = f32(xv), W = f32(wv), B = f32(bv);
    let yRef = 0;
    const gx = new Array<number>(R * C), gw = new Array<number>(C).fill(0), gb = new Array<number>(R).fill(0);
    for (let i = 0; i < R; i++) {
      for (let j = 0; j < C; j++) {
        const th = Math.tanh(X[i * C + j] * W[j] + B[i]);
        yRef += th * th;
        const d = 2 * th * (1 - th * th); // d(th^2)/d(pre-activation)
        gx[i * C + j] = d * W[j];
        gw[j] += d * X[i * C + j];
        gb[i] += d;
      }
    }
    await push('chain y=sum(tanh(x*w+b)^2)', y, false, { reference: [yRef] });
    await push('chain grad x', x.grad!, false, { reference: gx });
    await push('chain grad w', w.grad!, false, { reference: gw });
    await push('chain grad b', b.grad!, false, { reference: gb });
    x.dispose(); w.dispose(); b.dispose();
  }

  // --- random: a counter-based stream is a pure function of (seed, offset), so bits and
  //     uniforms on [0, 1) must be identical everywhere (and equal to the CPU Philox)
  {
    const seed = 20240611, offset = 77;
    const gen = new Generator(seed);
    gen.setState({ seed, offset });
    const cpu = new Generator(seed);
    cpu.setState({ seed, offset });
    await push('randomBits seed/offset', randomBits([1003], gen), true, { reference: Array.from(cpu.bitsCpu(1003)), referenceExact: true });
    // the generator advanced by ceil(1003/4) blocks: the next draw continues the same stream
    const uBits = Array.from(cpu.bitsCpu(517));
    await push('rand [0,1) continued stream', rand([517], 0, 1, gen), true, {
      reference: uBits.map((u) => (u >>> 8) / 16777216), referenceExact: true,
    });
    // the same stream with a key above 2^32 (the 64-bit seed path)
    const gen64 = new Generator(2 ** 40 + 12345);
    gen64.setState({ seed: 2 ** 40 + 12345, offset: 2 ** 32 - 3 }); // the counter carries into the high word
    const cpu64 = new Generator(2 ** 40 + 12345);
    cpu64.setState({ seed: 2 ** 40 + 12345, offset: 2 ** 32 - 3 });
    await push('randomBits 64-bit seed, offset carry', randomBits([64], gen64), true, { reference: Array.from(cpu64.bitsCpu(64)), referenceExact: true });
    // dropout: comparisons of exact uniforms, so exact
    await push('dropoutMask p=0.3', dropoutMask([300], 0.3, gen), true);
    cpu.bitsCpu(300);
    // uniform on [-2, 3): u * 5 - 2 may be fused (FMA) on one adapter and not the other
    await push('rand [-2,3)', rand([256], -2, 3, gen), false);
    cpu.bitsCpu(256);
    // normal (Box-Muller): log/sqrt/sin/cos differ in precision between adapters
    const nBits = Array.from(cpu.bitsCpu(400));
    const nRef: number[] = [];
    for (let j = 0; j < 100; j++) {
      const r = nBits.slice(4 * j, 4 * j + 4);
      const unit = (u: number) => (u >>> 8) / 16777216;
      for (const [ui, vi] of [[0, 1], [2, 3]]) {
        const rad = Math.sqrt(-2 * Math.log(unit(r[ui]) + 1 / 16777216));
        const th = 2 * Math.PI * unit(r[vi]) - Math.PI;
        nRef.push(0.5 + 2 * rad * Math.cos(th), 0.5 + 2 * rad * Math.sin(th));
      }
    }
    await push('randn mean 0.5 std 2', randn([400], 0.5, 2, gen), false, { reference: nRef });
  }

  const dev = getDevice();
  return { adapter: dev.adapter.name, isCpu: dev.adapter.isCpu, cases, ms: performance.now() - t0 };
}
