/**
 * Peer system for benchmarks: TensorFlow.js's WebGPU backend
 * (@tensorflow/tfjs-core + @tensorflow/tfjs-backend-webgpu 4.22.0) running in
 * Node on the same Dawn `GPU` object our engine uses.
 *
 *   const peer = await initTfjsWebgpu(gpu);          // gpu = create([]) from 'webgpu'
 *   const c = peer.cases.matmul(1024);               // PeerCase
 *   await c.setup(); await c.run(); ...; await c.teardown();
 *   const gflops = peerValue(c, msPerRun);           // time -> c.unit
 *   await peer.dispose();                            // destroys tfjs's device so Node can exit
 *
 * PeerCase semantics: one `run()` issues `opsPerRun` identical ops back to back
 * and waits once for the GPU to finish them (flush tfjs's pending command
 * encoder + `queue.onSubmittedWorkDone()`; no read-back).  `work` is the work of
 * ONE op (flops for GFLOPS, bytes for GB/s, unused for 'us').  So for a measured
 * mean of `ms` per run():
 *   GFLOPS / GB/s = work * opsPerRun / (ms * 1e6)        us/op = ms * 1e3 / opsPerRun
 * (`peerValue()` does this.)  Results of every op are disposed inside run();
 * inputs are created in setup() and disposed in teardown(); teardown() throws if
 * the case leaked tensors.  Shader compilation / first upload happen on the
 * first run(), so callers must warm up (tinybench `warmup`) before timing.
 *
 * Shims: tfjs-backend-webgpu only needs `navigator.gpu` (Node 20 has no
 * `navigator`).  It must exist BEFORE the backend module is evaluated (it
 * registers its backend factory at import time only if `navigator.gpu` is
 * truthy), hence the dynamic imports below.  No window/document/OffscreenCanvas/
 * performance shims are needed for tensor math (those are touched only by
 * fromPixels/toPixels/readSync-with-canvas and the PIX profiling flag).
 * We replace tfjs's own factory with an equivalent one (same adapter options,
 * features and limits as tfjs 4.22's factory) so we hold the GPUDevice and can
 * destroy it in dispose(); re-calling initTfjsWebgpu() after dispose() works.
 */
/// <reference types="@webgpu/types" />
import type * as TfCore from '@tensorflow/tfjs-core';

/** x (N, C, H, W) conv w (O, C, K, K), stride, symmetric padding pad; groups 1, dilation 1. */
export interface ConvShape {
  N: number;
  C: number;
  H: number;
  W: number;
  O: number;
  K: number;
  stride: number;
  pad: number;
}

export type PeerUnit = 'GFLOPS' | 'GB/s' | 'us' | 'images/s';

export interface PeerCase {
  /** e.g. "matmul-1024", "add-1048576", "dispatch-small" */
  name: string;
  unit: PeerUnit;
  /** work of ONE op: flops (GFLOPS) or bytes (GB/s); 0 for 'us' */
  work: number;
  /** number of ops one run() performs before its single wait */
  opsPerRun: number;
  setup(): Promise<void>;
  /** one timed unit: opsPerRun ops + one wait for GPU completion */
  run(): Promise<void>;
  teardown(): Promise<void>;
  /** Timed runs at least (default 3); a training step that takes seconds needs fewer. */
  minIterations?: number;
}

export interface TfjsWebgpuPeer {
  cases: {
    /** n x n @ n x n float32; unit GFLOPS, work = 2n^3 */
    matmul(n: number, opsPerRun?: number): PeerCase;
    /** a + b over n float32; unit GB/s, work = 12n bytes */
    elementwiseAdd(n: number, opsPerRun?: number): PeerCase;
    /** add of two 4-element tensors on the GPU; unit us per op */
    smallDispatch(opsPerRun?: number): PeerCase;
    /**
     * conv2d at the given shape, NHWC (tfjs-webgpu's native layout; the same math as our NCHW):
     * 'fwd' = tf.conv2d + bias (tf.add), 'dgrad' = kernel Conv2DBackpropInput (what
     * tf.conv2dTranspose and conv2d's gradient run), 'wgrad' = kernel Conv2DBackpropFilter (what
     * conv2d's filter gradient runs). Unit GFLOPS, work = 2 N O OH OW C KH KW.
     */
    conv2d(pass: 'fwd' | 'dgrad' | 'wgrad', shape: ConvShape, opsPerRun?: number): PeerCase;
  };
  /** the tfjs module in use (for ad-hoc cases) */
  tf: typeof TfCore;
  /** flush tfjs's queued work and wait for the GPU to go idle */
  sync(): Promise<void>;
  dispose(): Promise<void>;
  /** e.g. "mesa software llvmpipe (LLVM 15.0.6, 256 bits)" */
  adapterInfo: string;
}

