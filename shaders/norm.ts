/**
 * Per-channel kernels for tensors viewed as (N, C, S): channel axis 1, S = product of the
 * spatial dimensions (1 for (N, C)). Used by batch norm, prelu and StyleGAN's bias_act.
 *
 *   channelMap     out[n, c, s] = expr(element inputs at [n, c, s], channel inputs at [c], scalars)
 *                  flat; four elements per invocation (vec4) when S % 4 == 0 (a vec4 then never
 *                  straddles two channels, so the channel inputs stay scalars)
 *   channelReduce  out_k[c] = sum over (n, s) of term_k(...): one workgroup per channel, lanes
 *                  stride over the (n, s) positions, then a tree in workgroup memory
 *   bnStats        per channel: mean (first pass, of x minus one of the channel's values, so
 *                  a large offset does not eat the digits of the sum), biased variance of x - mean (second pass,
 *                  not E[x^2] - E[x]^2), 1/sqrt(var + eps); optionally the running statistics
 *                  updated in place (PyTorch: running = (1 - m) running + m stat, unbiased var)
 *   axisNorm       x viewed as (outer, R, inner): out = x * f(sum over R of x^2), f = rsqrt of
 *                  the mean plus eps (pixel norm) or 1 / max(norm, eps) (L2 normalize)
 */
import { flatMain } from './common.js';

export const CHANNEL_WG = 64;

export interface ChannelMapSpec {
  name: string;
  /** Names of the inputs read per element (same shape as the output). */
  elems: string[];
  /** Names of the inputs read per channel (C values). */
  chans: string[];
  /**
   * A WGSL expression of those names, the scalars alpha, beta, gamma, zero, one (of the element
   * type: vec4 in vec4 mode, so comparisons and select work in both) and M (f32).
   */
  expr: string;
  vec4: boolean;
}

export function channelMapKey(s: ChannelMapSpec): string {
  return `channel-map:${s.name}:${s.elems.join(',')}:${s.chans.join(',')}:${s.expr}${s.vec4 ? ':vec4' : ''}`;
}

const mapParams = /* wgsl */ `
struct Params { n: u32, C: u32, S: u32, pad: u32, alpha: f32, beta: f32, gamma: f32, M: f32 }
@group(0) @binding(0) var<uniform> p: Params;`;

export function channelMapWgsl(s: ChannelMapSpec): string {
  const T = s.vec4 ? 'vec4<f32>' : 'f32';
  let b = 1;
  const decls = [
    ...s.elems.map((e) => `@group(0) @binding(${b++}) var<storage, read> in_${e}: array<${T}>;`),
    ...s.chans.map((e) => `@group(0) @binding(${b++}) var<storage, read> ch_${e}: array<f32>;`),
    `@group(0) @binding(${b++}) var<storage, read_write> out: array<${T}>;`,
  ];
  return `${mapParams}
${decls.join('\n')}
${flatMain}
  if (i >= p.n) { return; }
  let c = (i / p.S) % p.C;   // p.S counts vec4 in vec4 mode
  let alpha = ${T}(p.alpha); let beta = ${T}(p.beta); let gamma = ${T}(p.gamma); let M = p.M;
  let zero = ${T}(0.0); let one = ${T}(1.0);
  ${s.elems.map((e) => `let ${e} = in_${e}[i];`).join(' ')}
  ${s.chans.map((e) => `let ${e} = ch_${e}[c];`).join(' ')}
  out[i] = ${T}(${s.expr});
}`;
}

export interface ChannelReduceSpec {
  name: string;
  elems: string[];
  chans: string[];
  /** One WGSL f32 expression per output (names as in channelMap, no scalars), summed over (n, s). */
  terms: string[];
}

export function channelReduceKey(s: ChannelReduceSpec): string {
  return `channel-reduce:${s.name}:${s.elems.join(',')}:${s.chans.join(',')}:${s.terms.join(';')}`;
}

const reduceParams = /* wgsl */ `
struct Params { N: u32, C: u32, S: u32, pad: u32, eps: f32, momentum: f32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> p: Params;`;

/**
 * The loop over one channel's (n, s) positions, `body` using \`idx\`. Long rows (S >= 64): lanes
 * stride over s inside each n (no division); short rows: a flat index split by one division.
 */
function channelLoop(body: string): string {
  return `
  if (p.S >= ${CHANNEL_WG}u) {
    for (var n = 0u; n < p.N; n++) {
      let base = (n * p.C + c) * p.S;
      for (var s = lid; s < p.S; s += ${CHANNEL_WG}u) { let idx = base + s; ${body} }
    }
  } else {
    let total = p.N * p.S;
    for (var j = lid; j < total; j += ${CHANNEL_WG}u) {
      let n = j / p.S;
      let idx = (n * p.C + c) * p.S + (j - n * p.S);
      ${body}
    }
  }`;
}

