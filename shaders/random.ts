/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
 * counter-based generator. Output block j of a stream is philox(counter = offset + j, key = seed):
 * no state is carried between invocations, so every adapter, and the CPU reference in
 * src/tensor/random.ts, produces the same bits in any order. Bits, uniforms and dropout masks
 * are exact integer/float conversions, hence bit-identical everywhere; normals go through
 * log/sin/cos, whose precision WGSL leaves to the adapter (see `normal` below).
 *
 * WGSL has no 32x32 -> 64-bit multiply, so mulhi is built from 16-bit halves.
 */
import { flatGrid } from './common.js';

export type RandomTransform = 'bits' | 'uniform' | 'normal' | 'bernoulli';

export const philoxWgsl = /* wgsl */ `
fn mulhi(a: u32, b: u32) -> u32 {
  let a0 = a & 0xffffu; let a1 = a >> 16u;
  let b0 = b & 0xffffu; let b1 = b >> 16u;
  let m1 = a1 * b0; let m2 = a0 * b1;
  let mid = ((a0 * b0) >> 16u) + (m1 & 0xffffu) + (m2 & 0xffffu);
  return a1 * b1 + (m1 >> 16u) + (m2 >> 16u) + (mid >> 16u);
}
fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = counter; var k = key;
  for (var r = 0u; r < 10u; r++) {
    let hi0 = mulhi(0xD2511F53u, c.x); let lo0 = 0xD2511F53u * c.x;
    let hi1 = mulhi(0xCD9E8D57u, c.z); let lo1 = 0xCD9E8D57u * c.z;
    c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}
// 24 random bits to a float in [0, 1): exact, so identical on every adapter.
fn toUnit(x: u32) -> f32 { return f32(x >> 8u) * (1.0 / 16777216.0); }`;

const TRANSFORMS: Record<RandomTransform, string> = {
  bits: `let v = bitcast<vec4<f32>>(r);`,
  uniform: `let v = vec4<f32>(toUnit(r.x), toUnit(r.y), toUnit(r.z), toUnit(r.w)) * (p.b - p.a) + p.a;`,
  // Box-Muller: u1 in (0, 1] so log(u1) is finite; two normals from each pair of uniforms.
  // theta in [-pi, pi), the range where WGSL bounds the error of sin and cos (2^-11 absolute):
  // normals agree across adapters to that precision, not bit for bit as the uniform bits do.
  normal: `let u1 = vec2<f32>(toUnit(r.x), toUnit(r.z)) + (1.0 / 16777216.0);
  let u2 = vec2<f32>(toUnit(r.y), toUnit(r.w));
  let radius = sqrt(-2.0 * log(u1));
  let theta = 6.283185307179586 * u2 - 3.141592653589793;
  let v = vec4<f32>(radius.x * cos(theta.x), radius.x * sin(theta.x), radius.y * cos(theta.y), radius.y * sin(theta.y)) * p.b + p.a;`,
  // dropout: keep with probability 1 - a, scaled by b = 1 / (1 - a)
  bernoulli: `let v = select(vec4<f32>(0.0), vec4<f32>(p.b), vec4<f32>(toUnit(r.x), toUnit(r.y), toUnit(r.z), toUnit(r.w)) >= vec4<f32>(p.a));`,
};

export function randomWgsl(transform: RandomTransform): string {
  return /* wgsl */ `
struct Params { n: u32, offsetLo: u32, offsetHi: u32, seedLo: u32, seedHi: u32, a: f32, b: f32, pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${philoxWgsl}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let j = (wid.y * nwg.x + wid.x) * 64u + lid;      // block index: 4 outputs per block
  if (j * 4u >= p.n) { return; }
  let lo = p.offsetLo + j;
  let hi = p.offsetHi + select(0u, 1u, lo < j);   // 64-bit counter with carry
  let r = philox(vec4<u32>(lo, hi, 0u, 0u), vec2<u32>(p.seedLo, p.seedHi));
  ${TRANSFORMS[transform]}
  for (var q = 0u; q < 4u; q++) {
    if (j * 4u + q < p.n) { out[j * 4u + q] = v[q]; }
  }
}`;
}

export function randomGrid(n: number): [number, number, number] {
  return flatGrid(Math.ceil(n / 4), 64);
}
