/**
 * 2-D pooling over (planes, H, W) with planes = N * C, window (kh, kw), stride (sh, sw),
 * zero padding (ph, pw), output (OH, OW), one invocation per output (or per input for the
 * adjoints, which gather: input row h is covered by windows oh in
 * [ceil((h + ph - kh + 1) / sh), floor((h + ph) / sh)], so no atomics are needed).
 *
 *   avg        out = sum of the window's in-bounds values / (kh kw)   (padding counts as zeros)
 *   avg_bwd    the adjoint of avg
 *   max        out = the window's maximum (padding is -inf), idx = its in-plane index h W + w
 *              (the first maximum in scan order, as PyTorch)
 *   max_bwd    dx[h, w] = sum of g over the windows whose idx is (h, w)
 *   max_gather out = src[plane, idx]: the adjoint of max_bwd (its double backward)
 */
import { flatMain } from './common.js';

export type PoolKernel = 'avg' | 'avg_bwd' | 'max' | 'max_bwd' | 'max_gather';

const header = /* wgsl */ `
struct Params { n: u32, H: u32, W: u32, OH: u32, OW: u32, kh: u32, kw: u32, sh: u32, sw: u32, ph: u32, pw: u32, pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;`;

/** The output windows covering input (h, w): rows oh0..oh1, cols ow0..ow1 (inclusive, may be empty). */
const coverRange = /* wgsl */ `
  let plane = i / (p.H * p.W);
  let hw = i - plane * p.H * p.W;
  let h = hw / p.W;
  let w = hw - h * p.W;
  let hp = i32(h + p.ph);
  let wp = i32(w + p.pw);
  let oh0 = max((hp - i32(p.kh) + i32(p.sh)) / i32(p.sh), 0);     // ceil((hp - kh + 1) / sh), clamped at 0
  let oh1 = min(hp / i32(p.sh), i32(p.OH) - 1);
  let ow0 = max((wp - i32(p.kw) + i32(p.sw)) / i32(p.sw), 0);
  let ow1 = min(wp / i32(p.sw), i32(p.OW) - 1);`;

const windowStart = /* wgsl */ `
  let plane = i / (p.OH * p.OW);
  let o = i - plane * p.OH * p.OW;
  let oh = o / p.OW;
  let ow = o - oh * p.OW;
  let h0 = i32(oh * p.sh) - i32(p.ph);
  let w0 = i32(ow * p.sw) - i32(p.pw);
  let base = plane * p.H * p.W;`;

export function poolWgsl(kind: PoolKernel): string {
  switch (kind) {
    case 'avg':
      return `${header}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${flatMain}
  if (i >= p.n) { return; }
  ${windowStart}
  var acc = 0.0;
  for (var kh = 0; kh < i32(p.kh); kh++) {
    let h = h0 + kh;
    if (h < 0 || h >= i32(p.H)) { continue; }
    for (var kw = 0; kw < i32(p.kw); kw++) {
      let w = w0 + kw;
      if (w < 0 || w >= i32(p.W)) { continue; }
      acc += x[base + u32(h) * p.W + u32(w)];
    }
  }
  out[i] = acc / f32(p.kh * p.kw);
}`;
    case 'avg_bwd':
      return `${header}
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${flatMain}
  if (i >= p.n) { return; }
  ${coverRange}
  let gbase = plane * p.OH * p.OW;
  var acc = 0.0;
  for (var oh = oh0; oh <= oh1; oh++) {
    for (var ow = ow0; ow <= ow1; ow++) { acc += g[gbase + u32(oh) * p.OW + u32(ow)]; }
  }
  out[i] = acc / f32(p.kh * p.kw);
}`;
    case 'max':
      return `${header}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> idx: array<u32>;
${flatMain}
  if (i >= p.n) { return; }
  ${windowStart}
  var best = 0.0;
  var at = 0xffffffffu;
  for (var kh = 0; kh < i32(p.kh); kh++) {
    let h = h0 + kh;
    if (h < 0 || h >= i32(p.H)) { continue; }
    for (var kw = 0; kw < i32(p.kw); kw++) {
      let w = w0 + kw;
      if (w < 0 || w >= i32(p.W)) { continue; }
      let k = u32(h) * p.W + u32(w);
      let v = x[base + k];
      if (at == 0xffffffffu || v > best) { best = v; at = k; }
    }
  }
  out[i] = best;
  idx[i] = at;
}`;
    case 'max_bwd':
      return `${header}
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${flatMain}
  if (i >= p.n) { return; }
  ${coverRange}
  let gbase = plane * p.OH * p.OW;
  var acc = 0.0;
  for (var oh = oh0; oh <= oh1; oh++) {
    for (var ow = ow0; ow <= ow1; ow++) {
      let o = gbase + u32(oh) * p.OW + u32(ow);
      if (idx[o] == hw) { acc += g[o]; }
    }
  }
  out[i] = acc;
}`;
    case 'max_gather':
      return `${header}
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${flatMain}
  if (i >= p.n) { return; }
  let plane = i / (p.OH * p.OW);
  out[i] = src[plane * p.H * p.W + idx[i]];
}`;
  }
}
