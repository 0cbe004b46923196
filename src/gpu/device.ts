/**
 * The device layer: one GPUDevice and everything the engine needs around it.
 *
 * - Kernels: a WGSL module with entry point `main`, compiled once per cache key.
 *   Binding convention, for every kernel in this project:
 *     @group(0) @binding(0) var<uniform> p: Params;      // shapes, strides, scalars
 *     @group(0) @binding(1..n)  storage buffers, in the order given to `dispatch`
 * - Batching: dispatches are recorded into one command encoder and submitted together
 *   (`flush`), at the latest when something must reach the queue in order (a write, a read)
 *   or when `maxDispatchesPerSubmit` is reached. Nothing here waits for the GPU except `read`.
 * - Uniforms: each dispatch's Params go into a CPU arena at a 256-byte aligned offset; the
 *   arena is uploaded with one writeBuffer just before the batch is submitted.
 * - Errors: Dawn validation errors become exceptions that name the kernel (every pipeline and
 *   bind group is labelled with it). Errors arrive asynchronously, so they are thrown at the next
 *   `read`/`sync`; set SYNFACE_DEBUG=validate to check after every dispatch instead.
 * - Memory: storage buffers come from a size-bucketed pool (see buffer-pool.ts); readback uses
 *   a small pool of staging buffers.
 *
 * This file imports no Node module: the same code runs in Node (Dawn) and in a browser.
 */
import { BufferPool, bucketSize, type PoolStats } from './buffer-pool.js';
import { BindGroupCache, storageAccess, UNIFORM_SLOT } from './bind-groups.js';
import { debugLevel, debugFlag, log } from './debug.js';
import { Profiler, type KernelTime } from './profiler.js';
import { sleep, WaitPredictor, type WaitMode } from './wait.js';

export interface KernelDef {
  /** Cache key: the kernel's name plus everything its WGSL text depends on. */
  key: string;
  /** Generates the WGSL source (called once per key). */
  code: () => string;
}

export interface Binding {
  buffer: GPUBuffer;
  /** Bytes to bind, from offset 0 (a pooled buffer may be larger than the tensor). */
  size: number;
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A one-line name, e.g. "llvmpipe (LLVM 19.1.7, 256 bits) / mesa / vulkan". */
  name: string;
  /** True for CPU implementations (lavapipe, SwiftShader): kernels are tuned differently. */
  isCpu: boolean;
  /**
   * The smallest subgroup the adapter may run, 0 when the device has no 'subgroups' feature.
   * Kernels that trade values between lanes with subgroupBroadcast need a floor (8 lanes for
   * the matmul's shared-rows versions); lavapipe's subgroups are its 8 AVX2 lanes.
   */
  subgroupMinSize: number;
}

export class KernelError extends Error {
  constructor(kernel: string, message: string) {
    super(`GPU error in kernel '${kernel}': ${message}`);
    this.name = 'KernelError';
  }
}

const UNIFORM_ARENA_BYTES = 256 * 1024;

interface Kernel {
  pipeline: GPUComputePipeline;
  /** Access of the storage bindings, e.g. 'rrw' (see bind-groups.ts). */
  access: string;
}

export class Device {
  readonly pool: BufferPool;
  readonly limits: GPUSupportedLimits;
  maxDispatchesPerSubmit = 256;

  private kernels = new Map<string, Kernel>();
  private bindGroups: BindGroupCache;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private dispatchesInBatch = 0;
  private kernelsInBatch = new Set<string>();
  private uniformArena = new Uint8Array(UNIFORM_ARENA_BYTES);
  private uniformUsed = 0;
  private uniformBuffer: GPUBuffer;
  private staging = new Map<number, GPUBuffer[]>();
  private pendingErrors: Error[] = [];
  private compileChecks: Promise<void>[] = [];
  private destroyed = false;
  private profiler: Profiler | null = null;
  private profileEach = false;
  /** Dispatches recorded since creation (for benchmarks of launch overhead). */
  dispatchCount = 0;
  /** How read() and sync() wait (see wait.ts); SYNFACE_WAIT=spin turns prediction off. */
  readonly waiting = new WaitPredictor(envWaitMode());

