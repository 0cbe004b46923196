/**
 * Resampling kernels over (planes, H, W), planes = N * C, one invocation per output element.
 *
 * upfirdn2d (StyleGAN2's definition, computed directly, no intermediate tensors):
 *   out[oy, ox] = gain * sum_{ky, kx} T[ky, kx] * U[oy * downy + ky - py0, ox * downx + kx - px0]
 *   U = x upsampled by zero insertion (U[u] = x[u / up] when u % up == 0, else 0; outside: 0),
 *   T = the filter reversed in both axes (a true convolution) unless `flip`, as StyleGAN2.
 *   Negative padding crops. Only the taps that land on non-zero samples are visited.
 *
 * bilinear (PyTorch's F.interpolate(mode='bilinear')): output row o reads source
 *   src = scale (o + 0.5) - 0.5 clamped at 0 (align_corners = false, scale = in / out) or
 *   src = scale o (align_corners = true, scale = (in - 1) / (out - 1)),
 *   rows y0 = floor(src), y1 = min(y0 + 1, in - 1) with weights 1 - l, l (l = src - y0).
 * bilinear_bwd is its adjoint, gathered: each input row sums over the output rows whose
 * y0 or y1 it is (a conservative range, the weights of the others are exactly 0), with the
 * same coefficient function as the forward so the two are exact transposes.
 */
import { flatMain } from './common.js';

/** The factors, filter size and orientation are compile-time constants (few per network). */
export interface FirSpec {
  upx: number;
  upy: number;
  downx: number;
  downy: number;
  fh: number;
  fw: number;
  rev: boolean;
}

export const upfirdn2dKey = (s: FirSpec) =>
  `upfirdn2d:${s.upx},${s.upy}:${s.downx},${s.downy}:${s.fh}x${s.fw}${s.rev ? ':rev' : ''}`;

/** Workgroup shape: 8 columns by 8 rows (narrow StyleGAN layers still fill it). */
export const FIR_WG = [8, 8] as const;

export function upfirdn2dWgsl(s: FirSpec): string {
  const tap = (k: string, size: string) => (s.rev ? `u32(${size} - 1 - ${k})` : `u32(${k})`);
  return /* wgsl */ `
const UPX = ${s.upx}; const UPY = ${s.upy}; const DOWNX = ${s.downx}u; const DOWNY = ${s.downy}u;
const FH = ${s.fh}; const FW = ${s.fw};
struct Params { n: u32, H: u32, W: u32, OH: u32, OW: u32, px0: i32, py0: i32, gain: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> f: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${FIR_WG[0]}, ${FIR_WG[1]})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // x: output column; y (folded into z past 65535 workgroups): output row of all planes, plane * OH + oy
  let ox = gid.x;
  let r = gid.z * nwg.y * ${FIR_WG[1]}u + gid.y;
  if (ox >= p.OW || r >= p.n) { return; }
  let i = r * p.OW + ox;
  let plane = r / p.OH;
  let oy = r - plane * p.OH;
  let by = i32(oy * DOWNY) - p.py0;     // U row of tap ky = 0
  let bx = i32(ox * DOWNX) - p.px0;
  let ky0 = ((-by) % UPY + UPY) % UPY;  // first tap on a non-zero (non-inserted) row
  let kx0 = ((-bx) % UPX + UPX) % UPX;
  let iy0 = (by + ky0) / UPY;           // exact: by + ky0 is a multiple of up
  let ix0 = (bx + kx0) / UPX;
  let base = plane * p.H * p.W;
  var acc = 0.0;
  var iy = iy0;
  for (var ky = ky0; ky < FH; ky += UPY) {
    if (iy >= i32(p.H)) { break; }
    if (iy >= 0) {
      let frow = ${tap('ky', 'FH')} * u32(FW);
      let row = base + u32(iy) * p.W;
      var ix = ix0;
      for (var kx = kx0; kx < FW; kx += UPX) {
        if (ix >= i32(p.W)) { break; }
        if (ix >= 0) { acc += f[frow + ${tap('kx', 'FW')}] * x[row + u32(ix)]; }
        ix++;
      }
    }
    iy++;
  }
  out[i] = acc * p.gain;
}`;
}

const bilinearHeader = /* wgsl */ `
struct Params { n: u32, H: u32, W: u32, OH: u32, OW: u32, align: u32, scaleY: f32, scaleX: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

struct Taps { i0: u32, i1: u32, l: f32 }
fn taps(o: u32, size: u32, scale: f32) -> Taps {
  var src = scale * f32(o);
  if (p.align == 0u) { src = max(scale * (f32(o) + 0.5) - 0.5, 0.0); }
  let i0 = min(u32(src), size - 1u);
  let i1 = min(i0 + 1u, size - 1u);
  return Taps(i0, i1, src - f32(i0));
}
fn coeff(t: Taps, i: u32) -> f32 {
  return select(0.0, 1.0 - t.l, t.i0 == i) + select(0.0, t.l, t.i1 == i);
}
/** Output rows that may read input row i (inclusive range, clamped). */
fn cover(i: u32, outSize: u32, scale: f32) -> vec2<i32> {
  if (scale <= 0.0) { return vec2<i32>(0, i32(outSize) - 1); }
  let off = select(0.5, 0.0, p.align != 0u);
  let lo = i32(floor((f32(i) - 1.0 + off) / scale - off)) - 1;
  let hi = i32(ceil((f32(i) + 1.0 + off) / scale - off)) + 1;
  return vec2<i32>(max(lo, 0), min(hi, i32(outSize) - 1));
}`;

export function bilinearWgsl(): string {
  return `${bilinearHeader}
${flatMain}
  if (i >= p.n) { return; }
  let plane = i / (p.OH * p.OW);
  let o = i - plane * p.OH * p.OW;
  let ty = taps(o / p.OW, p.H, p.scaleY);
  let tx = taps(o % p.OW, p.W, p.scaleX);
  let base = plane * p.H * p.W;
  let top = (1.0 - tx.l) * x[base + ty.i0 * p.W + tx.i0] + tx.l * x[base + ty.i0 * p.W + tx.i1];
  let bottom = (1.0 - tx.l) * x[base + ty.i1 * p.W + tx.i0] + tx.l * x[base + ty.i1 * p.W + tx.i1];
  out[i] = (1.0 - ty.l) * top + ty.l * bottom;
}`;
}

/** x is the output gradient (planes, OH, OW); out the input gradient (planes, H, W). */
export function bilinearBackwardWgsl(): string {
  return `${bilinearHeader}
${flatMain}
  if (i >= p.n) { return; }
  let plane = i / (p.H * p.W);
  let hw = i - plane * p.H * p.W;
  let iy = hw / p.W;
  let ix = hw % p.W;
  let ry = cover(iy, p.OH, p.scaleY);
  let rx = cover(ix, p.OW, p.scaleX);
  let base = plane * p.OH * p.OW;
  var acc = 0.0;
  for (var oy = ry.x; oy <= ry.y; oy++) {
    let cy = coeff(taps(u32(oy), p.H, p.scaleY), iy);
    if (cy == 0.0) { continue; }
    var row = 0.0;
    for (var ox = rx.x; ox <= rx.y; ox++) {
      row += coeff(taps(u32(ox), p.W, p.scaleX), ix) * x[base + u32(oy) * p.OW + u32(ox)];
    }
    acc += cy * row;
  }
  out[i] = acc;
}`;
}
