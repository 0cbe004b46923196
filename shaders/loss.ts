/**
 * Kernels of the loss family: integer-indexed reads (oneHot, pick, gatherRows; their op is
 * src/ops/indexing.ts), and the fused cross-entropy forward and backward and the ArcFace margin
 * (src/ops/loss.ts).
 *
 * Index inputs are `array<i32>`. An index outside [0, K) never causes an out-of-bounds read:
 * reads are clamped, and the result is written as NaN (bits 0x7fc00000, passed in the uniform
 * `nan` so no constant NaN appears in the shader text) so that a bad label is visible in the
 * loss instead of silently wrong. oneHot writes an all-zero row for such an index.
 *
 * Rows (B, K) are row-major. The row kernels run one invocation per row: B is a batch and
 * K a number of classes; each invocation walks its row with contiguous reads.
 */
import { flatMain } from './common.js';

const indexHeader = /* wgsl */ `
struct Params { B: u32, K: u32, D: u32, nan: u32 }
@group(0) @binding(0) var<uniform> p: Params;`;

/** out (B, K) = 1 where k == idx[b], else 0. */
export function oneHotWgsl(): string {
  return `${indexHeader}
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${flatMain}
  if (i >= p.B * p.K) { return; }
  let b = i / p.K;
  let k = i % p.K;
  out[i] = select(0.0, 1.0, idx[b] == i32(k));
}`;
}

/** out (B, D) = x[idx[b], :] for x (K, D); pick is the case D = 1 read as x (B, K) with row b. */
export function gatherRowsWgsl(pick: boolean): string {
  // pick:       out[b] = x[b * K + idx[b]]
  // gatherRows: out[b * D + d] = x[idx[b] * D + d]
  const src = pick ? 'b * p.K + u32(j)' : 'u32(j) * p.D + d';
  return `${indexHeader}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${flatMain}
  if (i >= p.B * p.D) { return; }
  let b = i / p.D;
  let d = i % p.D;
  let raw = idx[b];
  let ok = raw >= 0 && raw < i32(p.K);
  let j = clamp(raw, 0, i32(p.K) - 1);
  out[i] = select(bitcast<f32>(p.nan), x[${src}], ok);
}`;
}

/**
 * Cross-entropy forward, one invocation per row b of x (B, K):
 *   lse[b] = m + log(sum_k exp(x[b,k] - m)),  m = max_k x[b,k]
 *   nll[b] = lse[b] - x[b, label[b]]          (NaN for a label outside [0, K))
 */
export function crossEntropyForwardWgsl(): string {
  return `${indexHeader}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read_write> nll: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
${flatMain}
  if (i >= p.B) { return; }
  let base = i * p.K;
  var m = -3.4028234663852886e38;
  for (var k = 0u; k < p.K; k++) { m = max(m, x[base + k]); }
  var s = 0.0;
  for (var k = 0u; k < p.K; k++) { s += exp(x[base + k] - m); }
  let l = m + log(s);
  let raw = labels[i];
  let ok = raw >= 0 && raw < i32(p.K);
  let picked = x[base + u32(clamp(raw, 0, i32(p.K) - 1))];
  lse[i] = l;
  nll[i] = select(bitcast<f32>(p.nan), l - picked, ok);
}`;
}

/** Cross-entropy backward: dx[b,k] = g[b] * (exp(x[b,k] - lse[b]) - [k == label[b]]). */
export function crossEntropyBackwardWgsl(): string {
  return `${indexHeader}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
${flatMain}
  if (i >= p.B * p.K) { return; }
  let b = i / p.K;
  let k = i % p.K;
  let y = select(0.0, 1.0, labels[b] == i32(k));
  dx[i] = g[b] * (exp(x[i] - lse[b]) - y);
}`;
}

/**
 * ArcFace margin, elementwise over cos (B, K) with the label column of each row special.
 * `order` 0 is the logit, 1 and 2 its first and second derivative wrt cos:
 *   other columns   f = s c                      f' = s   f'' = 0
 *   label column    f = s phi(c), with sin = sqrt(clamp((1 - c)(1 + c), 0, 1)):
 *     c > th        phi = c cos(m) - sin sin(m)  phi' = cos(m) + sin(m) c / sin   phi'' = sin(m) / sin^3
 *     otherwise     phi = c - mm                 phi' = 1                         phi'' = 0
 *   (easy margin: the condition is c > 0 and the other branch is phi = c)
 * In the derivatives sin is clamped below by p.sinEps, so they stay finite at c = +-1.
 * (1 - c)(1 + c) is exact-ish near |c| = 1 where 1 - c^2 would cancel.
 */
export function arcMarginWgsl(order: 0 | 1 | 2, easy: boolean): string {
  const cond = easy ? 'c > 0.0' : 'c > p.th';
  const other = easy ? ['c', '1.0', '0.0'][order] : ['c - p.mm', '1.0', '0.0'][order];
  const main = [
    'c * p.cosm - sn * p.sinm',
    'p.cosm + p.sinm * c / max(sn, p.sinEps)',
    'p.sinm / (max(sn, p.sinEps) * max(sn, p.sinEps) * max(sn, p.sinEps))',
  ][order];
  const plain = ['c', '1.0', '0.0'][order];
  return /* wgsl */ `
struct Params { B: u32, K: u32, s: f32, cosm: f32, sinm: f32, th: f32, mm: f32, sinEps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> cosine: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${flatMain}
  if (i >= p.B * p.K) { return; }
  let b = i / p.K;
  let k = i % p.K;
  let c = cosine[i];
  let sn = sqrt(clamp((1.0 - c) * (1.0 + c), 0.0, 1.0));
  let isLabel = labels[b] == i32(k);
  let f = select(${plain}, select(${other}, ${main}, ${cond}), isLabel);
  out[i] = p.s * f;
}`;
}
