/**
 * Matmul kernel lab harness (standalone raw WebGPU, no engine imports besides the kernels).
 *
 *   npx tsx bench/matmul-lab.ts                 check + time every variant
 *   npx tsx bench/matmul-lab.ts --only=v6,v7    only variants whose name starts with one of these
 *   npx tsx bench/matmul-lab.ts --check-only    correctness only
 *   npx tsx bench/matmul-lab.ts --time-only     timing only
 *   npx tsx bench/matmul-lab.ts --target=0.5    seconds of GPU work per timed measurement
 *   npx tsx bench/matmul-lab.ts --shapes=1024,128,1152/128,1152,1024,TN
 *                                               time these M,N,K[,transposes] instead of the squares
 *   npx tsx bench/matmul-lab.ts --print=v7 [--trans=NT]
 *                                               print a version's WGSL (full name or vN; transposes
 *                                               NN (default), NT, TN, TT) and exit without a GPU
 *
 * Every version's WGSL is also committed, per transpose combination, in shaders/generated/matmul/
 * (npm run gen:shaders), so two versions can be diffed without running anything.
 *
 * Correctness: every variant x every transpose combination against a float64 CPU reference at
 * awkward sizes (incl. batch 2 with strideA = 0 broadcast), tolerance 1e-4 relative (with a 1e-4
 * floor), plus a sentinel check that nothing is written past C.
 *
 * Timing: many dispatches in one compute pass, one submit, one wait; best of 5 such trials,
 * retrying trials during which other processes on the machine used the CPU (read from /proc).
 * Awaiting completion in the `webgpu` package spins a CPU core, which on a 2-core CPU driver steals
 * a large share of the machine from the kernel (measured: ~1.4x slower), so we first block the
 * thread (Atomics.wait, no CPU) for a bit longer than the expected run time and only then await;
 * the time itself comes from GPU timestamp queries around the pass (wall clock if the adapter has
 * no 'timestamp-query'). GFLOPS = 2*M*N*K / time.
 */
import { readFileSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { matmulVariants, type MatmulOptions, type MatmulVariant } from '../shaders/matmul.ts';
import { findLabVersion, matmulVersionText } from '../shaders/lab-text.ts';

Object.assign(globalThis, globals);

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
/** The value of `--name=value`, or of `--name value`. */
const argVal = (name: string) => {
  const a = arg(name);
  if (a !== `--${name}`) return a?.split('=')[1];
  const next = args[args.indexOf(a) + 1];
  return next && !next.startsWith('--') ? next : undefined;
};

if (arg('print')) {
  // --print: the WGSL of one version, then exit (no device is opened)
  const names = matmulVariants.map((v) => v.name);
  let text: string;
  try {
    const query = argVal('print');
    if (!query)
      throw new Error(
        `matmul lab: --print needs a version, e.g. --print=v7 (the versions are: ${names.join(', ')})`,
      );
    const v = matmulVariants.find((x) => x.name === findLabVersion(names, query, 'matmul lab'))!;
    text = matmulVersionText(v, argVal('trans') ?? 'NN');
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  await new Promise<void>((done) => process.stdout.write(text, () => done()));
  process.exit(0);
}
const only = argVal('only')?.split(',');
const target = Number(argVal('target') ?? 0.25);
const doCheck = !arg('time-only');
const doTime = !arg('check-only');

const gpu = create([]);
const adapter = (await gpu.requestAdapter())!;
const L = adapter.limits;
const hasTimestamps = adapter.features.has('timestamp-query');
const device = await adapter.requestDevice({
  requiredFeatures: [
    ...(hasTimestamps ? ['timestamp-query' as const] : []),
    ...(adapter.features.has('subgroups') ? ['subgroups' as const] : []),
  ],
  requiredLimits: {
    maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: L.maxComputeWorkgroupSizeY,
    maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
    maxBufferSize: L.maxBufferSize,
  },
});
device.addEventListener('uncapturederror', (e) =>
  console.error('uncaptured:', (e as GPUUncapturedErrorEvent).error.message),
);

const U = GPUBufferUsage;
const layout = device.createBindGroupLayout({
  entries: [
    { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
    { binding: 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
    { binding: 2, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
    { binding: 3, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' } },
  ],
});
const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });

const pipelines = new Map<string, GPUComputePipeline>();
async function pipelineFor(v: MatmulVariant, o: MatmulOptions): Promise<GPUComputePipeline> {
  const code = v.code(o);
  let pl = pipelines.get(code);
  if (pl) return pl;
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  const errs = info.messages.filter((m) => m.type === 'error');
  if (errs.length) {
    const src = code.split('\n');
    throw new Error(
      `${v.name} ${JSON.stringify(o)} WGSL error:\n` +
        errs.map((m) => `  line ${m.lineNum}: ${m.message}\n    ${src[m.lineNum - 1]}`).join('\n'),
    );
  }
  pl = await device.createComputePipelineAsync({
    layout: pipelineLayout,
    compute: { module, entryPoint: 'main' },
  });
  const err = await device.popErrorScope();
  if (err) throw new Error(`${v.name}: ${err.message}`);
  pipelines.set(code, pl);
  return pl;
}

const pad16 = (bytes: number) => Math.max(16, Math.ceil(bytes / 16) * 16);
function bufferFrom(data: Float32Array<ArrayBuffer>, usage: number): GPUBuffer {
  const buf = device.createBuffer({ size: pad16(data.byteLength), usage: usage | U.COPY_DST });
  device.queue.writeBuffer(buf, 0, data);
  return buf;
}
function params(
  M: number,
  N: number,
  K: number,
  batch: number,
  sA: number,
  sB: number,
  sC: number,
): GPUBuffer {
  return bufferFrom(new Float32Array(new Uint32Array([M, N, K, batch, sA, sB, sC, 0]).buffer), U.UNIFORM);
}

let seed = 12345;
const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
const randArray = (n: number) => Float32Array.from({ length: n }, rand);

/** float64 reference of C = op(A) @ op(B) per batch. */
function reference(
  o: MatmulOptions,
  A: Float32Array,
  B: Float32Array,
  M: number,
  N: number,
  K: number,
  batch: number,
  sA: number,
  sB: number,
): Float64Array {
  const C = new Float64Array(batch * M * N);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const a = A[b * sA + (o.transA ? k * M + i : i * K + k)];
          const bb = B[b * sB + (o.transB ? j * K + k : k * N + j)];
          s += a * bb;
        }
        C[b * M * N + i * N + j] = s;
      }
    }
  }
  return C;
}

