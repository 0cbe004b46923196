/**
 * The discriminator: StyleGAN2's residual D with minibatch std, projection-conditioned on the
 * factors (Miyato & Koyama 2018, as StyleGAN2-ADA's conditional D):
 *
 *   img (N, 3, R, R) ─► fromRGB 1x1 (lrelu)
 *   at R, R/2, ..., 8:  x ─► conv 3x3 (C -> C) ─► FIR 2x down ─► conv 3x3 (C -> C') ─┐
 *                       x ─► FIR 2x down ─► conv 1x1 (C -> C', no bias) ────────────┴► sum / sqrt 2
 *   at 4: minibatch std (group 4) ─► conv 3x3 ─► fc (lrelu) ─► h (N, C4)
 *   logit = fc_out(h) + <h, embed(c)> / sqrt(C4)
 *
 * c is the image's standardized factors [descriptor | expression | pose | lighting]: a real
 * image's own, or those a fake was asked for, so D judges both realism and whether the image
 * shows what its factors say (the conditioning signal G learns to render). Without
 * conditionalD the projection term is absent.
 */
import { add, downsample2d, flatten, mul, scale, sum } from '../../ops/index.js';
import { EqualConv2d, EqualLinear, MinibatchStd } from '../../nn/stylegan-layers.js';
import { Module } from '../../nn/module.js';
import type { Generator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { checkGeneratorConfig, resolutions, widthAt, type GeneratorConfig } from './config.js';

/** Length of the condition vector D is given: [descriptor | expression | pose | lighting]. */
export const conditionDim = (c: GeneratorConfig) => c.descriptorDim + c.expDim + c.poseDim + c.lightDim;

class ResidualBlock extends Module {
  readonly conv0: EqualConv2d;
  readonly conv1: EqualConv2d;
  readonly skip: EqualConv2d;

  constructor(cin: number, cout: number, gen: Generator) {
    super();
    this.conv0 = this.registerModule('conv0', new EqualConv2d(cin, cin, 3, { act: 'lrelu', gen }));
    this.conv1 = this.registerModule('conv1', new EqualConv2d(cin, cout, 3, { act: 'lrelu', gen }));
    this.skip = this.registerModule('skip', new EqualConv2d(cin, cout, 1, { bias: false, gen }));
  }

  /** (N, C, H, W) -> (N, C', H/2, W/2) */
  forward(x: Tensor): Tensor {
    const main = this.conv1.forward(downsample2d(this.conv0.forward(x)));
    return scale(add(main, this.skip.forward(downsample2d(x))), Math.SQRT1_2);
  }
}

export class FaceDiscriminator extends Module {
  readonly fromRgb: EqualConv2d;
  readonly blocks: ResidualBlock[];
  readonly mbstd: MinibatchStd;
  readonly conv4: EqualConv2d;
  readonly fc: EqualLinear;
  readonly out: EqualLinear;
  readonly project: EqualLinear | null;

  constructor(
    readonly config: GeneratorConfig,
    gen: Generator,
  ) {
    super();
    checkGeneratorConfig(config);
    const R = config.resolution;
    const down = resolutions(config).reverse().slice(0, -1); // R, R/2, ..., 8
    this.fromRgb = this.registerModule(
      'fromrgb',
      new EqualConv2d(3, widthAt(config, R), 1, { act: 'lrelu', gen }),
    );
    this.blocks = down.map((r) =>
      this.registerModule(`b${r}`, new ResidualBlock(widthAt(config, r), widthAt(config, r / 2), gen)),
    );
    const c4 = widthAt(config, 4);
    this.mbstd = this.registerModule('mbstd', new MinibatchStd(4, 1));
    this.conv4 = this.registerModule('b4_conv', new EqualConv2d(c4 + 1, c4, 3, { act: 'lrelu', gen }));
    this.fc = this.registerModule('b4_fc', new EqualLinear(c4 * 16, c4, { act: 'lrelu', gen }));
    this.out = this.registerModule('b4_out', new EqualLinear(c4, 1, { gen }));
    this.project = config.conditionalD
      ? this.registerModule('project', new EqualLinear(conditionDim(config), c4, { gen }))
      : null;
  }

  /** images (N, 3, R, R) and conditions (N, conditionDim) -> logits (N, 1) */
  forward(img: Tensor, cond: Tensor | null): Tensor {
    const R = this.config.resolution;
    if (img.rank !== 4 || img.shape[1] !== 3 || img.shape[2] !== R || img.shape[3] !== R)
      throw new RangeError(`FaceDiscriminator: images of shape [${img.shape}], expected [N, 3, ${R}, ${R}]`);
    let x = this.fromRgb.forward(img);
    for (const b of this.blocks) x = b.forward(x);
    const h = this.fc.forward(flatten(this.conv4.forward(this.mbstd.forward(x))));
    const logit = this.out.forward(h);
    if (!this.project) return logit;
    if (!cond) throw new Error('FaceDiscriminator: this discriminator is conditional; give the factors');
    const e = this.project.forward(cond);
    return add(logit, scale(sum(mul(h, e), 1, true), 1 / Math.sqrt(h.shape[1])));
  }
}