  constructor(
    readonly gpu: GPUDevice,
    readonly adapter: AdapterDescription,
  ) {
    this.limits = gpu.limits;
    this.uniformBuffer = gpu.createBuffer({
      size: UNIFORM_ARENA_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: 'uniform-arena',
    });
    this.bindGroups = new BindGroupCache(gpu, this.uniformBuffer);
    this.pool = new BufferPool(gpu, 1 << 30, (buffer) => {
      this.flush(); // pending commands may still use it
      this.bindGroups.forget(buffer);
    });
    gpu.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.pendingErrors.push(
        new KernelError(labelIn(e.message) ?? [...this.kernelsInBatch].join(','), e.message),
      );
    });
  }

  /** The compiled kernel (compiled on first use, then cached by key). */
  kernel(def: KernelDef): Kernel {
    let k = this.kernels.get(def.key);
    if (k) return k;
    const code = def.code();
    if (debugLevel() >= 1) log(`compile ${def.key}`);
    if (debugLevel() >= 2) log(code);
    const access = storageAccess(code);
    this.gpu.pushErrorScope('validation');
    const module = this.gpu.createShaderModule({ code, label: def.key });
    const pipeline = this.gpu.createComputePipeline({
      layout: this.bindGroups.pipelineLayout(access),
      compute: { module, entryPoint: 'main' },
      label: def.key,
    });
    const key = def.key;
    this.compileChecks.push(
      this.gpu.popErrorScope().then(async (err) => {
        if (!err) return;
        const info = await module.getCompilationInfo();
        const lines = info.messages
          .map((m) => `  line ${m.lineNum}:${m.linePos} ${m.type}: ${m.message}`)
          .join('\n');
        this.kernels.delete(key);
        // the root cause goes first: later errors only say the pipeline was invalid
        this.pendingErrors.unshift(new KernelError(key, `${err.message}\n${lines}`));
      }),
    );
    k = { pipeline, access };
    this.kernels.set(def.key, k);
    return k;
  }

  /**
   * Records one compute dispatch. `params` is the uniform block (binding 0), `buffers` the
   * storage buffers (bindings 1..n). Nothing is submitted yet.
   */
  dispatch(
    def: KernelDef,
    params: Uint8Array,
    buffers: Binding[],
    workgroups: [number, number, number],
  ): void {
    this.checkAlive();
    const [x, y, z] = workgroups;
    const maxDim = this.limits.maxComputeWorkgroupsPerDimension;
    if (x === 0 || y === 0 || z === 0) return;
    if (x > maxDim || y > maxDim || z > maxDim) {
      throw new KernelError(
        def.key,
        `dispatch [${workgroups}] exceeds maxComputeWorkgroupsPerDimension ${maxDim}`,
      );
    }
    const kernel = this.kernel(def);
    if (buffers.length !== kernel.access.length) {
      throw new KernelError(
        def.key,
        `${buffers.length} buffers given, the kernel declares ${kernel.access.length} storage bindings`,
      );
    }
    if (params.byteLength > UNIFORM_SLOT)
      throw new KernelError(def.key, `Params of ${params.byteLength} bytes > ${UNIFORM_SLOT}`);
    if (
      this.uniformUsed + UNIFORM_SLOT > UNIFORM_ARENA_BYTES ||
      this.dispatchesInBatch >= this.maxDispatchesPerSubmit
    ) {
      this.flush();
    }
    const offset = this.uniformUsed;
    this.uniformArena.fill(0, offset, offset + UNIFORM_SLOT);
    this.uniformArena.set(params, offset);
    this.uniformUsed += UNIFORM_SLOT;

    // Bound sizes round up to 16 bytes, so a kernel may read any array as vec4 (pooled buffers
    // are at least 16 bytes and multiples of 16, so this never passes the buffer's end).
    const bound = buffers.map((b) => ({ buffer: b.buffer, size: Math.max(16, Math.ceil(b.size / 16) * 16) }));
    const validate = debugFlag('validate');
    if (validate) this.gpu.pushErrorScope('validation');
    const bindGroup = this.bindGroups.get(kernel.access, bound, def.key);
    if (this.profiler) {
      // one pass per dispatch, timestamped at its begin and end
      if (this.profiler.full) this.flush();
      this.pass?.end();
      this.encoder ??= this.gpu.createCommandEncoder();
      const key = this.profileEach ? `${def.key} ${dispatchShape(params, workgroups)}` : def.key;
      this.pass = this.encoder.beginComputePass({ timestampWrites: this.profiler.timestampWrites(key) });
    } else if (!this.pass) {
      this.encoder ??= this.gpu.createCommandEncoder();
      this.pass = this.encoder.beginComputePass();
    }
    this.pass!.setPipeline(kernel.pipeline);
    this.pass!.setBindGroup(0, bindGroup, [offset]);
    this.pass!.dispatchWorkgroups(x, y, z);
    if (this.profiler) {
      this.pass!.end();
      this.pass = null;
    }
    this.dispatchesInBatch++;
    this.dispatchCount++;
    this.kernelsInBatch.add(def.key);
    if (debugLevel() >= 3) log(`dispatch ${def.key} [${workgroups}]`);
    if (validate) {
      const key = def.key;
      this.compileChecks.push(
        this.gpu.popErrorScope().then((err) => {
          if (err) this.pendingErrors.push(new KernelError(key, err.message));
        }),
      );
    }
  }

  /** Submits everything recorded so far (uploading the batch's uniforms first). */
  flush(): void {
    if (!this.encoder) return;
    this.pass?.end();
    this.pass = null;
    if (this.uniformUsed > 0)
      this.gpu.queue.writeBuffer(this.uniformBuffer, 0, this.uniformArena, 0, this.uniformUsed);
    this.profiler?.resolveInto(this.encoder);
    this.gpu.queue.submit([this.encoder.finish()]);
    this.waiting.submitted(this.dispatchesInBatch);
    this.encoder = null;
    this.uniformUsed = 0;
    this.dispatchesInBatch = 0;
    this.kernelsInBatch.clear();
  }

  /**
   * Uploads data into a buffer. Pending dispatches are submitted first: a queue write runs
   * before any command not yet submitted, and the buffer may be a recycled one they still use.
   */
  write(buffer: GPUBuffer, data: ArrayBufferView, byteOffset = 0): void {
    this.checkAlive();
    this.flush();
    const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    const aligned = Math.floor(bytes.byteLength / 4) * 4;
    if (aligned > 0) this.gpu.queue.writeBuffer(buffer, byteOffset, bytes, 0, aligned);
    if (aligned < bytes.byteLength) {
      const tail = new Uint8Array(4);
      tail.set(bytes.subarray(aligned));
      this.gpu.queue.writeBuffer(buffer, byteOffset + aligned, tail);
    }
  }

  /** Records a buffer-to-buffer copy (in order with the dispatches around it). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.checkAlive();
    if (bytes === 0) return;
    this.pass?.end();
    this.pass = null;
    this.encoder ??= this.gpu.createCommandEncoder();
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Reads `bytes` bytes of a buffer back to the CPU: the one place that waits for the GPU. */
  async read(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    this.checkAlive();
    const padded = Math.ceil(bytes / 4) * 4;
    const size = bucketSize(padded);
    const stage =
      this.staging.get(size)?.pop() ??
      this.gpu.createBuffer({
        size,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        label: 'staging',
      });
    try {
      if (padded > 0) this.copy(buffer, 0, stage, 0, padded);
      this.flush();
      await this.waitForGpu(() => stage.mapAsync(GPUMapMode.READ, 0, size));
      const out = stage.getMappedRange(0, size).slice(0, bytes);
      stage.unmap();
      await this.throwPendingErrors();
      return out;
    } finally {
      if (stage.mapState === 'mapped') stage.unmap();
      let list = this.staging.get(size);
      if (!list) this.staging.set(size, (list = []));
      if (list.length < 4) list.push(stage);
      else stage.destroy();
    }
  }

  /** Waits until all submitted work is done, and throws any GPU error it raised. */
  async sync(): Promise<void> {
    this.flush();
    await this.waitForGpu(() => this.gpu.queue.onSubmittedWorkDone());
    await this.profiler?.collect();
    await this.throwPendingErrors();
  }

  /**
   * Starts timing every dispatch per kernel (needs the 'timestamp-query' feature; see
   * profiler.ts). `stopProfiling()` returns the kernels by total GPU time. With `byShape`, each
   * kernel's dispatches are told apart by their shape (dispatchShape: the first params words and
   * the workgroup counts), so that e.g. the matmuls of different layers get rows of their own.
   */
  startProfiling(opts: { byShape?: boolean } = {}): void {
    if (!this.gpu.features.has('timestamp-query'))
      throw new Error(`profiling needs the 'timestamp-query' feature, which ${this.adapter.name} lacks`);
    this.flush();
    this.profiler ??= new Profiler(this.gpu);
    this.profileEach = opts.byShape ?? false;
  }

  async stopProfiling(): Promise<KernelTime[]> {
    if (!this.profiler) return [];
    await this.sync();
    const rows = this.profiler.report();
    this.profiler.destroy();
    this.profiler = null;
    return rows;
  }

  /**
   * Waits for `done` (a promise that settles when the submitted work is finished): first sleeps
   * as the wait predictor says, then tells it how long the whole wait and its part after the
   * sleep took (wait.ts).
   */
  private async waitForGpu(done: () => Promise<unknown>): Promise<void> {
    const started = performance.now();
    const ms = this.waiting.sleepBefore();
    if (ms > 0) await sleep(ms);
    const woke = performance.now();
    await done();
    const end = performance.now();
    this.waiting.completed(end - started, ms > 0 ? end - woke : undefined);
  }

  async throwPendingErrors(): Promise<void> {
    if (this.compileChecks.length) {
      const checks = this.compileChecks;
      this.compileChecks = [];
      await Promise.all(checks);
    }
    if (this.pendingErrors.length) {
      const [first, ...rest] = this.pendingErrors;
      this.pendingErrors = [];
      if (rest.length) first.message += `\n(+${rest.length} more GPU errors)`;
      throw first;
    }
  }

  stats(): PoolStats & {
    pipelines: number;
    dispatches: number;
    bindGroups: number;
    bindGroupHitRate: number;
  } {
    const { hits, misses, size } = this.bindGroups;
    return {
      ...this.pool.stats(),
      pipelines: this.kernels.size,
      dispatches: this.dispatchCount,
      bindGroups: size,
      bindGroupHitRate: hits + misses ? hits / (hits + misses) : 0,
    };
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  /** Frees the device. In Node this is what lets the process exit. */
  destroy(): void {
    if (this.destroyed) return;
    this.flush();
    this.pool.trim();
    for (const list of this.staging.values()) for (const b of list) b.destroy();
    this.staging.clear();
    this.uniformBuffer.destroy();
    this.kernels.clear();
    this.bindGroups.clear();
    this.profiler?.destroy();
    this.destroyed = true;
    this.gpu.destroy();
  }

  private checkAlive(): void {
    if (this.destroyed) throw new Error('the GPU device was destroyed; call initGpu() again');
  }
}

function envWaitMode(): WaitMode {
  const g = globalThis as { process?: { env?: Record<string, string | undefined> } };
  return g.process?.env?.SYNFACE_WAIT === 'spin' ? 'spin' : 'predict';
}

/** Dawn quotes labels as [ComputePipeline "name"]; return the first quoted name. */
function labelIn(message: string): string | undefined {
  return /"([^"]+)"/.exec(message)?.[1];
}

/**
 * A profile key's shape part: the first 6 words of a dispatch's params (kernels put their sizes
 * first: M, N, K for a matmul, N, C, H, W... for a conv) and its workgroup counts.
 */
function dispatchShape(params: Uint8Array, workgroups: [number, number, number]): string {
  const view = new DataView(params.buffer, params.byteOffset, params.byteLength);
  const words = Array.from({ length: Math.min(6, params.byteLength >> 2) }, (_, i) =>
    view.getUint32(4 * i, true),
  );
  return `(${words.join(',')}) [${workgroups.join(',')}]`;
}