const SENTINEL = 12345.678;
async function runOnce(
  v: MatmulVariant,
  o: MatmulOptions,
  M: number,
  N: number,
  K: number,
  batch: number,
  broadcastA: boolean,
): Promise<string | null> {
  const sA = broadcastA ? 0 : M * K,
    sB = K * N,
    sC = M * N;
  const A = randArray(broadcastA ? M * K : batch * M * K);
  const B = randArray(batch * K * N);
  const extra = 64;
  const bufA = bufferFrom(A, U.STORAGE),
    bufB = bufferFrom(B, U.STORAGE);
  const bufC = bufferFrom(new Float32Array(batch * M * N + extra).fill(SENTINEL), U.STORAGE | U.COPY_SRC);
  const bufP = params(M, N, K, batch, sA, sB, sC);
  const read = device.createBuffer({ size: bufC.size, usage: U.MAP_READ | U.COPY_DST });
  const pl = await pipelineFor(v, o);
  const bg = device.createBindGroup({
    layout,
    entries: [bufP, bufA, bufB, bufC].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pl);
  pass.setBindGroup(0, bg);
  pass.dispatchWorkgroups(...v.workgroups(M, N, batch));
  pass.end();
  enc.copyBufferToBuffer(bufC, 0, read, 0, bufC.size);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const got = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  for (const b of [bufA, bufB, bufC, bufP, read]) b.destroy();
  const ref = reference(o, A, B, M, N, K, batch, sA, sB);
  let worst = 0,
    worstAt = -1;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(got[i] - ref[i]) / Math.max(1, Math.abs(ref[i]));
    if (!(err <= worst)) {
      worst = err;
      worstAt = i;
    } // catches NaN too
  }
  if (!(worst <= 1e-4))
    return `max rel err ${worst} at ${worstAt} (got ${got[worstAt]}, want ${ref[worstAt]})`;
  for (let i = ref.length; i < ref.length + extra; i++) {
    if (got[i] !== Math.fround(SENTINEL)) return `wrote past the end of C at element ${i}`;
  }
  return null;
}

const transposes: [string, MatmulOptions][] = [
  ['NN', { transA: false, transB: false }],
  ['NT', { transA: false, transB: true }],
  ['TN', { transA: true, transB: false }],
  ['TT', { transA: true, transB: true }],
];

