/**
 * Kernels that move data without arithmetic: strided gather (permute, slice, broadcast),
 * constant padding, and writing a block into a region of a larger tensor (concat).
 * All take shapes and strides as uniforms (rank unrolled at compile time, at most 8).
 */
import { dimFn, flatMain, offsetCode } from './common.js';

const header = /* wgsl */ `
struct Params {
  n: u32, base: u32, value: f32, pad: u32,
  shape: array<vec4<u32>, 2>,     // the shape iterated over (the output's, or the block's)
  strides: array<vec4<u32>, 2>,   // element strides of the other side, per dimension
  extra: array<vec4<u32>, 2>,     // pad: the input's shape; region: unused
  before: array<vec4<u32>, 2>,    // pad: padding before each dimension
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
${dimFn}`;

/** dst[i] = src[base + sum_d idx_d * strides_d]: permute, slice and broadcast in one kernel. */
export function gatherWgsl(rank: number): string {
  return `${header}
${flatMain}
  if (i >= p.n) { return; }
  ${offsetCode(rank, 'i', 'p.shape', 'p.strides', 'off')}
  dst[i] = src[p.base + off];
}`;
}

/** dst = src padded with `value`: before[d] elements before and the rest after, per dimension. */
export function padWgsl(rank: number): string {
  const lines = [`var rest = i;`, `var off = 0u;`, `var stride = 1u;`, `var inside = true;`];
  for (let d = rank - 1; d >= 0; d--) {
    lines.push(`{ let o = i32(rest % dim(p.shape, ${d}u)) - i32(dim(p.before, ${d}u));`);
    lines.push(`  inside = inside && o >= 0 && o < i32(dim(p.extra, ${d}u));`);
    lines.push(
      `  off += u32(max(o, 0)) * stride; stride *= dim(p.extra, ${d}u); rest /= dim(p.shape, ${d}u); }`,
    );
  }
  return `${header}
${flatMain}
  if (i >= p.n) { return; }
  ${lines.join('\n  ')}
  dst[i] = select(p.value, src[min(off, arrayLength(&src) - 1u)], inside);
}`;
}

/** dst[base + sum_d idx_d * strides_d] = src[i]: a block written into a region (concat). */
export function scatterRegionWgsl(rank: number): string {
  return `${header}
${flatMain}
  if (i >= p.n) { return; }
  ${offsetCode(rank, 'i', 'p.shape', 'p.strides', 'off')}
  dst[p.base + off] = src[i];
}`;
}
