/**
 * im2col and its adjoint, for convolutions of small images (ResNet's late stages: 4x4, 2x2).
 *
 * There the spatial tiles of the direct kernels (shaders/conv2d.ts) are mostly empty: a row
 * segment of 8 on an image 2 wide wastes 75% of the lanes. Unrolling the input windows into a
 * matrix turns the convolution into one batched matmul whose dimensions are channels and taps,
 * which the matmul lab's kernels run at full speed:
 *
 *   cols[n*P + p, c*KH*KW + kh*KW + kw] = x[n, c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]  (0 outside)
 *   y (N*P, O) = cols @ w^T, w viewed as (O, C*KH*KW)     P = OH*OW output positions
 *
 * The input gradient runs the same matmul backwards, dcols = dy @ w, and gathers dcols back
 * into the image (col2im): every input pixel sums the window entries that read it.
 */
import { flatMain } from './common.js';

const GEOMETRY = /* wgsl */ `
struct Params {
  N: u32, C: u32, H: u32, W: u32,
  OH: u32, OW: u32, KH: u32, KW: u32,
  sh: u32, sw: u32, dh: u32, dw: u32,
  ph: u32, pw: u32, total: u32, pad: u32,
}
@group(0) @binding(0) var<uniform> p: Params;`;

export function im2colWgsl(): string {
  return `${GEOMETRY}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> cols: array<f32>;
${flatMain}
  if (i >= p.total) { return; }
  let taps = p.KH * p.KW;
  let CK = p.C * taps;
  let ck = i % CK;
  let pos = (i / CK) % (p.OH * p.OW);
  let n = i / (CK * p.OH * p.OW);
  let c = ck / taps;
  let kh = (ck % taps) / p.KW;
  let kw = ck % p.KW;
  let ih = i32((pos / p.OW) * p.sh + kh * p.dh) - i32(p.ph);
  let iw = i32((pos % p.OW) * p.sw + kw * p.dw) - i32(p.pw);
  var v = 0.0;
  if (ih >= 0 && ih < i32(p.H) && iw >= 0 && iw < i32(p.W)) {
    v = x[((n * p.C + c) * p.H + u32(ih)) * p.W + u32(iw)];
  }
  cols[i] = v;
}`;
}

export function col2imWgsl(): string {
  return `${GEOMETRY}
@group(0) @binding(1) var<storage, read> dcols: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
${flatMain}
  if (i >= p.total) { return; }
  let iw = i % p.W;
  let ih = (i / p.W) % p.H;
  let c = (i / (p.W * p.H)) % p.C;
  let n = i / (p.W * p.H * p.C);
  let taps = p.KH * p.KW;
  let CK = p.C * taps;
  var acc = 0.0;
  for (var kh = 0u; kh < p.KH; kh++) {
    let th = i32(ih + p.ph) - i32(kh * p.dh);          // = oh * sh for the output row that reads (ih) through tap kh
    if (th < 0 || u32(th) % p.sh != 0u) { continue; }
    let oh = u32(th) / p.sh;
    if (oh >= p.OH) { continue; }
    for (var kw = 0u; kw < p.KW; kw++) {
      let tw = i32(iw + p.pw) - i32(kw * p.dw);
      if (tw < 0 || u32(tw) % p.sw != 0u) { continue; }
      let ow = u32(tw) / p.sw;
      if (ow >= p.OW) { continue; }
      acc += dcols[(n * p.OH * p.OW + oh * p.OW + ow) * CK + c * taps + kh * p.KW + kw];
    }
  }
  dx[i] = acc;
}`;
}
