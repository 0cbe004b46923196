/**
 * Probe: how fast can a lavapipe lane read memory? Each invocation sums R reads (lane-contiguous
 * addresses) from a storage buffer (f32 or vec4) or from a texture (textureLoad, rgba32float or
 * r32float), so the time per read is the time of the read path alone.
 *   npx tsx bench/load-probe.ts
 */
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = (await gpu.requestAdapter())!;
const device = await adapter.requestDevice();
const W = 1024,
  H = 256,
  R = 256; // texture/buffer extent; reads per invocation
const inv = 64 * 1024; // invocations
const U = GPUBufferUsage;
const out = device.createBuffer({ size: inv * 16, usage: U.STORAGE });
const data = new Float32Array(W * H * 4).map((_, i) => (i % 7) * 0.25);
const buf = device.createBuffer({ size: data.byteLength, usage: U.STORAGE | U.COPY_DST });
device.queue.writeBuffer(buf, 0, data);
const tex4 = device.createTexture({
  size: [W, H],
  format: 'rgba32float',
  usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
});
device.queue.writeTexture({ texture: tex4 }, data, { bytesPerRow: W * 16 }, [W, H]);
const tex1 = device.createTexture({
  size: [W, H],
  format: 'r32float',
  usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
});
device.queue.writeTexture({ texture: tex1 }, data.subarray(0, W * H), { bytesPerRow: W * 4 }, [W, H]);

const kernels: Record<string, { code: string; res: GPUBindingResource; floats: number }> = {
  'buffer f32': {
    floats: 1,
    res: { buffer: buf },
    code: `
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  var s = 0.0; let base = g.x % ${W};
  for (var r = 0u; r < ${R}u; r++) { s += src[r * ${W}u + base]; }
  dst[g.x] = vec4f(s);
}`,
  },
  'buffer vec4': {
    floats: 4,
    res: { buffer: buf },
    code: `
@group(0) @binding(0) var<storage, read> src: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  var s = vec4f(0.0); let base = g.x % ${W};
  for (var r = 0u; r < ${R}u; r++) { s += src[r * ${W}u + base]; }
  dst[g.x] = s;
}`,
  },
  'texture r32float': {
    floats: 1,
    res: tex1.createView(),
    code: `
@group(0) @binding(0) var src: texture_2d<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  var s = 0.0; let base = g.x % ${W};
  for (var r = 0u; r < ${R}u; r++) { s += textureLoad(src, vec2u(base, r), 0).x; }
  dst[g.x] = vec4f(s);
}`,
  },
  'texture rgba32float': {
    floats: 4,
    res: tex4.createView(),
    code: `
@group(0) @binding(0) var src: texture_2d<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  var s = vec4f(0.0); let base = g.x % ${W};
  for (var r = 0u; r < ${R}u; r++) { s += textureLoad(src, vec2u(base, r), 0); }
  dst[g.x] = s;
}`,
  },
};
for (const [name, k] of Object.entries(kernels)) {
  const pipe = await device.createComputePipelineAsync({
    layout: 'auto',
    compute: { module: device.createShaderModule({ code: k.code }), entryPoint: 'main' },
  });
  const bg = device.createBindGroup({
    layout: pipe.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: k.res },
      { binding: 1, resource: { buffer: out } },
    ],
  });
  const run = async (n: number) => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipe);
    pass.setBindGroup(0, bg);
    for (let i = 0; i < n; i++) pass.dispatchWorkgroups(inv / 64);
    pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  await run(1);
  let best = Infinity;
  for (let t = 0; t < 3; t++) {
    const t0 = performance.now();
    await run(4);
    best = Math.min(best, (performance.now() - t0) / 4);
  }
  const reads = inv * R;
  console.log(
    `${name.padEnd(22)} ${best.toFixed(1).padStart(7)} ms  ${(reads / best / 1e6).toFixed(2).padStart(7)} G reads/s  ${((reads * k.floats) / best / 1e6).toFixed(2).padStart(7)} G floats/s`,
  );
}
process.exit(0);