// [M, N, K, batch, broadcastA]
const checkCases: [number, number, number, number, boolean][] = [
  [1, 1, 1, 1, false],
  [3, 17, 1, 1, false],
  [1, 64, 3, 1, false],
  [17, 3, 65, 1, false],
  [64, 64, 64, 1, false],
  [65, 130, 17, 1, false],
  [130, 65, 64, 1, false],
  [33, 17, 130, 1, false],
  [64, 130, 65, 2, false],
  [17, 33, 3, 2, true],
  [64, 64, 64, 2, true],
  [128, 64, 132, 3, true],
  [8, 1000, 20, 1, false],
  [260, 8, 36, 1, false],
  [4, 4, 4, 1, false],
  [12, 20, 8, 2, true],
  [16, 24, 28, 2, false],
  [40, 16, 1000, 1, false],
  [8, 32, 4, 1, false],
  [24, 96, 36, 2, true],
  [64, 256, 1152, 1, false],
];

const variants = matmulVariants.filter((v) => !only || only.some((p) => v.name.startsWith(p)));
let failures = 0;

if (doCheck) {
  console.log('== correctness (4 transposes x awkward sizes, batch/broadcast, tol 1e-4 rel) ==');
  for (const v of variants) {
    let ran = 0,
      skipped = 0;
    const errs: string[] = [];
    for (const [M, N, K, batch, bc] of checkCases) {
      if (v.supports && !v.supports(M, N, K)) {
        skipped++;
        continue;
      }
      for (const [tn, o] of transposes) {
        const e = await runOnce(v, o, M, N, K, batch, bc);
        ran++;
        if (e) errs.push(`  ${tn} M=${M} N=${N} K=${K} batch=${batch}${bc ? ' (A broadcast)' : ''}: ${e}`);
      }
    }
    failures += errs.length;
    console.log(
      `${errs.length ? 'FAIL' : 'ok  '} ${v.name.padEnd(24)} ${ran} runs, ${skipped} sizes unsupported`,
    );
    for (const e of errs.slice(0, 8)) console.log(e);
  }
}

/** Block the thread without burning CPU (the GPU here is the CPU). */
const sleepSync = (ms: number) => {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/**
 * Other processes on the machine steal the CPU that is our GPU. We read /proc to see how much
 * CPU time everything but us used during a trial (Linux only; elsewhere every trial counts).
 */
function cpuSnapshot(): { busy: number; self: number; wall: number } | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
    const busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6]; // user nice system irq softirq
    const st = readFileSync('/proc/self/stat', 'utf8');
    const f = st
      .slice(st.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return { busy, self: f[11] + f[12], wall: performance.now() }; // utime + stime (all threads)
  } catch {
    return null;
  }
}
/** True if others used less than 5% of one core during the trial (clock ticks are 10 ms). */
function isQuiet(a: ReturnType<typeof cpuSnapshot>, b: ReturnType<typeof cpuSnapshot>): boolean {
  if (!a || !b) return true;
  const otherMs = (b.busy - a.busy - (b.self - a.self)) * 10;
  return otherMs <= Math.max(20, 0.05 * (b.wall - a.wall));
}
let noisy = 0;

const querySet = hasTimestamps ? device.createQuerySet({ type: 'timestamp', count: 2 }) : null;
const queryResolve = device.createBuffer({ size: 16, usage: U.QUERY_RESOLVE | U.COPY_SRC });
const queryRead = device.createBuffer({ size: 16, usage: U.MAP_READ | U.COPY_DST });

