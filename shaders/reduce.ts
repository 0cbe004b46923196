/**
 * Reductions over one contiguous block of axes. The input is viewed as (outer, R, inner):
 * output element (o, k) combines input[o, r, k] for r in [0, R). Any set of adjacent axes
 * fits this view; other sets are permuted into it first (src/ops/reduce.ts).
 *
 * Two kernels, chosen by shape:
 *   serial     one invocation per output: many outputs, short rows
 *   workgroup  64 invocations per output stride over R, then a tree in workgroup memory:
 *              few outputs, long rows (a full sum, a bias gradient)
 */
import { flatMain } from './common.js';

export type ReduceOp = 'sum' | 'max';
const INIT: Record<ReduceOp, string> = { sum: '0.0', max: '-3.4028234663852886e38' };
const COMBINE: Record<ReduceOp, (a: string, b: string) => string> = {
  sum: (a, b) => `${a} + ${b}`,
  max: (a, b) => `max(${a}, ${b})`,
};

const header = /* wgsl */ `
struct Params { outer: u32, R: u32, inner: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;`;

export function reduceSerialWgsl(op: ReduceOp): string {
  return `${header}
${flatMain}
  if (i >= p.outer * p.inner) { return; }
  let o = i / p.inner;
  let k = i % p.inner;
  var base = o * p.R * p.inner + k;
  var acc = ${INIT[op]};
  for (var r = 0u; r < p.R; r++) {
    acc = ${COMBINE[op]('acc', 'src[base]')};
    base += p.inner;
  }
  dst[i] = acc * p.scale;
}`;
}

export const REDUCE_WG = 64;

export function reduceWorkgroupWgsl(op: ReduceOp): string {
  return `${header}
var<workgroup> partial: array<f32, ${REDUCE_WG}>;
@compute @workgroup_size(${REDUCE_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = wid.y * nwg.x + wid.x;          // the output element of this workgroup
  let valid = i < p.outer * p.inner;
  let o = i / p.inner;
  let k = i % p.inner;
  var acc = ${INIT[op]};
  if (valid) {
    for (var r = lid; r < p.R; r += ${REDUCE_WG}u) {
      acc = ${COMBINE[op]('acc', 'src[(o * p.R + r) * p.inner + k]')};
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = ${REDUCE_WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] = ${COMBINE[op]('partial[lid]', 'partial[lid + s]')}; }
    workgroupBarrier();
  }
  if (lid == 0u && valid) { dst[i] = partial[0] * p.scale; }
}`;
}
