/**
 * The device layer: adapter name, kernel compile errors, buffer buckets, batching, profiling.
 * Oracle: hand-computed bucket sizes and dispatch counts, and the expected error messages.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { bucketSize } from '../src/gpu/buffer-pool.js';

describe('device layer', () => {
  it('names the adapter', () => {
    expect(E.getDevice().adapter.name.length).toBeGreaterThan(0);
  });

  it('a WGSL compile error becomes an exception naming the kernel and the line', async () => {
    const device = E.getDevice();
    const out = E.zeros([4]);
    device.dispatch(
      {
        key: 'broken-kernel',
        code: () =>
          `@group(0) @binding(0) var<uniform> p: vec4<u32>;\n@group(0) @binding(1) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(1) fn main() { o[0] = undefined_thing; }`,
      },
      new E.Params().u32(0).bytes(),
      [out.binding()],
      [1, 1, 1],
    );
    await expect(device.sync()).rejects.toThrow(/kernel 'broken-kernel'[\s\S]*undefined_thing/);
    out.dispose();
  });

  it('buckets round up to powers of two, then eighths', () => {
    expect(bucketSize(1)).toBe(16);
    expect(bucketSize(1000)).toBe(1024);
    expect(bucketSize(65537)).toBe(65536 + 8192);
    expect(bucketSize(1 << 20)).toBe(1 << 20);
  });

  it('tensor() checks its input', () => {
    expect(() => E.tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2,2\]/);
    expect(() => E.tensor([1.5], [1], 'i32')).toThrow(/value 1.5 at index 0 is not a valid i32/);
    expect(() => E.zeros([2, -1])).toThrow(/invalid dimension -1/);
  });

  it('integer tensors round-trip', async () => {
    const t = E.tensor([3, -1, 7], [3], 'i32');
    expect([...(await t.toArray())]).toEqual([3, -1, 7]);
    expect(() => E.exp(t)).toThrow(/expected an f32 tensor, got i32/);
    t.dispose();
  });

  it('batches many dispatches per submit', async () => {
    const device = E.getDevice();
    const x = E.zeros([64]);
    const before = device.dispatchCount;
    const y = E.scope(() => {
      let y = x;
      for (let i = 0; i < 600; i++) y = E.addScalar(y, 1);
      return y;
    });
    expect(device.dispatchCount - before).toBe(600);
    await expect(y.item()).rejects.toThrow(/item\(\) needs a one-element tensor/);
    expect((await y.toArray())[63]).toBe(600);
    x.dispose();
    y.dispose();
  });

  it('profiles GPU time per kernel with timestamp queries', async () => {
    const device = E.getDevice();
    if (!device.gpu.features.has('timestamp-query')) {
      expect(() => device.startProfiling()).toThrow(/timestamp-query/);
      return;
    }
    const x = E.ones([1 << 16]);
    device.startProfiling();
    E.scope(() => {
      for (let i = 0; i < 5; i++) E.exp(x);
      E.sum(x);
    });
    const rows = await device.stopProfiling();
    const exp = rows.find((r) => r.kernel.startsWith('elementwise:exp'));
    expect(exp?.calls).toBe(5);
    expect(exp!.ms).toBeGreaterThan(0);
    expect(rows.some((r) => r.kernel.startsWith('reduce'))).toBe(true);
    x.dispose();
  });
});