function treeReduce(k: number): string {
  const adds = [...Array(k).keys()].map((q) => `part${q}[lid] += part${q}[lid + s];`).join(' ');
  return `
  workgroupBarrier();
  for (var s = ${CHANNEL_WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { ${adds} }
    workgroupBarrier();
  }`;
}

const reduceMain = /* wgsl */ `
@compute @workgroup_size(${CHANNEL_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let c = min(wid.y * nwg.x + wid.x, p.C - 1u);   // the grid is exactly C workgroups (C <= 65535)`;

export function channelReduceWgsl(s: ChannelReduceSpec): string {
  const K = s.terms.length;
  let b = 1;
  const decls = [
    ...s.elems.map((e) => `@group(0) @binding(${b++}) var<storage, read> in_${e}: array<f32>;`),
    ...s.chans.map((e) => `@group(0) @binding(${b++}) var<storage, read> ch_${e}: array<f32>;`),
    ...s.terms.map((_, k) => `@group(0) @binding(${b++}) var<storage, read_write> out${k}: array<f32>;`),
  ];
  const parts = s.terms.map((_, k) => `var<workgroup> part${k}: array<f32, ${CHANNEL_WG}>;`).join('\n');
  const body = `${s.elems.map((e) => `let ${e} = in_${e}[idx];`).join(' ')} ${s.terms.map((t, k) => `acc${k} += ${t};`).join(' ')}`;
  return `${reduceParams}
${decls.join('\n')}
${parts}
${reduceMain}
  ${s.chans.map((e) => `let ${e} = ch_${e}[c];`).join(' ')}
  let zero = 0.0; let one = 1.0;
  ${s.terms.map((_, k) => `var acc${k} = 0.0;`).join(' ')}
  ${channelLoop(body)}
  ${s.terms.map((_, k) => `part${k}[lid] = acc${k};`).join(' ')}
  ${treeReduce(K)}
  if (lid == 0u) { ${s.terms.map((_, k) => `out${k}[c] = part${k}[0];`).join(' ')} }
}`;
}

/** Bindings: x, mean (out), rstd (out), and with `update` runningMean, runningVar (in place). */
export function bnStatsWgsl(update: boolean): string {
  const run = update
    ? `@group(0) @binding(4) var<storage, read_write> runMean: array<f32>;
@group(0) @binding(5) var<storage, read_write> runVar: array<f32>;`
    : '';
  const write = update
    ? `runMean[c] = (1.0 - p.momentum) * runMean[c] + p.momentum * m;
    runVar[c] = (1.0 - p.momentum) * runVar[c] + p.momentum * v * (count / (count - 1.0));`
    : '';
  return `${reduceParams}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
${run}
var<workgroup> part0: array<f32, ${CHANNEL_WG}>;
${reduceMain}
  let count = f32(p.N * p.S);
  let shift = x[c * p.S];   // sum x - shift (one of the channel's values): small terms, exact differences
  var acc0 = 0.0;
  ${channelLoop('acc0 += x[idx] - shift;')}
  part0[lid] = acc0;
  ${treeReduce(1)}
  let m = shift + part0[0] / count;
  workgroupBarrier();   // everyone has read part0[0] before it is overwritten
  acc0 = 0.0;
  ${channelLoop('let d = x[idx] - m; acc0 += d * d;')}
  part0[lid] = acc0;
  ${treeReduce(1)}
  if (lid == 0u) {
    let v = part0[0] / count;
    mean[c] = m;
    rstd[c] = inverseSqrt(v + p.eps);
    ${write}
  }
}`;
}

export type AxisNormMode = 'pixel' | 'l2';

/** Bindings: x, out. One invocation per (outer, inner) position, two passes over R. */
export function axisNormWgsl(mode: AxisNormMode): string {
  const factor = mode === 'pixel' ? 'inverseSqrt(ss / f32(p.R) + p.eps)' : '1.0 / max(sqrt(ss), p.eps)';
  return `
struct Params { outer: u32, R: u32, inner: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${flatMain}
  if (i >= p.outer * p.inner) { return; }
  let o = i / p.inner;
  let base = o * p.R * p.inner + (i - o * p.inner);
  var ss = 0.0;
  for (var r = 0u; r < p.R; r++) { let v = x[base + r * p.inner]; ss += v * v; }
  let f = ${factor};
  for (var r = 0u; r < p.R; r++) { out[base + r * p.inner] = x[base + r * p.inner] * f; }
}`;
}
