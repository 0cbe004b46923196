/**
 * Training augmentation, fused: one invocation per output pixel (n, oy, ox), looping over the
 * C channels (the taps are shared by all channels of a sample).
 *
 * Per sample n, `box` holds three vec4<i32>:
 *   box[3n]     crop  = (top, left, h, w)  in source pixels (inside the H x W source)
 *   box[3n + 1] erase = (top, left, h, w)  in output pixels (h = 0 or w = 0: nothing erased)
 *   box[3n + 2] (flip, 0, 0, 0)            flip != 0: mirror the output horizontally
 *
 * out[n, c, oy, ox] =
 *   fill                                   if (oy, ox) lies in the erase rectangle, else
 *   bilinear(crop of src[n, c], sx, oy)    with sx = OW - 1 - ox if flip else ox,
 * where bilinear is PyTorch's align_corners = false resize of the h x w crop to OH x OW:
 *   src = max((o + 0.5) h / OH - 0.5, 0), i0 = min(floor(src), h - 1), i1 = min(i0 + 1, h - 1),
 *   value = (1 - l) v[i0] + l v[i1], l = src - i0 (rows, then the same along columns).
 *
 * Sources: `f32` reads an (N, C, H, W) f32 array as is; `u8` reads pixels packed 4 per u32
 * (little-endian along W, each row padded to rowWords words), interpolates in 0..255 and
 * normalizes the result: (v / 255 - 0.5) / 0.5 = v * 2 / 255 - 1 (exact, since the bilinear
 * weights sum to 1 the two orders agree).
 *
 * flip_w reverses the last axis: out[r, j] = x[r, W - 1 - j].
 */
import { flatMain } from './common.js';

export type AugmentSource = 'f32' | 'u8';

export const augmentKey = (src: AugmentSource) => `augment:${src}`;

export function augmentWgsl(src: AugmentSource): string {
  const fetch =
    src === 'f32'
      ? /* wgsl */ `
@group(0) @binding(1) var<storage, read> x: array<f32>;
fn fetch(plane: u32, y: u32, xx: u32) -> f32 { return x[(plane * p.H + y) * p.W + xx]; }
fn finish(v: f32) -> f32 { return v; }`
      : /* wgsl */ `
@group(0) @binding(1) var<storage, read> x: array<u32>;
fn fetch(plane: u32, y: u32, xx: u32) -> f32 {
  let word = x[(plane * p.H + y) * p.rowWords + (xx >> 2u)];
  return f32((word >> ((xx & 3u) * 8u)) & 0xffu);
}
fn finish(v: f32) -> f32 { return v * (2.0 / 255.0) - 1.0; }`;
  return /* wgsl */ `
struct Params { n: u32, C: u32, H: u32, W: u32, OH: u32, OW: u32, rowWords: u32, fill: f32 }
@group(0) @binding(0) var<uniform> p: Params;
${fetch}
@group(0) @binding(2) var<storage, read> box: array<vec4<i32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

struct Taps { i0: u32, i1: u32, l: f32 }
/** Bilinear taps (align_corners = false) of output index o, resizing size -> outSize. */
fn taps(o: u32, size: u32, outSize: u32) -> Taps {
  let scale = f32(size) / f32(outSize);
  let src = max((f32(o) + 0.5) * scale - 0.5, 0.0);
  let i0 = min(u32(src), size - 1u);
  let i1 = min(i0 + 1u, size - 1u);
  return Taps(i0, i1, src - f32(i0));
}
${flatMain}
  if (i >= p.n) { return; }
  let hw = p.OH * p.OW;
  let s = i / hw;            // sample
  let r = i - s * hw;        // pixel within the output plane
  let oy = r / p.OW;
  let ox = r - oy * p.OW;
  let crop = box[3u * s];
  let er = box[3u * s + 1u];
  let flip = box[3u * s + 2u].x != 0;
  let obase = s * p.C * hw + r;
  let y = i32(oy);
  let xo = i32(ox);
  if (y >= er.x && y < er.x + er.z && xo >= er.y && xo < er.y + er.w) {
    for (var c = 0u; c < p.C; c++) { out[obase + c * hw] = p.fill; }
    return;
  }
  let sx = select(ox, p.OW - 1u - ox, flip);
  let ty = taps(oy, u32(crop.z), p.OH);
  let tx = taps(sx, u32(crop.w), p.OW);
  let y0 = u32(crop.x) + ty.i0; let y1 = u32(crop.x) + ty.i1;
  let x0 = u32(crop.y) + tx.i0; let x1 = u32(crop.y) + tx.i1;
  for (var c = 0u; c < p.C; c++) {
    let plane = s * p.C + c;
    let top = (1.0 - tx.l) * fetch(plane, y0, x0) + tx.l * fetch(plane, y0, x1);
    let bottom = (1.0 - tx.l) * fetch(plane, y1, x0) + tx.l * fetch(plane, y1, x1);
    out[obase + c * hw] = finish((1.0 - ty.l) * top + ty.l * bottom);
  }
}`;
}

export function flipWWgsl(): string {
  return /* wgsl */ `
struct Params { n: u32, W: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${flatMain}
  if (i >= p.n) { return; }
  let j = i % p.W;
  out[i] = x[i - j + (p.W - 1u - j)];
}`;
}