/** Convert a measured mean time per run() (milliseconds) to the case's unit. */
export function peerValue(c: PeerCase, msPerRun: number): number {
  if (c.unit === 'us') return (msPerRun * 1e3) / c.opsPerRun;
  // images/s: work = images per op
  if (c.unit === 'images/s') return (c.work * c.opsPerRun) / (msPerRun / 1e3);
  return (c.work * c.opsPerRun) / (msPerRun * 1e6);
}

// Minimal view of tfjs's WebGPUBackend that we rely on (all public members).
interface WebGPUBackendLike {
  device: GPUDevice;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** Makes `gpu` the global `navigator.gpu` that browser code (tfjs, ORT) looks for. */
export function installNavigatorGpu(gpu: GPU): void {
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (g.navigator == null) {
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu },
      configurable: true,
      writable: true,
      enumerable: false,
    });
  } else if (g.navigator.gpu !== gpu) {
    // Node >= 21 has a navigator object without `gpu`.
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  }
}

/** Same request tfjs-backend-webgpu 4.22 makes in its own factory. */
async function requestTfjsDevice(
  gpu: GPU,
  lowPower: boolean,
): Promise<{ device: GPUDevice; adapter: GPUAdapter }> {
  const adapter = await gpu.requestAdapter({ powerPreference: lowPower ? 'low-power' : 'high-performance' });
  if (!adapter) throw new Error('tfjs-webgpu peer: no WebGPU adapter');
  const requiredFeatures: GPUFeatureName[] = [];
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
  // (tfjs pushes ['bgra8unorm-storage'] as a nested array; Dawn coerces it to the string.)
  if (adapter.features.has('bgra8unorm-storage')) requiredFeatures.push('bgra8unorm-storage');
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    },
  });
  return { device, adapter };
}

/**
 * tfjs-core's Node bundle registers no gradients (the @tensorflow/tfjs umbrella package does),
 * and its ES module files cannot be imported by Node as they are (directory imports). So the
 * registration module is bundled once with esbuild (a dev dependency, no download) and
 * imported: tfjs keeps its gradient registry on a global, shared by both copies of the code.
 */
async function registerTfjsGradients(): Promise<void> {
  const { build } = await import('esbuild');
  const { createRequire } = await import('node:module');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { pathToFileURL } = await import('node:url');
  const entry = createRequire(import.meta.url).resolve(
    '@tensorflow/tfjs-core/dist/register_all_gradients.js',
  );
  const outfile = join(tmpdir(), `synface-tfjs-gradients-${process.pid}.mjs`);
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile,
    logLevel: 'silent',
  });
  await import(pathToFileURL(outfile).href);
  (await import('node:fs')).rmSync(outfile, { force: true });
}

/**
 * `gradients: false` skips registering tfjs's gradients (its training-step peers need them, the
 * kernel cases do not): the browser bench (bench/browser/entry.ts) runs without Node, which the
 * registration above uses.
 */
