/**
 * Integer translation of each image of a batch, zeros shifted in: one invocation per output
 * element (n, c, y, x) of an (N, C, H, W) array,
 *
 *   out[n, c, y, x] = x[n, c, y - dy_n, x - dx_n]   if that pixel is inside the image, else 0,
 *
 * with (dy_n, dx_n) = (shift[2n], shift[2n + 1]) (i32; positive moves the content down/right).
 */
import { flatMain } from './common.js';

export function translateWgsl(): string {
  return /* wgsl */ `
struct Params { n: u32, C: u32, H: u32, W: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> shift: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${flatMain}
  if (i >= p.n) { return; }
  let col = i % p.W;
  let row = (i / p.W) % p.H;
  let sample = i / (p.W * p.H * p.C);
  let sy = i32(row) - shift[2u * sample];
  let sx = i32(col) - shift[2u * sample + 1u];
  if (sy < 0 || sy >= i32(p.H) || sx < 0 || sx >= i32(p.W)) {
    out[i] = 0.0;
    return;
  }
  out[i] = x[i - row * p.W - col + u32(sy) * p.W + u32(sx)];
}`;
}
