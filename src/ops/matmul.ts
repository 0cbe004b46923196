/**
 * Batched matrix multiplication: C = op(A) @ op(B), op = identity or transpose.
 *
 *   a: (..., M, K)  or (..., K, M) with transA
 *   b: (..., K, N)  or (..., N, K) with transB
 *   out: (..., M, N); leading (batch) dimensions broadcast as in numpy.
 *
 * The kernel comes from the lab in shaders/matmul.ts (numbered versions, each tested against
 * the CPU reference); `selectMatmulVariants()` ranks them for the adapter at hand, fastest
 * first, and each call uses the fastest version that supports its shape.
 *
 * Backward (g = dL/dC, shapes as above):
 *   d op(A) = g @ op(B)^T      d op(B) = op(A)^T @ g
 * expressed as matmuls with transpose flags, so no transpose is ever materialized.
 */
import { record } from '../autograd/tape.js';
import { getDevice, hasSubgroups } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import { Tensor } from '../tensor/tensor.js';
import { broadcastShapes, nd, type NdArray } from '../tensor/ndarray.js';
import { matmulVariants, type MatmulVariant } from '../../shaders/matmul.js';
import { add } from './elementwise.js';
import { requireF32 } from '../tensor/kernel.js';
import { sumTo } from './reduce.js';
import { broadcastTo, reshape } from './shape.js';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/**
 * Versions in order of preference (autotune reorders them); the general (all-shapes) ones
 * stay as fallbacks. Before tuning: the lab's measured order on lavapipe, fast paths first.
 * This is dispatch policy; the versions themselves (name, idea, generator config) are the
 * table `matmulVariants` in shaders/matmul.ts, their WGSL in shaders/generated/matmul/.
 */
const MEASURED_ORDER = [
  'v17-rows-16x4',
  'v18-rows-16x8',
  'v19-rows-32x4',
  'v15-rows-8x4',
  'v16-rows-8x8',
  'v9-reg8x8-vec4-wg4x4',
  'v8-reg8x8-vec4',
  'v7-reg8x4-vec4',
  'v6-reg4x4-vec4',
  'v4-reg8x4',
  'v3-reg4x4',
  'v5-reg8x4-unroll4',
  'v1-naive',
  'v2-tiled-shared',
];
/**
 * The versions the autotune times: all of the above but the teaching kernels and v5, which are
 * never the fastest here and cost a fresh machine a minute to time (the lab's dead ends, v10-v14,
 * are not in the list at all). They stay in the ranking as fallbacks.
 */
export const TUNED_VERSIONS: readonly string[] = MEASURED_ORDER.filter(
  (n) => !['v1-naive', 'v2-tiled-shared', 'v5-reg8x4-unroll4'].includes(n),
);
let ranking: MatmulVariant[] = defaultRanking();

function defaultRanking(): MatmulVariant[] {
  const rank = (v: MatmulVariant) =>
    MEASURED_ORDER.includes(v.name) ? MEASURED_ORDER.indexOf(v.name) : MEASURED_ORDER.length;
  return [...matmulVariants].sort((a, b) => rank(a) - rank(b));
}

export function matmulRanking(): readonly MatmulVariant[] {
  return ranking;
}

export function setMatmulRanking(names: readonly string[]): void {
  const byName = new Map(matmulVariants.map((v) => [v.name, v]));
  const chosen = names.map((n) => {
    const v = byName.get(n);
    if (!v)
      throw new Error(`matmul: unknown kernel version '${n}' (known: ${[...byName.keys()].join(', ')})`);
    return v;
  });
  ranking = [...chosen, ...defaultRanking().filter((v) => !chosen.includes(v))];
}

/** Whether the device can run `v` (versions built on subgroups need them, and wide enough). */
export function runsHere(v: MatmulVariant): boolean {
  return !v.minSubgroupSize || hasSubgroups(v.minSubgroupSize);
}

export function pickVariant(M: number, N: number, K: number, force?: string): MatmulVariant {
  if (force) {
    const v = matmulVariants.find((x) => x.name === force);
    if (!v) throw new Error(`matmul: unknown kernel version '${force}'`);
    if (v.supports && !v.supports(M, N, K))
      throw new Error(`matmul: version '${force}' does not support ${M}x${K} @ ${K}x${N}`);
    if (!runsHere(v))
      throw new Error(
        `matmul: version '${force}' needs subgroups of at least ${v.minSubgroupSize} lanes; this device has ${getDevice().adapter.subgroupMinSize || 'no subgroups'}`,
      );
    return v;
  }
  const v = ranking.find((x) => runsHere(x) && (!x.supports || x.supports(M, N, K)));
  if (!v) throw new Error(`matmul: no kernel version supports ${M}x${K} @ ${K}x${N}`);
  return v;
}

function matrixDims(t: Tensor, trans: boolean, which: string): [number, number] {
  if (t.rank < 2)
    throw new RangeError(
      `matmul: ${which} must have at least 2 dimensions, got [${t.shape}] (reshape a vector to [1, n] or [n, 1])`,
    );
  const r = t.shape[t.rank - 2],
    c = t.shape[t.rank - 1];
  return trans ? [c, r] : [r, c];
}

