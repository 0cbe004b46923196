/**
 * Matmul kernel lab.
 *
 * In the spirit of llm.c's dev/cuda and gpu.cpp's numbered matmul versions, this file holds a
 * ladder of numbered WGSL kernels for the same job, from the obvious one to the fastest we found,
 * each with a one-line note on its idea. bench/matmul-lab.ts checks every variant against a CPU
 * reference (all four transpose combinations, awkward sizes, batch and broadcast) and times it.
 *
 * The job: for b in [0, batch), C[b] = op(A[b]) @ op(B[b]), with
 *   op(A) M x K (A stored M x K row-major, or K x M when transA),
 *   op(B) K x N (B stored K x N row-major, or N x K when transB),
 *   C     M x N row-major,
 * and A[b] at element offset b * strideA (strideA = 0 broadcasts A over the batch), likewise B, C.
 * Transposes are compile-time: code(opts) emits different WGSL text per combination.
 *
 * The version table is `matmulVariants` at the end of this file; every version's text, per
 * transpose combination, is committed in shaders/generated/matmul/ (`npm run gen:shaders`), and
 * `npx tsx bench/matmul-lab.ts --print=v7` prints one. The engine's order of preference is
 * MEASURED_ORDER in src/ops/matmul.ts (dispatch policy, reordered by autotuning).
 *
 * Every module uses the same bindings (see header()) and entry point `main`; the batch index
 * is workgroup_id.z.
 *
 * What the numbers say about the machine this lab was tuned on (Mesa lavapipe 25.0 on 2 AMD EPYC
 * cores; an "invocation" is one lane of an 8-wide AVX2 SIMD vector, so every per-lane load is a
 * gather): workgroup memory + barriers lose badly (v2 is slower than naive), and what wins is
 * register blocking, where each invocation keeps a tile of C in registers and reuses every loaded
 * value many times. Bigger tiles (8x8) and vec4 loads along each operand's contiguous axis help;
 * unrolling the K loop by hand and 16-lane vectors (LP_NATIVE_VECTOR_WIDTH=512) hurt; workgroup
 * shape matters little. bench/matmul-lab.ts prints the measured table.
 *
 * The generated code says why (MESA_SHADER_CACHE_DISABLE=true GALLIVM_DEBUG=asm on the lab,
 * Mesa 25.0): a storage-buffer load is done lane by lane (exec-mask test, bounds check, scalar
 * load, insert: about 10 instructions a float) unless its offset is a constant; lavapipe does
 * not see that an offset built from workgroup_id or the loop counter is the same in every lane.
 * FMAs cost two instructions per 8 lanes (vmulps + vaddps). So the only lever is loads per
 * FMA, and the best trick is to load each value of A once per subgroup and hand it to the 8
 * lanes with subgroupBroadcast (v15-v19, 2-3x the register-blocked versions).
 */

import { enableSubgroups, SUBGROUP_LANES } from './common.js';

export interface MatmulOptions {
  transA: boolean;
  transB: boolean;
} // C = op(A) @ op(B)

export interface MatmulVariant {
  name: string; // 'v1-naive', 'v2-...' etc, numbered
  about: string; // one line: what the idea is
  code(opts: MatmulOptions): string; // complete WGSL module, entry point 'main'
  workgroups(M: number, N: number, batch: number): [number, number, number];
  supports?(M: number, N: number, K: number): boolean; // absent = all sizes
  config?: RegBlockConfig; // the generator's knobs (register-blocked versions)
  /** Lanes a subgroup must have at least (the WGSL enables subgroups); absent = no subgroups. */
  minSubgroupSize?: number;
}

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** Uniform params and the four bindings; A and B may be bound as vec4 arrays by fast paths. */
function header(elemA: 'f32' | 'vec4<f32>' = 'f32', elemB: 'f32' | 'vec4<f32>' = 'f32'): string {
  return /* wgsl */ `
struct Params { M: u32, N: u32, K: u32, batch: u32, strideA: u32, strideB: u32, strideC: u32, pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<${elemA}>;
@group(0) @binding(2) var<storage, read> B: array<${elemB}>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
`;
}

// ---------------------------------------------------------------------------------------------
// Index helpers: the only place that knows about transposes.
// Element offsets (without the batch offset) of op(A)[row, k] and op(B)[k, col].
// ---------------------------------------------------------------------------------------------

