/**
 * Per-kernel GPU time, from timestamp queries (the adapter feature 'timestamp-query').
 *
 * While a Profiler is attached to the device (`device.startProfiling()`), every dispatch runs
 * in a compute pass of its own whose begin and end timestamps land in a query set. When the
 * batch is submitted the timestamps are resolved into a buffer and copied to a mappable one;
 * `collect()` (called by device.sync()) reads them and adds each dispatch's duration to its
 * kernel's total. Separate passes cost a little, so profile to find the hot kernels, not to
 * time the whole run.
 */
const SLOTS = 512; // dispatches per submitted batch that can be timed (2 timestamps each)

export interface KernelTime {
  kernel: string;
  calls: number;
  ms: number;
}

export class Profiler {
  private querySet: GPUQuerySet;
  private resolve: GPUBuffer;
  private keys: string[] = [];
  private pending: { buffer: GPUBuffer; keys: string[] }[] = [];
  private totals = new Map<string, { calls: number; ns: number }>();

  constructor(private device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * SLOTS, label: 'profiler' });
    this.resolve = device.createBuffer({
      size: 16 * SLOTS,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      label: 'profiler-resolve',
    });
  }

  /** True when the batch has no free slot: the device must submit first. */
  get full(): boolean {
    return this.keys.length >= SLOTS;
  }

  /** The timestampWrites of the pass that will hold this kernel's dispatch. */
  timestampWrites(kernel: string): GPUComputePassTimestampWrites {
    const i = this.keys.length;
    this.keys.push(kernel);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Before the batch's encoder is finished: resolve its timestamps into a readable copy. */
  resolveInto(encoder: GPUCommandEncoder): void {
    if (!this.keys.length) return;
    const bytes = 16 * this.keys.length;
    encoder.resolveQuerySet(this.querySet, 0, 2 * this.keys.length, this.resolve, 0);
    const buffer = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      label: 'profiler-read',
    });
    encoder.copyBufferToBuffer(this.resolve, 0, buffer, 0, bytes);
    this.pending.push({ buffer, keys: this.keys });
    this.keys = [];
  }

  /** Reads the timestamps of submitted batches (after their work is done). */
  async collect(): Promise<void> {
    const batches = this.pending;
    this.pending = [];
    for (const { buffer, keys } of batches) {
      await buffer.mapAsync(GPUMapMode.READ);
      const t = new BigUint64Array(buffer.getMappedRange());
      keys.forEach((k, i) => {
        const ns = Number(t[2 * i + 1] - t[2 * i]);
        const e = this.totals.get(k) ?? { calls: 0, ns: 0 };
        e.calls++;
        e.ns += ns > 0 ? ns : 0;
        this.totals.set(k, e);
      });
      buffer.unmap();
      buffer.destroy();
    }
  }

  /** Kernels by total time, longest first. */
  report(): KernelTime[] {
    return [...this.totals]
      .map(([kernel, e]) => ({ kernel, calls: e.calls, ms: e.ns / 1e6 }))
      .sort((a, b) => b.ms - a.ms);
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolve.destroy();
    for (const p of this.pending) p.buffer.destroy();
  }
}

/** A report as an aligned text table (top `n` kernels). */
export function formatProfile(rows: KernelTime[], n = 20): string {
  const total = rows.reduce((a, r) => a + r.ms, 0);
  const lines = rows
    .slice(0, n)
    .map(
      (r) =>
        `${r.ms.toFixed(1).padStart(10)} ms ${((100 * r.ms) / total).toFixed(1).padStart(5)}% ${String(r.calls).padStart(7)} calls  ${r.kernel}`,
    );
  return [`${total.toFixed(1).padStart(10)} ms total GPU time`, ...lines].join('\n');
}
