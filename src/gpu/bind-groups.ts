/**
 * Explicit bind group layouts and a bind group cache.
 *
 * Creating a bind group is the most expensive call of a dispatch (about 27 us in Dawn on this
 * machine, against 4 us to encode the dispatch itself). In a training loop the pooled buffers
 * recur, so the same (layout, buffers) combinations recur, and a bind group can be reused if
 * the one thing that changes every dispatch, the uniform block's place in the arena, is a
 * dynamic offset. That needs explicit layouts (layout: 'auto' forbids dynamic offsets), which
 * are derived here from the kernel's WGSL: binding 0 is the uniform block, bindings 1..n are
 * storage buffers, read-only or read-write as declared.
 */
export const UNIFORM_SLOT = 256;

/** The access of each storage binding 1..n, read from the WGSL declarations. */
export function storageAccess(code: string): string {
  const access: string[] = [];
  for (const m of code.matchAll(/@binding\((\d+)\)\s*var<storage,\s*(read_write|read)>/g))
    access[Number(m[1]) - 1] = m[2] === 'read' ? 'r' : 'w';
  for (let i = 0; i < access.length; i++)
    if (!access[i])
      throw new Error(`kernel WGSL: storage binding ${i + 1} is missing (bindings must be 1..n)`);
  return access.join('');
}

export class BindGroupCache {
  private layouts = new Map<string, { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout }>();
  private groups = new Map<string, GPUBindGroup>();
  private byBuffer = new Map<GPUBuffer, Set<string>>();
  private ids = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  hits = 0;
  misses = 0;

  constructor(
    private device: GPUDevice,
    private uniformBuffer: GPUBuffer,
    private maxEntries = 16384,
  ) {}

  /** The pipeline layout for kernels whose storage bindings have this access pattern. */
  pipelineLayout(access: string): GPUPipelineLayout {
    return this.layout(access).pipeline;
  }

  /** A bind group for these buffers (and the uniform arena at a dynamic offset). */
  get(access: string, buffers: { buffer: GPUBuffer; size: number }[], label: string): GPUBindGroup {
    let key = access;
    for (const b of buffers) key += `|${this.id(b.buffer)}:${b.size}`;
    const cached = this.groups.get(key);
    if (cached) {
      this.hits++;
      return cached;
    }
    this.misses++;
    if (this.groups.size >= this.maxEntries) this.clear();
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.uniformBuffer, offset: 0, size: UNIFORM_SLOT } },
    ];
    buffers.forEach((b, i) =>
      entries.push({ binding: i + 1, resource: { buffer: b.buffer, offset: 0, size: b.size } }),
    );
    const group = this.device.createBindGroup({ layout: this.layout(access).group, entries, label });
    this.groups.set(key, group);
    for (const b of buffers) {
      let keys = this.byBuffer.get(b.buffer);
      if (!keys) this.byBuffer.set(b.buffer, (keys = new Set()));
      keys.add(key);
    }
    return group;
  }

  /** Drops every bind group that uses a buffer about to be destroyed. */
  forget(buffer: GPUBuffer): void {
    const keys = this.byBuffer.get(buffer);
    if (!keys) return;
    for (const k of keys) this.groups.delete(k);
    this.byBuffer.delete(buffer);
  }

  clear(): void {
    this.groups.clear();
    this.byBuffer.clear();
  }

  get size(): number {
    return this.groups.size;
  }

  private id(buffer: GPUBuffer): number {
    let id = this.ids.get(buffer);
    if (id === undefined) this.ids.set(buffer, (id = this.nextId++));
    return id;
  }

  private layout(access: string) {
    let l = this.layouts.get(access);
    if (l) return l;
    const entries: GPUBindGroupLayoutEntry[] = [
      {
        binding: 0,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: 0 },
      },
    ];
    [...access].forEach((a, i) =>
      entries.push({
        binding: i + 1,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: a === 'r' ? 'read-only-storage' : 'storage' },
      }),
    );
    const group = this.device.createBindGroupLayout({ entries, label: `layout:${access}` });
    l = {
      group,
      pipeline: this.device.createPipelineLayout({ bindGroupLayouts: [group], label: `layout:${access}` }),
    };
    this.layouts.set(access, l);
    return l;
  }
}