export function idxA(o: MatmulOptions, row: string, k: string): string {
  return o.transA ? `(${k}) * p.M + (${row})` : `(${row}) * p.K + (${k})`;
}
export function idxB(o: MatmulOptions, k: string, col: string): string {
  return o.transB ? `(${col}) * p.K + (${k})` : `(${k}) * p.N + (${col})`;
}
/** Stride (in elements) between op(A)[row, k] and op(A)[row, k+1]; likewise for B. */
const kStepA = (o: MatmulOptions) => (o.transA ? 'p.M' : '1u');
const kStepB = (o: MatmulOptions) => (o.transB ? '1u' : 'p.N');

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const lines = (xs: string[], indent = '  ') => xs.map((x) => indent + x).join('\n');

/**
 * The workgroup's TM rows of A at k..k+3 as vec4 loads (along K per row, or along M per k when
 * transA; A bound as vec4s from a0), and the WGSL name of element (row i, k + kk).
 */
function rowsOfA(
  TM: number,
  o: MatmulOptions,
  kVec = 'k / 4u', // the vec4 index of k along a row (!transA)
): { loads: string[]; at: (i: number, kk: number) => string } {
  const loads = o.transA
    ? range(4).flatMap((kk) =>
        range(TM / 4).map((q) => `let x${kk}_${q} = A[a0 + (k + ${kk}u) * mq + ${q}u];`),
      )
    : range(TM).map((i) => `let x${i} = A[a0 + ${i}u * kq + ${kVec}];`);
  const at = (i: number, kk: number) => (o.transA ? `x${kk}_${i >> 2}[${i & 3}]` : `x${i}[${kk}]`);
  return { loads, at };
}

// ---------------------------------------------------------------------------------------------
// v1: naive. One invocation per output element, scalar loads, K loop.
// ---------------------------------------------------------------------------------------------
const naive: MatmulVariant = {
  name: 'v1-naive',
  about: 'one invocation per output, 16x16 workgroups, straight K loop',
  code: (o) => `${header()}
@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let col = g.x; let row = g.y; let b = g.z;
  if (row >= p.M || col >= p.N) { return; }
  let aOff = b * p.strideA; let bOff = b * p.strideB;
  var acc = 0.0;
  for (var k = 0u; k < p.K; k++) {
    acc = fma(A[aOff + ${idxA(o, 'row', 'k')}], B[bOff + ${idxB(o, 'k', 'col')}], acc);
  }
  C[b * p.strideC + row * p.N + col] = acc;
}`,
  workgroups: (M, N, batch) => [ceilDiv(N, 16), ceilDiv(M, 16), batch],
};

// ---------------------------------------------------------------------------------------------
// v2: the classic GPU kernel. 16x16 tiles of A and B staged in workgroup memory, two barriers per
// K tile. Great on real GPUs, poor on a CPU driver where workgroup memory and barriers are costly.
// ---------------------------------------------------------------------------------------------
const tiledShared: MatmulVariant = {
  name: 'v2-tiled-shared',
  about: 'classic 16x16 workgroup-memory tiling, one output per invocation, barriers per K tile',
  code: (o) => `${header()}
var<workgroup> As: array<array<f32, 16>, 16>;   // [row][k]
var<workgroup> Bs: array<array<f32, 16>, 16>;   // [k][col]
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let b = wid.z;
  let row = wid.y * 16u + lid.y; let col = wid.x * 16u + lid.x;
  let aOff = b * p.strideA; let bOff = b * p.strideB;
  let rowC = min(row, p.M - 1u); let colC = min(col, p.N - 1u);   // clamped: loads stay in range
  var acc = 0.0;
  for (var t = 0u; t < p.K; t += 16u) {
    let ka = t + lid.x; let kb = t + lid.y;
    As[lid.y][lid.x] = select(0.0, A[aOff + ${idxA(o, 'rowC', 'min(ka, p.K - 1u)')}], ka < p.K);
    Bs[lid.y][lid.x] = select(0.0, B[bOff + ${idxB(o, 'min(kb, p.K - 1u)', 'colC')}], kb < p.K);
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) { acc = fma(As[lid.y][kk], Bs[kk][lid.x], acc); }
    workgroupBarrier();
  }
  if (row < p.M && col < p.N) { C[b * p.strideC + row * p.N + col] = acc; }
}`,
  workgroups: (M, N, batch) => [ceilDiv(N, 16), ceilDiv(M, 16), batch],
};

