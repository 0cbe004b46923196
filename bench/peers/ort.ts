/**
 * Peer system for benchmarks: ONNX Runtime Web 1.30.0 (onnxruntime-web, a devDependency), the
 * runtime a person would choose to run a model on a CPU from JavaScript.
 *
 *   const peer = await initOrtWasm(2);        // system "ort-wasm": WebAssembly, SIMD, 2 threads
 *   const peer = await initOrtWebgpu(gpu);    // system "ort-webgpu": its WebGPU EP on our Dawn GPU
 *   peer.cases.matmul(1024), peer.cases.conv2d('wgrad', CONV_BENCH)   // PeerCase, as tfjs-webgpu.ts
 *   await peer.dispose();
 *
 * The models are built in code at bench time (ort-models.ts, onnx-encode.ts); the .wasm files
 * are read from node_modules/onnxruntime-web/dist, nothing is fetched. Each case checks its first
 * result against a float64 CPU reference (64 sampled outputs) before it can be timed.
 *
 * What differs between the sides:
 * - Where it runs. ort-wasm runs MLAS kernels compiled to WebAssembly (128-bit SIMD) on the CPU
 *   directly, with `threads` threads (Node worker threads sharing the wasm memory); we run WGSL
 *   on lavapipe, which compiles it with LLVM to the CPU's own 256-bit vectors and spreads
 *   workgroups over both cores. Same two cores either way.
 * - Data movement. ORT's inputs are JS arrays, copied into the wasm heap on every run and the
 *   result copied out (inside the timed region: 12 MB for matmul-1024, a few ms next to its
 *   ~100 ms); ours stay on the device and nothing is read back.
 * - Waiting. One `session.run` per op, awaited; ours issues `opsPerRun` ops and waits once.
 * - Gradients. ORT Web has no gradient ops; dgrad is a ConvTranspose and wgrad a Conv over
 *   the batch axis (see ort-models.ts), the forms a peer would use.
 * - ort-webgpu uses the `onnxruntime-web/webgpu` build (its C++ WebGPU EP in a 26 MB asyncify
 *   wasm). Three things make it run in Node: a `navigator.gpu`; a copy of `writeBuffer` data that
 *   lives in a SharedArrayBuffer (the wasm heap), which Dawn's Node binding rejects ("Invalid
 *   argument"); and an interval that keeps the event loop alive, without which Node, finding no
 *   pending handle, blocks in V8's task drain until a ~100 s background compile of one huge wasm
 *   function ends. That compile happens anyway after the first run; init waits for it to finish
 *   so it does not steal a core from the cases timed after it. Its inputs are uploaded and its
 *   outputs read back on every run (CPU tensors), which ours does not do.
 */
/// <reference types="@webgpu/types" />
import type * as Ort from 'onnxruntime-web';
import { encodeModel } from './onnx-encode.js';
import { convModel, convOutputSize, matmulModel, type BenchModel, type ConvPass } from './ort-models.js';
import { Generator } from '../../src/tensor/random.js';
import { installNavigatorGpu, type ConvShape, type PeerCase } from './tfjs-webgpu.js';

export type OrtSystem = 'ort-wasm' | 'ort-webgpu';

export interface OrtPeer {
  system: OrtSystem;
  cases: {
    /** n x n @ n x n float32; unit GFLOPS, work = 2n^3 */
    matmul(n: number): PeerCase;
    /** the conv pass at the shape, NCHW; unit GFLOPS, work = 2 N O OH OW C K K */
    conv2d(pass: ConvPass, shape: ConvShape): PeerCase;
  };
  /** e.g. "onnxruntime-web 1.30.0, wasm, SIMD, 2 threads" */
  describe: string;
  dispose(): Promise<void>;
}

/** onnxruntime-web's WebAssembly backend with `threads` threads (set before its first session). */
export async function initOrtWasm(threads: number): Promise<OrtPeer> {
  const ort = await import('onnxruntime-web'); // Node resolves this to the wasm-only build
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true; // the 1.30 builds all use SIMD; this only makes it check support
  const peer = makePeer(ort, 'ort-wasm', 'wasm');
  await (await warmUp(ort, 'wasm')).release(); // starts the runtime: numThreads is final after it
  if (ort.env.wasm.numThreads !== threads)
    throw new Error(`ort-wasm: asked for ${threads} threads, runs ${ort.env.wasm.numThreads}`);
  peer.describe = `onnxruntime-web ${ort.env.versions.web}, wasm, SIMD, ${threads} thread(s)`;
  return peer;
}

/** onnxruntime-web's WebGPU execution provider on the given Dawn `GPU` object. */
export async function initOrtWebgpu(gpu: GPU): Promise<OrtPeer> {
  installNavigatorGpu(gpu);
  const keepAlive = setInterval(() => {}, 50);
  const ort = (await import('onnxruntime-web/webgpu')) as typeof Ort;
  ort.env.wasm.numThreads = 1;
  const peer = makePeer(ort, 'ort-webgpu', 'webgpu');
  const anchor = await warmUp(ort, 'webgpu', async () =>
    copySharedWrites((await ort.env.webgpu.device).queue),
  );
  await waitForBackgroundCompile();
  const device = await ort.env.webgpu.device;
  const info = device.adapterInfo;
  peer.describe = `onnxruntime-web ${ort.env.versions.web}, WebGPU EP on ${info.vendor} ${info.device || info.description}`;
  const dispose = peer.dispose;
  peer.dispose = async () => {
    await dispose();
    await anchor.release();
    device.destroy(); // without this Node never exits
    clearInterval(keepAlive);
  };
  return peer;
}

