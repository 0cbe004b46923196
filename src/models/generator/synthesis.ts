/**
 * StyleGAN2's synthesis network, 4 px -> resolution, every layer styled by the same w:
 *
 *   const (C4, 4, 4) ─► conv 3x3 ─► toRGB ───────────────────────────────► img 4
 *   at 8, 16, ..., R: up-conv 3x3 (FIR 2x upsampling first) ─► conv 3x3 ─► toRGB (+ upsampled img)
 *
 * Every 3x3 conv is modulated by an affine map of w, demodulated, gets per-pixel noise (learned
 * strength, 0 at start), bias and lrelu (gain sqrt 2); toRGB is a 1x1 modulated conv without
 * demodulation, noise or activation, and the image is the sum over resolutions (skip
 * architecture). Output: (N, 3, R, R), about [-1, 1].
 */
import { add, broadcastTo, upsample2d } from '../../ops/index.js';
import { ModulatedConv } from '../../nn/stylegan-layers.js';
import { Module } from '../../nn/module.js';
import { randn, type Generator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { resolutions, widthAt, type GeneratorConfig } from './config.js';

/** One resolution: (2x upsampling conv), conv, toRGB. */
class SynthesisBlock extends Module {
  readonly conv0: ModulatedConv | null;
  readonly conv1: ModulatedConv;
  readonly toRgb: ModulatedConv;

  constructor(cin: number, cout: number, wDim: number, first: boolean, gen: Generator) {
    super();
    this.conv0 = first
      ? null
      : this.registerModule('conv0', new ModulatedConv(cin, cout, wDim, { up: true, gen }));
    this.conv1 = this.registerModule('conv1', new ModulatedConv(first ? cin : cout, cout, wDim, { gen }));
    this.toRgb = this.registerModule(
      'torgb',
      new ModulatedConv(cout, 3, wDim, {
        kernelSize: 1,
        demodulate: false,
        noise: false,
        act: 'linear',
        gen,
      }),
    );
  }

  /** The block's modulated convs (their noise can be fixed for reproducible images). */
  convs(): ModulatedConv[] {
    return [this.conv0, this.conv1].filter((m): m is ModulatedConv => m !== null);
  }

  forward(x: Tensor, img: Tensor | null, w: Tensor): [Tensor, Tensor] {
    for (const m of [this.conv0, this.conv1, this.toRgb]) if (m) m.w = w;
    if (this.conv0) x = this.conv0.forward(x);
    x = this.conv1.forward(x);
    const rgb = this.toRgb.forward(x);
    for (const m of [this.conv0, this.conv1, this.toRgb]) if (m) m.w = null;
    return [x, img ? add(upsample2d(img), rgb) : rgb];
  }
}

export class Synthesis extends Module {
  readonly constInput: Tensor;
  readonly blocks: SynthesisBlock[];

  constructor(
    readonly config: GeneratorConfig,
    gen: Generator,
  ) {
    super();
    const rs = resolutions(config);
    this.constInput = this.registerParameter('const', randn([1, widthAt(config, 4), 4, 4], 0, 1, gen));
    this.blocks = rs.map((r, i) =>
      this.registerModule(
        `b${r}`,
        new SynthesisBlock(widthAt(config, i ? rs[i - 1] : 4), widthAt(config, r), config.wDim, i === 0, gen),
      ),
    );
  }

  /** Every noise-injecting conv, from 4 px up. */
  noiseLayers(): ModulatedConv[] {
    return this.blocks.flatMap((b) => b.convs());
  }

  /** w (N, wDim) -> images (N, 3, R, R) */
  forward(w: Tensor): Tensor {
    const N = w.shape[0];
    let x = broadcastTo(this.constInput, [N, ...this.constInput.shape.slice(1)]);
    let img: Tensor | null = null;
    for (const b of this.blocks) [x, img] = b.forward(x, img, w);
    return img!;
  }
}