// ---------------------------------------------------------------------------------------------
// v3+: register blocking. Each invocation computes a TM x TN tile of C in registers, so every
// loaded A value is reused TN times and every B value TM times. One generator, many knobs:
//
//   TM, TN       output tile per invocation
//   WX, WY       workgroup size; the tile of invocation (x, y) is rows (wid.y*WY + y)*TM..,
//                cols (wid.x*WX + x)*TN... With WY = 1 the rows depend on the workgroup id
//                only, so A loads are workgroup-uniform (a driver may load once and broadcast;
//                on lavapipe this made no measurable difference).
//   vec4         fast path: A and B bound as array<vec4<f32>>, K stepped by 4, every load a
//                vec4 along the operand's contiguous axis; no bounds checks. Needs M, N, K
//                multiples of 4 and M % TM == 0, N % TN == 0 (see supports()).
//   unrollK      general path only: K loop unrolled by this factor, with a scalar tail.
// ---------------------------------------------------------------------------------------------
export interface RegBlockConfig {
  TM: number;
  TN: number;
  WX: number;
  WY: number;
  vec4?: boolean;
  unrollK?: number;
}

function regBlockGeneral(c: RegBlockConfig, o: MatmulOptions): string {
  const { TM, TN, WX, WY } = c;
  const U = c.unrollK ?? 1;
  const I = range(TM),
    J = range(TN);
  // Clamped row/col indices keep every load in range; out-of-range results are simply not stored.
  const setup = [
    ...I.map((i) => `let a${i} = aOff + ${idxA(o, `min(r0 + ${i}u, p.M - 1u)`, '0u')};`),
    ...J.map((j) => `let b${j} = bOff + ${idxB(o, '0u', `min(c0 + ${j}u, p.N - 1u)`)};`),
    `let sA = ${kStepA(o)}; let sB = ${kStepB(o)};`,
    ...I.flatMap((i) => J.map((j) => `var c${i}_${j} = 0.0;`)),
  ];
  const step = (k: string) => [
    `{ let kA = (${k}) * sA; let kB = (${k}) * sB;`,
    ...I.map((i) => `  let x${i} = A[a${i} + kA];`),
    ...J.map((j) => `  let y${j} = B[b${j} + kB];`),
    ...I.flatMap((i) => J.map((j) => `  c${i}_${j} = fma(x${i}, y${j}, c${i}_${j});`)),
    '}',
  ];
  const loop =
    U > 1
      ? [
          `var k = 0u;`,
          `for (; k + ${U - 1}u < p.K; k += ${U}u) {`,
          lines(range(U).flatMap((u) => step(`k + ${u}u`))),
          `}`,
          `for (; k < p.K; k++) {`,
          lines(step('k')),
          `}`,
        ]
      : [`for (var k = 0u; k < p.K; k++) {`, lines(step('k')), `}`];
  const store = I.flatMap((i) =>
    J.map(
      (j) =>
        `if (r0 + ${i}u < p.M && c0 + ${j}u < p.N) { C[cOff + (r0 + ${i}u) * p.N + c0 + ${j}u] = c${i}_${j}; }`,
    ),
  );
  return `${header()}
${tileEntry(c)}
${lines(setup)}
${lines(loop)}
${lines(store)}
}`;
}

/**
 * The entry point shared by the register-blocked kernels: invocation (lid) of workgroup (wid)
 * owns the TM x TN output tile at row r0, column c0 of batch b; a0/b0/cOff are batch offsets.
 */
function tileEntry(c: RegBlockConfig): string {
  const { TM, TN, WX, WY } = c;
  return `@compute @workgroup_size(${WX}, ${WY})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let b = wid.z;
  let r0 = (wid.y * ${WY}u + lid.y) * ${TM}u;
  let c0 = (wid.x * ${WX}u + lid.x) * ${TN}u;
  if (r0 >= p.M || c0 >= p.N) { return; }
  let aOff = b * p.strideA; let bOff = b * p.strideB; let cOff = b * p.strideC;`;
}