export async function initTfjsWebgpu(
  gpu: GPU,
  options: { gradients?: boolean } = {},
): Promise<TfjsWebgpuPeer> {
  installNavigatorGpu(gpu);
  const tf = await import('@tensorflow/tfjs-core');
  const wg = await import('@tensorflow/tfjs-backend-webgpu'); // registers kernels + flags
  if (options.gradients !== false) await registerTfjsGradients();

  let device: GPUDevice | null = null;
  let adapterInfo = '';
  const engine = tf.engine() as unknown as { registryFactory: Record<string, unknown> };
  if ('webgpu' in engine.registryFactory) tf.removeBackend('webgpu');
  tf.registerBackend(
    'webgpu',
    async () => {
      const r = await requestTfjsDevice(gpu, tf.env().getBool('WEBGPU_USE_LOW_POWER_GPU'));
      device = r.device;
      const i = r.adapter.info;
      adapterInfo = [i.vendor, i.architecture, i.device, i.description && `(${i.description})`]
        .filter(Boolean)
        .join(' ');
      return new wg.WebGPUBackend(r.device, r.adapter.info);
    },
    3,
  );
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs-webgpu peer: backend init failed');
  await tf.ready();
  const backend = tf.backend() as unknown as WebGPUBackendLike;

  async function sync(): Promise<void> {
    // tfjs defers queue.submit until WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE (15)
    // dispatches are recorded; flush the rest, then wait for the queue.
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.submitQueue();
    await backend.device.queue.onSubmittedWorkDone();
  }

  function leakChecked(name: string, inputs: () => TfCore.Tensor[]) {
    let before = 0;
    return {
      mark() {
        before = tf.memory().numTensors;
      },
      async check() {
        tf.dispose(inputs());
        await sync();
        const after = tf.memory().numTensors;
        if (after !== before) throw new Error(`tfjs-webgpu peer ${name}: leaked ${after - before} tensors`);
      },
    };
  }

  function matmul(n: number, opsPerRun?: number): PeerCase {
    const flops = 2 * n * n * n;
    const reps = opsPerRun ?? Math.min(64, Math.max(2, Math.ceil(0.5e9 / flops)));
    let a: TfCore.Tensor2D | null = null;
    let b: TfCore.Tensor2D | null = null;
    const leak = leakChecked(`matmul-${n}`, () => [a!, b!]);
    return {
      name: `matmul-${n}`,
      unit: 'GFLOPS',
      work: flops,
      opsPerRun: reps,
      async setup() {
        leak.mark();
        a = tf.randomUniform([n, n], -1, 1, 'float32', 1) as TfCore.Tensor2D;
        b = tf.randomUniform([n, n], -1, 1, 'float32', 2) as TfCore.Tensor2D;
      },
      async run() {
        for (let i = 0; i < reps; i++) tf.matMul(a!, b!).dispose();
        await sync();
      },
      async teardown() {
        await leak.check();
        a = b = null;
      },
    };
  }

  function elementwiseAdd(n: number, opsPerRun?: number): PeerCase {
    const bytes = 3 * 4 * n;
    const reps = opsPerRun ?? Math.min(64, Math.max(4, Math.ceil(64e6 / bytes)));
    let a: TfCore.Tensor1D | null = null;
    let b: TfCore.Tensor1D | null = null;
    const leak = leakChecked(`add-${n}`, () => [a!, b!]);
    return {
      name: `add-${n}`,
      unit: 'GB/s',
      work: bytes,
      opsPerRun: reps,
      async setup() {
        leak.mark();
        a = tf.randomUniform([n], -1, 1, 'float32', 3) as TfCore.Tensor1D;
        b = tf.randomUniform([n], -1, 1, 'float32', 4) as TfCore.Tensor1D;
      },
      async run() {
        for (let i = 0; i < reps; i++) tf.add(a!, b!).dispose();
        await sync();
      },
      async teardown() {
        await leak.check();
        a = b = null;
      },
    };
  }

  function smallDispatch(opsPerRun = 256): PeerCase {
    let a: TfCore.Tensor1D | null = null;
    let b: TfCore.Tensor1D | null = null;
    let cpuForward = true;
    const leak = leakChecked('dispatch-small', () => [a!, b!]);
    return {
      name: 'dispatch-small',
      unit: 'us',
      work: 0,
      opsPerRun,
      async setup() {
        // tfjs runs ops on tiny CPU-resident inputs on the CPU
        // (WEBGPU_CPU_FORWARD, < 1000 elements); force real GPU dispatches.
        cpuForward = tf.env().getBool('WEBGPU_CPU_FORWARD');
        tf.env().set('WEBGPU_CPU_FORWARD', false);
        leak.mark();
        a = tf.tensor1d([1, 2, 3, 4], 'float32');
        b = tf.tensor1d([5, 6, 7, 8], 'float32');
      },
      async run() {
        for (let i = 0; i < opsPerRun; i++) tf.add(a!, b!).dispose();
        await sync();
      },
      async teardown() {
        await leak.check();
        a = b = null;
        tf.env().set('WEBGPU_CPU_FORWARD', cpuForward);
      },
    };
  }

  function conv2d(pass: 'fwd' | 'dgrad' | 'wgrad', s: ConvShape, opsPerRun = 4): PeerCase {
    const OH = Math.floor((s.H + 2 * s.pad - s.K) / s.stride) + 1,
      OW = Math.floor((s.W + 2 * s.pad - s.K) / s.stride) + 1;
    const flops = 2 * s.N * s.O * OH * OW * s.C * s.K * s.K;
    // explicit symmetric padding, as in our conv2d: [[0,0],[pad,pad],[pad,pad],[0,0]] (NHWC)
    const pad = [
      [0, 0],
      [s.pad, s.pad],
      [s.pad, s.pad],
      [0, 0],
    ] as [[number, number], [number, number], [number, number], [number, number]];
    const strides: [number, number] = [s.stride, s.stride];
    let a: TfCore.Tensor4D | null = null; // fwd, wgrad: x (N,H,W,C); dgrad: dy (N,OH,OW,O)
    let b: TfCore.Tensor4D | null = null; // fwd, dgrad: filter (K,K,C,O); wgrad: dy (N,OH,OW,O)
    let bias: TfCore.Tensor1D | null = null;
    const name = `conv2d-${pass}`;
    const leak = leakChecked(name, () => [a!, b!, ...(bias ? [bias] : [])]);
    const op = (): TfCore.Tensor => {
      if (pass === 'fwd') {
        return tf.tidy(() => tf.add(tf.conv2d(a!, b!, strides, pad, 'NHWC'), bias!));
      }
      if (pass === 'dgrad') {
        return tf.engine().runKernel('Conv2DBackpropInput', { dy: a!, filter: b! }, {
          inputShape: [s.N, s.H, s.W, s.C],
          strides,
          pad,
          dataFormat: 'NHWC',
        } as unknown as TfCore.NamedAttrMap) as TfCore.Tensor;
      }
      return tf.engine().runKernel('Conv2DBackpropFilter', { x: a!, dy: b! }, {
        filterShape: [s.K, s.K, s.C, s.O],
        strides,
        pad,
        dataFormat: 'NHWC',
      } as unknown as TfCore.NamedAttrMap) as TfCore.Tensor;
    };
    return {
      name,
      unit: 'GFLOPS',
      work: flops,
      opsPerRun,
      async setup() {
        leak.mark();
        const x = () => tf.randomUniform([s.N, s.H, s.W, s.C], -1, 1, 'float32', 11) as TfCore.Tensor4D;
        const filt = () => tf.randomUniform([s.K, s.K, s.C, s.O], -1, 1, 'float32', 12) as TfCore.Tensor4D;
        const dy = () => tf.randomUniform([s.N, OH, OW, s.O], -1, 1, 'float32', 13) as TfCore.Tensor4D;
        if (pass === 'fwd') {
          a = x();
          b = filt();
          bias = tf.randomUniform([s.O], -1, 1, 'float32', 14) as TfCore.Tensor1D;
        } else if (pass === 'dgrad') {
          a = dy();
          b = filt();
        } else {
          a = x();
          b = dy();
        }
      },
      async run() {
        for (let i = 0; i < opsPerRun; i++) op().dispose();
        await sync();
      },
      async teardown() {
        await leak.check();
        a = b = bias = null;
      },
    };
  }

  async function dispose(): Promise<void> {
    if (device == null) return;
    try {
      await sync();
    } catch {
      /* backend may already be gone */
    }
    tf.removeBackend('webgpu'); // disposes WebGPUBackend (buffer pools) + unsets it
    (device as GPUDevice).destroy(); // without this Node never exits
    device = null;
  }

  return { cases: { matmul, elementwiseAdd, smallDispatch, conv2d }, tf, sync, dispose, adapterInfo };
}
