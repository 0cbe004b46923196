/**
 * Optimizer kernels: each parameter update is one fused kernel that reads the gradient and
 * the optimizer state once and writes the parameter and the state in place.
 *
 * Factors such as 1 - beta come from the CPU, computed in float64 (1 - f32(0.999) is 5e-5 off).
 * The update kernels are elementwise, so with `vec4` one invocation handles four elements
 * (n % 4 == 0): every expression below is valid for f32 and vec4<f32> alike.
 *
 * Gradient clipping is three small kernels: partial sums of squares per gradient, one
 * workgroup that adds them up into the norm and the clip coefficient, and a scale by that
 * coefficient (read from a buffer: nothing returns to the CPU).
 */
import { flatMain } from './common.js';

const elem = (vec4: boolean) => (vec4 ? 'vec4<f32>' : 'f32');
const guard = (vec4: boolean) => `if (${vec4 ? 'i * 4u' : 'i'} >= p.n) { return; }`;

export interface SgdSpec {
  momentum: boolean;
  nesterov: boolean;
  vec4: boolean;
}

export const sgdKey = (s: SgdSpec) =>
  `optim:sgd:${s.momentum ? 'm' : ''}${s.nesterov ? 'n' : ''}${s.vec4 ? ':vec4' : ''}`;

/**
 * PyTorch SGD: d = g + wd * param; buf = first ? d : momentum * buf + (1 - dampening) * d;
 * d = nesterov ? d + momentum * buf : buf; param -= lr * d.
 */
export function sgdWgsl(s: SgdSpec): string {
  const T = elem(s.vec4);
  return /* wgsl */ `
struct Params { n: u32, lr: f32, momentum: f32, one_minus_dampening: f32, weight_decay: f32, first: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<${T}>;
@group(0) @binding(2) var<storage, read> grad: array<${T}>;
${s.momentum ? `@group(0) @binding(3) var<storage, read_write> buf: array<${T}>;` : ''}
${flatMain}
  ${guard(s.vec4)}
  let w = param[i];
  var d = grad[i];
  if (p.weight_decay != 0.0) { d = d + p.weight_decay * w; }
  ${
    s.momentum
      ? `var b = d;
  if (p.first == 0u) { b = p.momentum * buf[i] + p.one_minus_dampening * d; }
  buf[i] = b;
  ${s.nesterov ? 'd = d + p.momentum * b;' : 'd = b;'}`
      : ''
  }
  param[i] = w - p.lr * d;
}`;
}

export interface AdamSpec {
  decoupled: boolean;
  vec4: boolean;
}

export const adamKey = (s: AdamSpec) => `optim:adam:${s.decoupled ? 'w' : 'l2'}${s.vec4 ? ':vec4' : ''}`;

/**
 * PyTorch Adam / AdamW. step_size = lr / bc1 and bc2_sqrt = sqrt(bc2) come from the CPU
 * (1 and 1 without bias correction), and decay = 1 - lr * wd for AdamW:
 *   Adam:  d = g + wd * param          AdamW: param *= 1 - lr * wd, d = g
 *   m = b1 m + (1 - b1) d;  v = b2 v + (1 - b2) d^2
 *   param -= step_size * m / (sqrt(v) / bc2_sqrt + eps)
 */
export function adamWgsl(s: AdamSpec): string {
  const T = elem(s.vec4);
  return /* wgsl */ `
struct Params { n: u32, lr: f32, beta1: f32, beta2: f32, eps: f32, weight_decay: f32, step_size: f32, bc2_sqrt: f32,
                 one_minus_beta1: f32, one_minus_beta2: f32, decay: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<${T}>;
@group(0) @binding(2) var<storage, read> grad: array<${T}>;
@group(0) @binding(3) var<storage, read_write> m: array<${T}>;
@group(0) @binding(4) var<storage, read_write> v: array<${T}>;
${flatMain}
  ${guard(s.vec4)}
  var w = param[i];
  var d = grad[i];
  ${s.decoupled ? 'w = w * p.decay;' : 'if (p.weight_decay != 0.0) { d = d + p.weight_decay * w; }'}
  let m1 = p.beta1 * m[i] + p.one_minus_beta1 * d;
  let v1 = p.beta2 * v[i] + p.one_minus_beta2 * d * d;
  m[i] = m1;
  v[i] = v1;
  param[i] = w - p.step_size * (m1 / (sqrt(v1) / p.bc2_sqrt + p.eps));
}`;
}

export const emaKey = (vec4: boolean) => `optim:ema${vec4 ? ':vec4' : ''}`;

/** target = source + beta * (target - source), i.e. source.lerp(target, beta) (StyleGAN's G_ema). */
export function emaWgsl(vec4: boolean): string {
  const T = elem(vec4);
  return /* wgsl */ `
struct Params { n: u32, beta: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<${T}>;
@group(0) @binding(2) var<storage, read> src: array<${T}>;
${flatMain}
  ${guard(vec4)}
  let s = src[i];
  dst[i] = s + p.beta * (dst[i] - s);
}`;
}

/** Values summed per invocation (at most) by the partial sum-of-squares kernel. */
export const SUMSQ_CHUNK = 256;

/**
 * partials[base + j] = sum of x[k]^2 for k = j, j + count, j + 2 count, ... < n
 * (one invocation per partial; adjacent invocations read adjacent elements).
 */
export function sumSquaresWgsl(): string {
  return /* wgsl */ `
struct Params { n: u32, base: u32, count: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
${flatMain}
  if (i >= p.count) { return; }
  var acc = 0.0;
  for (var k = i; k < p.n; k += p.count) {
    let v = x[k];
    acc += v * v;
  }
  partials[p.base + i] = acc;
}`;
}

export const NORM_WG = 64;

/** One workgroup: norm = sqrt(sum(partials)), coef = min(max_norm / (norm + 1e-6), 1). */
export function clipFinalizeWgsl(): string {
  return /* wgsl */ `
struct Params { count: u32, max_norm: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> norm: array<f32>;
@group(0) @binding(3) var<storage, read_write> coef: array<f32>;
var<workgroup> sums: array<f32, ${NORM_WG}>;
@compute @workgroup_size(${NORM_WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var k = lid; k < p.count; k += ${NORM_WG}u) { acc += partials[k]; }
  sums[lid] = acc;
  workgroupBarrier();
  for (var s = ${NORM_WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { sums[lid] += sums[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let total = sqrt(sums[0]);
    norm[0] = total;
    coef[0] = min(p.max_norm / (total + 1e-6), 1.0);
  }
}`;
}

export const scaleByKey = (vec4: boolean) => `optim:scale_by${vec4 ? ':vec4' : ''}`;

/** x *= factor[0], in place. */
export function scaleByWgsl(vec4: boolean): string {
  const T = elem(vec4);
  return /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<${T}>;
@group(0) @binding(2) var<storage, read> factor: array<f32>;
${flatMain}
  ${guard(vec4)}
  x[i] = x[i] * factor[0];
}`;
}