/** The raw kernel launch (no autograd): `version` forces a kernel version (tests, benchmarks). */
export function matmulKernel(a: Tensor, b: Tensor, opts: MatmulOptions = {}, version?: string): Tensor {
  requireF32('matmul', a, b);
  const transA = !!opts.transA,
    transB = !!opts.transB;
  const [M, K] = matrixDims(a, transA, 'a');
  const [K2, N] = matrixDims(b, transB, 'b');
  if (K !== K2) {
    throw new RangeError(
      `matmul: inner dimensions differ: a [${a.shape}]${transA ? 'ᵀ' : ''} has K=${K}, b [${b.shape}]${transB ? 'ᵀ' : ''} has K=${K2}`,
    );
  }
  const batchA = a.shape.slice(0, -2),
    batchB = b.shape.slice(0, -2);
  const batchShape = broadcastShapes([batchA, batchB], 'matmul (batch dimensions)');
  const batch = batchShape.reduce((x, y) => x * y, 1);
  // Each operand either has the full batch (stride = one matrix) or a single matrix (stride 0);
  // any other broadcast (e.g. [2,1] against [1,3]) is materialized first.
  const operand = (t: Tensor, own: readonly number[]): [Tensor, number] => {
    const n = own.reduce((x, y) => x * y, 1);
    if (n === 1) return [t, 0];
    if (own.length === batchShape.length && own.every((d, i) => d === batchShape[i]))
      return [t, t.shape.at(-1)! * t.shape.at(-2)!];
    const full = broadcastTo(t, [...batchShape, ...t.shape.slice(-2)]);
    return [full, t.shape.at(-1)! * t.shape.at(-2)!];
  };
  const [A, strideA] = operand(a, batchA);
  const [B, strideB] = operand(b, batchB);
  const out = Tensor.empty([...batchShape, M, N]);
  if (out.size > 0) {
    if (K === 0)
      throw new RangeError(
        `matmul: K = 0 (a [${a.shape}], b [${b.shape}]): use zeros() for an empty product`,
      );
    const v = pickVariant(M, N, K, version);
    const params = new Params()
      .u32(M)
      .u32(N)
      .u32(K)
      .u32(batch)
      .u32(strideA)
      .u32(strideB)
      .u32(M * N)
      .u32(0)
      .bytes();
    const key = `matmul:${v.name}:${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;
    getDevice().dispatch(
      { key, code: () => v.code({ transA, transB }) },
      params,
      [A.binding(), B.binding(), out.binding()],
      v.workgroups(M, N, batch),
    );
  }
  if (A !== a) A.dispose();
  if (B !== b) B.dispose();
  return out;
}

export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = !!opts.transA,
    transB = !!opts.transB;
  const out = matmulKernel(a, b, opts);
  return record(out, 'matmul', [a, b], (g) => [
    a.requiresGrad
      ? sumTo(
          transA ? matmul(b, g, { transA: transB, transB: true }) : matmul(g, b, { transB: !transB }),
          a.shape,
        )
      : null,
    b.requiresGrad
      ? sumTo(
          transB ? matmul(g, a, { transA: true, transB: transA }) : matmul(a, g, { transA: !transA }),
          b.shape,
        )
      : null,
  ]);
}

/** x @ w^T + bias, the fully connected layer (w is (out, in), as in PyTorch). */
export function linear(x: Tensor, w: Tensor, bias?: Tensor): Tensor {
  const shape = x.shape;
  const x2 = reshape(x, [-1, shape[shape.length - 1]]);
  let y = matmul(x2, w, { transB: true });
  if (bias) y = add(y, bias);
  return reshape(y, [...shape.slice(0, -1), w.shape[0]]);
}

// ---------------------------------------------------------------- CPU reference (float64)

export const reference = {
  /** Plain triple loop over 2-D or 3-D arrays; a 2-D operand (or batch 1) is shared by every batch. */
  matmul(a: NdArray, b: NdArray, opts: MatmulOptions = {}): NdArray {
    const aBatch = a.shape.length === 3 ? a.shape[0] : 1;
    const bBatch = b.shape.length === 3 ? b.shape[0] : 1;
    const batched = a.shape.length === 3 || b.shape.length === 3;
    const batch = Math.max(aBatch, bBatch);
    const [ra, ca] = a.shape.slice(-2),
      [rb, cb] = b.shape.slice(-2);
    const [M, K] = opts.transA ? [ca, ra] : [ra, ca];
    const N = opts.transB ? rb : cb;
    const out = nd(batched ? [batch, M, N] : [M, N]);
    for (let p = 0; p < batch; p++) {
      const ao = (aBatch === 1 ? 0 : p) * ra * ca,
        bo = (bBatch === 1 ? 0 : p) * rb * cb;
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) {
            const av = opts.transA ? a.data[ao + k * ca + i] : a.data[ao + i * ca + k];
            const bv = opts.transB ? b.data[bo + j * cb + k] : b.data[bo + k * cb + j];
            s += av * bv;
          }
          out.data[p * M * N + i * N + j] = s;
        }
    }
    return out;
  },
};