/** Best-of-`trials` GFLOPS of `v` at M x N x K (batch 1). */
async function timeVariant(
  v: MatmulVariant,
  o: MatmulOptions,
  M: number,
  N: number,
  K: number,
  trials = 5,
): Promise<number> {
  const bufA = bufferFrom(randArray(M * K), U.STORAGE),
    bufB = bufferFrom(randArray(K * N), U.STORAGE);
  const bufC = device.createBuffer({ size: pad16(M * N * 4), usage: U.STORAGE });
  const bufP = params(M, N, K, 1, M * K, K * N, M * N);
  const pl = await pipelineFor(v, o);
  const bg = device.createBindGroup({
    layout,
    entries: [bufP, bufA, bufB, bufC].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const wg = v.workgroups(M, N, 1);
  /** Seconds for `reps` back-to-back dispatches: GPU timestamps around the pass if available, else wall clock. */
  const run = async (reps: number, sleepMs: number) => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass(
      querySet ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {},
    );
    pass.setPipeline(pl);
    pass.setBindGroup(0, bg);
    for (let r = 0; r < reps; r++) pass.dispatchWorkgroups(...wg);
    pass.end();
    if (querySet) {
      enc.resolveQuerySet(querySet, 0, 2, queryResolve, 0);
      enc.copyBufferToBuffer(queryResolve, 0, queryRead, 0, 16);
    }
    const t0 = performance.now();
    device.queue.submit([enc.finish()]);
    sleepSync(sleepMs);
    await device.queue.onSubmittedWorkDone();
    const wall = (performance.now() - t0) / 1000;
    if (!querySet) return wall;
    await queryRead.mapAsync(GPUMapMode.READ);
    const [t0ns, t1ns] = new BigUint64Array(queryRead.getMappedRange().slice(0));
    queryRead.unmap();
    return Number(t1ns - t0ns) / 1e9;
  };
  await run(1, 0); // warm-up: pipeline compile, first touch
  const est = await run(1, 0); // per-dispatch estimate (pessimistic: spin-wait running)
  const reps = Math.max(1, Math.min(5000, Math.round(target / est)));
  // Best of `trials` clean trials; a trial during which other processes used the CPU is retried.
  let best = Infinity,
    bestDirty = Infinity,
    clean = 0;
  if (est > 2 * target) trials = 1; // very slow variants: one trial is plenty
  for (let attempt = 0; clean < trials && attempt < trials + 12; attempt++) {
    const before = cpuSnapshot();
    const t = await run(reps, reps * est * 1000 * (querySet ? 1.05 : 0.8));
    if (isQuiet(before, cpuSnapshot())) {
      best = Math.min(best, t);
      clean++;
    } else {
      bestDirty = Math.min(bestDirty, t);
      sleepSync(300);
    }
  }
  if (!clean) {
    best = bestDirty;
    noisy++;
  }
  for (const b of [bufA, bufB, bufC, bufP]) b.destroy();
  return (2 * M * N * K * reps) / best / 1e9;
}

if (doTime) {
  // --shapes=M,N,K[,NT|TN|TT]/...: these shapes instead of the squares
  const shapes = argVal('shapes');
  const cols: [string, [number, number, number], MatmulOptions][] = shapes
    ? shapes.split('/').map((sh) => {
        const [M, N, K, t = 'NN'] = sh.split(',');
        const o = transposes.find(([n]) => n === t)?.[1];
        if (!o || ![M, N, K].every((d) => Number(d) > 0))
          throw new Error(`matmul lab: --shapes entry '${sh}' is not M,N,K[,NN|NT|TN|TT]`);
        return [`${M},${N},${K}${t === 'NN' ? '' : ' ' + t}`, [Number(M), Number(N), Number(K)], o];
      })
    : [
        ['256', [256, 256, 256], transposes[0][1]],
        ['512', [512, 512, 512], transposes[0][1]],
        ['1024', [1024, 1024, 1024], transposes[0][1]],
        ['1024 NT', [1024, 1024, 1024], transposes[1][1]],
        ['1024 TN', [1024, 1024, 1024], transposes[2][1]],
      ];
  const w = Math.max(9, ...cols.map(([n]) => n.length + 2));
  console.log(`\n== GFLOPS (${shapes ? 'M,N,K' : 'square M=N=K'}; NT = transB, TN = transA) ==`);
  console.log('variant'.padEnd(24) + cols.map(([n]) => n.padStart(w)).join(''));
  const best: [string, number][] = cols.map(() => ['', 0]);
  for (const v of variants) {
    let row = v.name.padEnd(24);
    for (const [ci, [, [M, N, K], o]] of cols.entries()) {
      if (v.supports && !v.supports(M, N, K)) {
        row += '-'.padStart(w);
        continue;
      }
      const g = await timeVariant(v, o, M, N, K);
      if (g > best[ci][1]) best[ci] = [v.name, g];
      row += g.toFixed(2).padStart(w);
    }
    console.log(row);
  }
  if (noisy) console.log(`(${noisy} measurements had no trial free of other processes' CPU use)`);
  console.log('\nbest: ' + cols.map(([n], i) => `${n}: ${best[i][0]} (${best[i][1].toFixed(2)})`).join(', '));
}

device.destroy();
if (failures) {
  console.log(`\n${failures} correctness failures`);
  process.exitCode = 1;
}
