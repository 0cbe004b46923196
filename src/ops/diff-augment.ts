/**
 * DiffAugment (Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training", 2020),
 * policy 'color,translation,cutout': every image D sees, real or fake, goes through the same
 * family of random transforms, all differentiable, so G's gradient flows back through them and
 * D cannot memorise the few real images. Images (N, C, H, W) in [-1, 1]; per image n, with
 * u ~ U[0, 1) drawn anew for each line:
 *
 *   brightness   x + (u - 0.5)
 *   saturation   (x - m_px) * 2u + m_px           m_px: each pixel's mean over the channels
 *   contrast     (x - m_img) * (u + 0.5) + m_img   m_img: the image's mean over everything
 *   translation  moved by (dy, dx), each a uniform integer in [-H/8, H/8] (resp. W), zeros in
 *   cutout       a square of half the side set to 0; its centre uniform over the image, the
 *                square clipped at the border
 *
 * Random numbers: DIFF_AUGMENT_DRAWS u32 per image from a CPU Philox Generator (whatever the
 * outcome), so a checkpointed generator state replays the same transforms on resume.
 */
import { add, mul, sub } from './elementwise.js';
import { mean } from './reduce.js';
import { translate } from './translate.js';
import { tensor } from '../tensor/create.js';
import { toUnit, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

export const DIFF_AUGMENT_DRAWS = 7;

/** The random choices for a batch of N images of H x W: plain arrays (the CPU reference reads them too). */
export interface DiffAugmentParams {
  /** per image: brightness offset, saturation factor, contrast factor */
  brightness: Float32Array;
  saturation: Float32Array;
  contrast: Float32Array;
  /** (dy, dx) per image */
  shifts: Int32Array;
  /** (N, 1, H, W): 0 inside each image's cutout square, 1 elsewhere */
  keep: Float32Array;
}

export function sampleDiffAugment(N: number, H: number, W: number, gen: Generator): DiffAugmentParams {
  const bits = gen.bitsCpu(N * DIFF_AUGMENT_DRAWS);
  const u = (n: number, k: number) => toUnit(bits[n * DIFF_AUGMENT_DRAWS + k]);
  // an integer uniform in [lo, hi]
  const int = (n: number, k: number, lo: number, hi: number) => lo + Math.floor(u(n, k) * (hi - lo + 1));
  const p: DiffAugmentParams = {
    brightness: new Float32Array(N),
    saturation: new Float32Array(N),
    contrast: new Float32Array(N),
    shifts: new Int32Array(2 * N),
    keep: new Float32Array(N * H * W).fill(1),
  };
  const [ty, tx] = [Math.floor(H / 8), Math.floor(W / 8)];
  const [ch, cw] = [Math.round(H / 2), Math.round(W / 2)];
  for (let n = 0; n < N; n++) {
    p.brightness[n] = u(n, 0) - 0.5;
    p.saturation[n] = 2 * u(n, 1);
    p.contrast[n] = u(n, 2) + 0.5;
    p.shifts[2 * n] = int(n, 3, -ty, ty);
    p.shifts[2 * n + 1] = int(n, 4, -tx, tx);
    const top = int(n, 5, 0, H - 1) - Math.floor(ch / 2),
      left = int(n, 6, 0, W - 1) - Math.floor(cw / 2);
    for (let y = Math.max(top, 0); y < Math.min(top + ch, H); y++)
      for (let x = Math.max(left, 0); x < Math.min(left + cw, W); x++) p.keep[(n * H + y) * W + x] = 0;
  }
  return p;
}

/** The transforms of `p` applied to x (N, C, H, W); differentiable in x (to any order). */
export function applyDiffAugment(x: Tensor, p: DiffAugmentParams): Tensor {
  const [N, , H, W] = x.shape;
  const perImage = (v: Float32Array) => tensor(v, [N, 1, 1, 1]);
  let y = add(x, perImage(p.brightness));
  const px = mean(y, [1], true);
  y = add(mul(sub(y, px), perImage(p.saturation)), px);
  const img = mean(y, [1, 2, 3], true);
  y = add(mul(sub(y, img), perImage(p.contrast)), img);
  return mul(translate(y, p.shifts), tensor(p.keep, [N, 1, H, W]));
}

/** diffAugment(x, gen) = applyDiffAugment(x, sampleDiffAugment(...)): one random draw per image. */
export function diffAugment(x: Tensor, gen: Generator): Tensor {
  const [N, , H, W] = x.shape;
  return applyDiffAugment(x, sampleDiffAugment(N, H, W, gen));
}