function regBlockVec4(c: RegBlockConfig, o: MatmulOptions): string {
  const { TM, TN, WX, WY } = c;
  const I = range(TM),
    J = range(TN),
    KK = range(4);
  // Per K step of 4 we load: A as vec4 along K (!transA, one per row) or along M (transA, TM/4
  // per k); B as vec4 along N (!transB, TN/4 per k) or along K (transB, one per column).
  // aEl(i, kk) / bEl(kk, j) name the scalar op(A)[r0+i, k+kk] / op(B)[k+kk, c0+j].
  const { loads: loadsA, at: aEl } = rowsOfA(TM, o, 'kq4');
  const loadsB = o.transB
    ? J.map((j) => `let y${j} = B[b0 + ${j}u * kq + kq4];`)
    : KK.flatMap((kk) => range(TN / 4).map((q) => `let y${kk}_${q} = B[b0 + (k + ${kk}u) * nq + ${q}u];`));
  const bEl = (kk: number, j: number) => (o.transB ? `y${j}[${kk}]` : `y${kk}_${j >> 2}[${j & 3}]`);
  // vec4 base offsets: (element offset) / 4; all offsets are multiples of 4 under supports().
  const a0 = o.transA ? `(aOff + r0) / 4u` : `(aOff + r0 * p.K) / 4u`;
  const b0 = o.transB ? `(bOff + c0 * p.K) / 4u` : `(bOff + c0) / 4u`;
  const fmas = KK.flatMap((kk) =>
    I.flatMap((i) => J.map((j) => `c${i}_${j} = fma(${aEl(i, kk)}, ${bEl(kk, j)}, c${i}_${j});`)),
  );
  const store = I.flatMap((i) => J.map((j) => `C[cOff + (r0 + ${i}u) * p.N + c0 + ${j}u] = c${i}_${j};`));
  return `${header('vec4<f32>', 'vec4<f32>')}
${tileEntry(c)}
  let kq = p.K / 4u; let mq = p.M / 4u; let nq = p.N / 4u;
  let a0 = ${a0}; let b0 = ${b0};
${lines(I.flatMap((i) => J.map((j) => `var c${i}_${j} = 0.0;`)))}
  for (var k = 0u; k < p.K; k += 4u) {
    let kq4 = k / 4u;
${lines([...loadsA, ...loadsB, ...fmas], '    ')}
  }
${lines(store)}
}`;
}