function makePeer(ort: typeof Ort, system: OrtSystem, ep: 'wasm' | 'webgpu'): OrtPeer {
  const makeCase = (name: string, model: BenchModel, work: number): PeerCase => {
    let session: Ort.InferenceSession | null = null;
    let feeds: Record<string, Ort.Tensor> = {};
    return {
      name,
      unit: 'GFLOPS',
      work,
      opsPerRun: 1,
      async setup() {
        session = await ort.InferenceSession.create(encodeModel(model.graph), { executionProviders: [ep] });
        const data = model.graph.inputs.map((v, i) => seededUniform(v.shape, 17 + i));
        feeds = Object.fromEntries(
          model.graph.inputs.map((v, i) => [v.name, new ort.Tensor('float32', data[i]!, v.shape)]),
        );
        const out = (await session.run(feeds))[model.graph.outputs[0]!.name]!;
        checkOutput(`${system} ${name}`, model, data, out.dims as number[], out.data as Float32Array);
      },
      async run() {
        await session!.run(feeds);
      },
      async teardown() {
        await session?.release();
        session = null;
        feeds = {};
      },
    };
  };
  return {
    system,
    describe: '',
    cases: {
      matmul: (n) => makeCase(`matmul-${n}`, matmulModel(n), 2 * n ** 3),
      conv2d(pass, s) {
        const [OH, OW] = convOutputSize(s);
        return makeCase(`conv2d-${pass}`, convModel(pass, s), 2 * s.N * s.O * OH * OW * s.C * s.K * s.K);
      },
    },
    async dispose() {},
  };
}

/** The output's shape, and 64 sampled values against the float64 reference. */
function checkOutput(
  name: string,
  model: BenchModel,
  inputs: Float32Array[],
  dims: number[],
  got: Float32Array,
) {
  const want = model.graph.outputs[0]!.shape;
  if (dims.join() !== want.join()) throw new Error(`${name}: output shape [${dims}], expected [${want}]`);
  const picks = new Generator(99).bitsCpu(64);
  for (let s = 0; s < 64; s++) {
    const i = s === 0 ? 0 : s === 1 ? got.length - 1 : picks[s]! % got.length;
    const { value, magnitude } = model.reference(inputs, i);
    // float32 sums of a few thousand terms: error well under 1e-4 of the sum of |terms|
    if (!(Math.abs(got[i]! - value) <= 1e-4 * magnitude + 1e-6))
      throw new Error(`${name}: output[${i}] = ${got[i]}, the CPU reference gives ${value}`);
  }
}

/**
 * A tiny MatMul through the backend: starts the runtime (and, for WebGPU, creates its device).
 * Returns the session: the WebGPU EP keeps its device only while a session is open.
 */
async function warmUp(ort: typeof Ort, ep: 'wasm' | 'webgpu', afterCreate?: () => Promise<void>) {
  const model = matmulModel(4);
  const session = await ort.InferenceSession.create(encodeModel(model.graph), { executionProviders: [ep] });
  await afterCreate?.();
  const feeds = {
    A: new ort.Tensor('float32', seededUniform([4, 4], 1), [4, 4]),
    B: new ort.Tensor('float32', seededUniform([4, 4], 2), [4, 4]),
  };
  for (let i = 0; i < 3; i++) await session.run(feeds);
  return session;
}

/**
 * Dawn's Node binding rejects `writeBuffer` data in a SharedArrayBuffer (ORT passes views of its
 * shared wasm heap): give it a copy. Patched on this queue object only.
 */
function copySharedWrites(queue: GPUQueue) {
  const write = queue.writeBuffer.bind(queue);
  queue.writeBuffer = (buffer, offset, data, dataOffset = 0, size?) => {
    const bytes = ArrayBuffer.isView(data) ? data : new Uint8Array(data);
    if (!(bytes.buffer instanceof SharedArrayBuffer)) return write(buffer, offset, data, dataOffset, size);
    // dataOffset and size count elements of a typed array, bytes otherwise
    const unit = 'BYTES_PER_ELEMENT' in bytes ? (bytes.BYTES_PER_ELEMENT as number) : 1;
    const length = (size ?? bytes.byteLength / unit - dataOffset) * unit;
    const copy = new Uint8Array(bytes.buffer, bytes.byteOffset + dataOffset * unit, length).slice();
    return write(buffer, offset, copy, 0, length);
  };
}

/** Waits until this process uses under a quarter of a core over 2 s (at most 5 minutes). */
async function waitForBackgroundCompile() {
  const t0 = performance.now();
  for (;;) {
    const u0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 2000));
    const u = process.cpuUsage(u0);
    if ((u.user + u.system) / 1e3 < 500 || performance.now() - t0 > 300e3) break;
  }
  const s = ((performance.now() - t0) / 1e3).toFixed(0);
  console.error(`ort-webgpu: waited ${s} s for V8 to finish compiling the WebGPU build's wasm`);
}

/** Uniform [-1, 1) floats from the engine's seeded generator (Philox, on the CPU). */
function seededUniform(shape: number[], seed: number): Float32Array {
  const bits = new Generator(seed).bitsCpu(shape.reduce((a, b) => a * b, 1));
  return Float32Array.from(bits, (b) => (b / 2 ** 32) * 2 - 1);
}
