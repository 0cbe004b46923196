/**
 * StyleGAN kernels.
 *
 * groupStd: minibatch standard deviation. x is viewed as (G, n, Q) (Q = C H W: sample g n + j
 * is in group j, StyleGAN2's reshape(G, -1, ...)); out[j, q] = sqrt(var over g of x[g, j, q] + eps),
 * the biased variance of the group, computed in two passes (mean first).
 */
import { flatMain } from './common.js';

export function groupStdWgsl(): string {
  return /* wgsl */ `
struct Params { n: u32, G: u32, groups: u32, Q: u32, eps: f32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${flatMain}
  if (i >= p.n) { return; }
  let stride = p.groups * p.Q;   // from one member of a group to the next
  var m = 0.0;
  for (var g = 0u; g < p.G; g++) { m += x[g * stride + i]; }
  m /= f32(p.G);
  var v = 0.0;
  for (var g = 0u; g < p.G; g++) { let d = x[g * stride + i] - m; v += d * d; }
  out[i] = sqrt(v / f32(p.G) + p.eps);
}`;
}