/** Build a register-blocked variant (exported so the lab can sweep configurations). */
export function regBlocked(name: string, about: string, c: RegBlockConfig): MatmulVariant {
  const v: MatmulVariant = {
    name,
    about,
    config: c,
    code: (o) => (c.vec4 ? regBlockVec4(c, o) : regBlockGeneral(c, o)),
    workgroups: (M, N, batch) => [ceilDiv(N, c.TN * c.WX), ceilDiv(M, c.TM * c.WY), batch],
  };
  if (c.vec4) {
    if (c.TM % 4 || c.TN % 4) throw new Error('vec4 path needs TM, TN multiples of 4');
    v.supports = (M, N, K) => M % 4 === 0 && N % 4 === 0 && K % 4 === 0 && M % c.TM === 0 && N % c.TN === 0;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// v10+: lanes. The register-blocked kernels above give each invocation a block of TN adjacent
// columns, so neighbouring invocations (= neighbouring SIMD lanes on lavapipe) read B words
// TN apart: every B load is a gather. Here the columns are interleaved instead: lane x of a
// workgroup of WX owns columns c0 + x + WX j (j < TN), so for each k the WX lanes read WX
// neighbouring words of B (one vector load when !transB) and store neighbouring words of C;
// the TM rows of a tile are the same for the whole workgroup, so A is read with uniform vec4
// loads (along K, or along M when transA), meant to be done once per workgroup and broadcast.
// It is a CPU's SIMD matmul (broadcast A, vector B, outer-product FMAs) written as a shader.
// What lavapipe makes of it (see v12+ below): neither hope holds; every load is lane by lane.
// No bounds checks: M % TM == 0, N % (WX TN) == 0, K % 4 == 0 (and M % 4 with transA).
// ---------------------------------------------------------------------------------------------
export interface LanesConfig {
  TM: number;
  TN: number;
  WX: number;
}

function lanesCode(c: LanesConfig, o: MatmulOptions): string {
  const { TM, TN, WX } = c;
  const I = range(TM),
    J = range(TN),
    KK = range(4);
  if (TM % 4) throw new Error('lanes: TM must be a multiple of 4');
  // A[r0 + i, k + kk] as uniform vec4s (rowsOfA)
  const { loads: loadsA, at: aEl } = rowsOfA(TM, o);
  const bIdx = (kk: number, j: number) =>
    o.transB ? `b0 + ${j * WX}u * p.K + k + ${kk}u` : `b0 + (k + ${kk}u) * p.N + ${j * WX}u`;
  const step = KK.flatMap((kk) => [
    ...J.map((j) => `let y${kk}_${j} = B[${bIdx(kk, j)}];`),
    ...I.flatMap((i) => J.map((j) => `c${i}_${j} = fma(${aEl(i, kk)}, y${kk}_${j}, c${i}_${j});`)),
  ]);
  const a0 = o.transA ? `(aOff + r0) / 4u` : `(aOff + r0 * p.K) / 4u`;
  const b0 = o.transB ? `bOff + col * p.K` : `bOff + col`;
  return `${header('vec4<f32>', 'f32')}
@compute @workgroup_size(${WX})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let b = wid.z;
  let r0 = wid.y * ${TM}u;                          // the workgroup's TM rows (uniform)
  let col = wid.x * ${WX * TN}u + lid.x;            // this lane's first column; then + ${WX} j
  let aOff = b * p.strideA; let bOff = b * p.strideB; let cOff = b * p.strideC;
  let kq = p.K / 4u; let mq = p.M / 4u;
  let a0 = ${a0}; let b0 = ${b0};
${lines(I.flatMap((i) => J.map((j) => `var c${i}_${j} = 0.0;`)))}
  for (var k = 0u; k < p.K; k += 4u) {
${lines([...loadsA, ...step], '    ')}
  }
${lines(I.flatMap((i) => J.map((j) => `C[cOff + (r0 + ${i}u) * p.N + col + ${j * WX}u] = c${i}_${j};`)))}
}`;
}

/** A lanes variant (see above). */
export function lanes(name: string, about: string, c: LanesConfig): MatmulVariant {
  return {
    name,
    about,
    code: (o) => lanesCode(c, o),
    workgroups: (M, N, batch) => [ceilDiv(N, c.TN * c.WX), ceilDiv(M, c.TM), batch],
    supports: (M, N, K) => M % c.TM === 0 && M % 4 === 0 && N % (c.TN * c.WX) === 0 && K % 4 === 0,
  };
}

// ---------------------------------------------------------------------------------------------
// v12+ "broadcast": every load uniform. What lavapipe's generated code showed (GALLIVM_DEBUG=asm,
// Mesa 25.0): a storage-buffer load whose offset differs between lanes becomes a loop over the 8
// lanes, each with its own exec-mask branch, bounds-check branch, scalar load and insert (about
// 10 instructions per float), while a load whose offset is the same for every lane is one
// bounds-checked scalar load and a broadcast. FMAs are cheap (there are none: ffma becomes
// vmulps + vaddps), loads are everything. So here a workgroup is one SIMD batch (8 lanes), lane x
// owns column c0 + x of a TM x 8 tile, and the 8 columns' values of B are read with uniform vec4
// loads and dealt to the lanes by a chain of selects on the lane index (constant masks once the
// workgroup is 8 wide); A is read uniformly as in lanes. No bounds checks: M % TM == 0,
// N % 8 == 0, K % 4 == 0 (and M % 4 with transA).
// ---------------------------------------------------------------------------------------------
function broadcastCode(TM: number, o: MatmulOptions): string {
  const I = range(TM),
    L = range(8),
    KK = range(4);
  if (TM % 4) throw new Error('broadcast: TM must be a multiple of 4');
  const { loads: loadsA, at: aEl } = rowsOfA(TM, o);
  // B's 8 columns at k..k+3 as uniform vec4s: along N per k (!transB), along K per column (transB)
  const loadsB = o.transB
    ? L.map((l) => `let y${l} = B[b0 + ${l}u * kq + k / 4u];`)
    : KK.flatMap((kk) => [0, 1].map((h) => `let y${kk}_${h} = B[b0 + (k + ${kk}u) * nq + ${h}u];`));
  const bEl = (kk: number, l: number) => (o.transB ? `y${l}[${kk}]` : `y${kk}_${l >> 2}[${l & 3}]`);
  const deal = (kk: number) => [
    `var z${kk} = ${bEl(kk, 0)};`,
    ...range(7).map((l) => `z${kk} = select(z${kk}, ${bEl(kk, l + 1)}, is${l + 1});`),
  ];
  const step = KK.flatMap((kk) => [
    ...deal(kk),
    ...I.map((i) => `acc${i} = fma(${aEl(i, kk)}, z${kk}, acc${i});`),
  ]);
  const a0 = o.transA ? `(aOff + r0) / 4u` : `(aOff + r0 * p.K) / 4u`;
  const b0 = o.transB ? `(bOff + c0 * p.K) / 4u` : `(bOff + c0) / 4u`;
  return `${header('vec4<f32>', 'vec4<f32>')}
@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let b = wid.z;
  let r0 = wid.y * ${TM}u;                          // the workgroup's TM rows (uniform)
  let c0 = wid.x * 8u;                              // its 8 columns (uniform); this lane's: c0 + lid.x
  let aOff = b * p.strideA; let bOff = b * p.strideB; let cOff = b * p.strideC;
  let kq = p.K / 4u; let mq = p.M / 4u; let nq = p.N / 4u;
  let a0 = ${a0}; let b0 = ${b0};
${lines(range(7).map((l) => `let is${l + 1} = lid.x == ${l + 1}u;`))}
${lines(I.map((i) => `var acc${i} = 0.0;`))}
  for (var k = 0u; k < p.K; k += 4u) {
${lines([...loadsA, ...loadsB, ...step], '    ')}
  }
${lines(I.map((i) => `C[cOff + (r0 + ${i}u) * p.N + c0 + lid.x] = acc${i};`))}
}`;
}

/** A broadcast variant (see above). */
export function broadcast(name: string, about: string, TM: number): MatmulVariant {
  return {
    name,
    about,
    code: (o) => broadcastCode(TM, o),
    workgroups: (M, N, batch) => [ceilDiv(N, 8), ceilDiv(M, TM), batch],
    supports: (M, N, K) => M % TM === 0 && M % 4 === 0 && N % 8 === 0 && K % 4 === 0,
  };
}

// ---------------------------------------------------------------------------------------------
// v15+ "shared rows": lanes load different rows of A and trade them with subgroupBroadcast.
// The broadcast family above showed that lavapipe (Mesa 25.0) takes its uniform-load path only
// for offsets it can prove uniform without analysis (constants); every other load, even one the
// same for all lanes, is done lane by lane. So 8 lanes reading the same A value pay 8 loads.
// Here lane x of a subgroup of 8 reads row r0 + 8g + x of A (a vec4 along K), and each of the
// 8 rows is handed to every lane by subgroupBroadcast (an extract and a splat on a CPU): one
// load per 8 rows. Lane x owns 4 TN4 columns of B (vec4 loads), so the subgroup covers a
// TM x 32 TN4 tile of C. Needs the 'subgroups' feature and subgroups of at least 8 lanes.
// No bounds checks: M % TM == 0 (TM a multiple of 8), N % (32 TN4) == 0, K % 4 == 0.
// ---------------------------------------------------------------------------------------------
function sharedRowsCode(TM: number, TN4: number, o: MatmulOptions): string {
  if (TM % 8) throw new Error('shared rows: TM must be a multiple of 8');
  const G = range(TM / 8),
    I = range(TM),
    J = range(TN4),
    KK = range(4),
    L = range(8);
  // this lane's rows of A: vec4 along K (!transA) or one float per k (transA)
  const loadsA = o.transA
    ? G.flatMap((g) =>
        KK.map((kk) => `let a${g}_${kk} = A[aOff + (k + ${kk}u) * p.M + r0 + ${g * 8}u + sid];`),
      )
    : G.map((g) => `let a${g} = A[(aOff + (r0 + ${g * 8}u + sid) * p.K + k) / 4u];`);
  const aMine = (g: number, kk: number) => (o.transA ? `a${g}_${kk}` : `a${g}[${kk}]`);
  // this lane's 4 TN4 columns of B at k + kk: vec4 along N (!transB); along K per column (transB)
  const loadsB = o.transB
    ? J.flatMap((j) => KK.map((q) => `let b${j}_${q} = B[(bOff + (col + ${j * 4 + q}u) * p.K + k) / 4u];`))
    : J.flatMap((j) =>
        KK.map((kk) => `let b${j}_${kk} = B[(bOff + (k + ${kk}u) * p.N + col + ${j * 4}u) / 4u];`),
      );
  const bVec = (j: number, kk: number) =>
    o.transB ? `vec4f(b${j}_0[${kk}], b${j}_1[${kk}], b${j}_2[${kk}], b${j}_3[${kk}])` : `b${j}_${kk}`;
  const step = KK.flatMap((kk) => [
    ...J.map((j) => `let y${j}_${kk} = ${bVec(j, kk)};`),
    ...G.flatMap((g) =>
      L.flatMap((l) => {
        const i = g * 8 + l;
        return [
          `let x${i}_${kk} = subgroupBroadcast(${aMine(g, kk)}, ${l}u);`,
          ...J.map((j) => `acc${i}_${j} = fma(vec4f(x${i}_${kk}), y${j}_${kk}, acc${i}_${j});`),
        ];
      }),
    ),
  ]);
  return `${enableSubgroups(true)}${header(o.transA ? 'f32' : 'vec4<f32>', 'vec4<f32>')}
@compute @workgroup_size(8)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(subgroup_invocation_id) sid: u32, // the lane whose A rows the others receive
) {
  let b = wid.z;
  let r0 = wid.y * ${TM}u;                          // the subgroup's TM rows
  let col = wid.x * ${32 * TN4}u + lid.x * ${4 * TN4}u;  // this lane's first of ${4 * TN4} columns
  let aOff = b * p.strideA; let bOff = b * p.strideB; let cOff = b * p.strideC;
${lines(I.flatMap((i) => J.map((j) => `var acc${i}_${j} = vec4f(0.0);`)))}
  for (var k = 0u; k < p.K; k += 4u) {
${lines([...loadsA, ...loadsB, ...step], '    ')}
  }
${lines(I.flatMap((i) => J.flatMap((j) => range(4).map((q) => `C[cOff + (r0 + ${i}u) * p.N + col + ${j * 4 + q}u] = acc${i}_${j}[${q}];`))))}
}`;
}

/** A shared-rows variant (see above). */
export function sharedRows(name: string, about: string, TM: number, TN4: number): MatmulVariant {
  return {
    name,
    about,
    code: (o) => sharedRowsCode(TM, TN4, o),
    workgroups: (M, N, batch) => [ceilDiv(N, 32 * TN4), ceilDiv(M, TM), batch],
    supports: (M, N, K) => M % TM === 0 && N % (32 * TN4) === 0 && K % 4 === 0,
    minSubgroupSize: SUBGROUP_LANES,
  };
}

// The shared-rows versions, one run of bench/matmul-lab.ts --time-only with the generator's
// training stopped (host noisy; v4 ran at a third of its idle figure), GFLOPS at
// 256 / 512 / 1024 / 1024 NT / 1024 TN:
//   v4  4.2 4.0 4.2 4.6 5.6      v8  5.4 8.6 7.4 4.8 4.4
//   v15 11.3 11.7 12.4 12.6 9.9  v16 7.6 9.4 10.2 10.4 10.0  v17 11.1 14.9 14.8 12.6 11.0
//   v18 8.0 10.4 14.3 11.8 11.6  v19 8.9 12.2 13.4 13.7 13.3
// and in an earlier run of the same kind: v4 5.0 5.3 7.0 4.5 5.2, v10 3.4 3.8 3.8 3.6 2.9,
// v11 1.4 2.1 1.5 1.7 1.8, v12 0.9 1.1 1.1 1.0 1.1, v13 0.9 1.3 1.2 1.0 1.2, v14 1.3 1.4 1.5 1.3 1.4.
// The broadcast family loses 5x: its selects and vec4 loads all run lane by lane.
//
// The ladder. Measured on lavapipe (2 cores, 8-wide AVX2 lanes), 1024^3, best of 5 trials:
// v1 ~2.2, v2 ~1.1, v3 ~11.8, v4 ~14.8 (general sizes), v5 ~7.4, vec4 fast paths v6-v9 ~13-16.5 GFLOPS.
// Fastest for sizes it supports: v9 (or v8, within noise); for any size: v4.
// At the face generator's im2col shapes (M,N,K = 1024,128,1152 / 1024,1152,128 / 128,1152,1024,
// bench/matmul-lab.ts --shapes, training paused, another session busy): v4 5.5 / 5.0 / 5.5,
// v8 4.7 / 4.9 / 4.4, v9 4.2 / 4.5 / 4.8, v10-lanes 3.7 / 3.6 / 3.0 GFLOPS; swept and dropped
// (regBlocked vec4, WY 1): 16x4 3.6 / 2.7 / 2.6, 32x4 (WX 8) 5.9 / 3.9 / 3.5, 16x8 (WX 8)
// 5.4 / 5.2 / 4.8 -- all within the noise of each other: the tile shape is not what limits.
export const matmulVariants: MatmulVariant[] = [
  naive,
  tiledShared,
  regBlocked(
    'v3-reg4x4',
    'register blocking: 4x4 outputs per invocation, 16x16 workgroups, scalar loads, bounds-clamped',
    { TM: 4, TN: 4, WX: 16, WY: 16 },
  ),
  regBlocked(
    'v4-reg8x4',
    'general path: 8x4 tile, 16x1 workgroups (tile rows, so A loads, workgroup-uniform)',
    { TM: 8, TN: 4, WX: 16, WY: 1 },
  ),
  regBlocked(
    'v5-reg8x4-unroll4',
    'v4 with the K loop unrolled by 4 (slower on lavapipe: bigger body, more register pressure)',
    { TM: 8, TN: 4, WX: 16, WY: 1, unrollK: 4 },
  ),
  regBlocked(
    'v6-reg4x4-vec4',
    'fast path: 4x4 tile, A and B read as vec4 along their contiguous axis, K step 4, no bounds checks',
    { TM: 4, TN: 4, WX: 16, WY: 1, vec4: true },
  ),
  regBlocked('v7-reg8x4-vec4', 'fast path: 8x4 tile, vec4 loads', {
    TM: 8,
    TN: 4,
    WX: 16,
    WY: 1,
    vec4: true,
  }),
  regBlocked('v8-reg8x8-vec4', 'fast path: 8x8 tile (64 accumulators), vec4 loads, 16x1 workgroups', {
    TM: 8,
    TN: 8,
    WX: 16,
    WY: 1,
    vec4: true,
  }),
  regBlocked(
    'v9-reg8x8-vec4-wg4x4',
    'fast path: v8 with 4x4 workgroups (16 invocations = two 8-lane SIMD batches)',
    { TM: 8, TN: 8, WX: 4, WY: 4, vec4: true },
  ),
  lanes(
    'v10-lanes-8x4',
    'interleaved columns (lane x owns x + 8j): B and C lane-contiguous, A uniform; slower than v4 here',
    { TM: 8, TN: 4, WX: 8 },
  ),
  lanes('v11-lanes-16x1', 'lanes with one column and 16 rows per lane', { TM: 16, TN: 1, WX: 8 }),
  broadcast('v12-bcast-8', 'broadcast: all loads uniform, B dealt to the lanes by selects, 8 rows', 8),
  broadcast('v13-bcast-16', 'broadcast with 16 rows', 16),
  broadcast('v14-bcast-32', 'broadcast with 32 rows', 32),
  sharedRows('v15-rows-8x4', 'shared rows: 8 rows x 4 columns per lane', 8, 1),
  sharedRows('v16-rows-8x8', 'shared rows: 8 rows x 8 columns per lane', 8, 2),
  sharedRows('v17-rows-16x4', 'shared rows: 16 rows x 4 columns per lane', 16, 1),
  sharedRows('v18-rows-16x8', 'shared rows: 16 rows x 8 columns per lane', 16, 2),
  sharedRows('v19-rows-32x4', 'shared rows: 32 rows x 4 columns per lane', 32, 1),
];
