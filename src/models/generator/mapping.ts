/**
 * The generator's front: from factors to the style vector w.
 *
 *   descriptor (N, 128) ─► IdentityEncoder ─► identity code (N, idDim)   ◄── mixIdentity(a, b, phi)
 *   [identity | expression | pose | lighting] ─► embed (EqualLinear) ─► pixel norm ─┐
 *   z (N, zDim) ─────────────────────────────────────────────────────► pixel norm ─┴► concat
 *        ─► mappingLayers x EqualLinear(lrelu, lr multiplier 0.01) ─► w (N, wDim)
 *
 * Identities live in the identity code's space: a real image gets its code from its own dlib
 * descriptor through the learned encoder, a synthetic identity is a point of that space, and
 * identity mixup (SynFace) is the straight line between two codes,
 *   code = phi code_a + (1 - phi) code_b,
 * taken before the mapping, as SynFace mixes DiscoFaceGAN's identity coefficients after its
 * factor decoder: phi = 1 is identity a exactly, and every phi is an input the generator was
 * trained on the same way (a code), not a blend of two images. The conditioning embedding
 * and z are normalized separately (as StyleGAN2-ADA's conditional mapping), so neither drowns
 * the other whatever their lengths.
 */
import { add, affine, concat, mul, pixelNorm, scale } from '../../ops/index.js';
import { EqualLinear } from '../../nn/stylegan-layers.js';
import { Module } from '../../nn/module.js';
import type { Generator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { GeneratorConfig } from './config.js';

/** What the generator is asked for, per image (all standardized, see factors.ts). */
export interface FactorInputs {
  /** (N, idDim): identityCode(descriptor), a mix of two, or a sampled code. */
  identity: Tensor;
  /** (N, expDim) */
  expression: Tensor;
  /** (N, 3): yaw, pitch, roll */
  pose: Tensor;
  /** (N, lightDim) */
  lighting: Tensor;
  /** (N, zDim) ~ N(0, 1) */
  z: Tensor;
}

/** The standardized dlib descriptor -> the identity code: two layers, the second linear. */
export class IdentityEncoder extends Module {
  readonly fc0: EqualLinear;
  readonly fc1: EqualLinear;

  constructor(c: GeneratorConfig, gen: Generator) {
    super();
    this.fc0 = this.registerModule(
      'fc0',
      new EqualLinear(c.descriptorDim, c.descriptorDim, { act: 'lrelu', gen }),
    );
    this.fc1 = this.registerModule('fc1', new EqualLinear(c.descriptorDim, c.idDim, { gen }));
  }

  forward(descriptor: Tensor): Tensor {
    return this.fc1.forward(this.fc0.forward(descriptor));
  }
}

/** Identity mixup: phi a + (1 - phi) b, per image (phi a number, or an (N, 1) tensor). */
export function mixIdentity(a: Tensor, b: Tensor, phi: number | Tensor): Tensor {
  if (a.shape.join() !== b.shape.join())
    throw new RangeError(`mixIdentity: codes of shapes [${a.shape}] and [${b.shape}] differ`);
  if (typeof phi === 'number') {
    if (!(phi >= 0 && phi <= 1)) throw new RangeError(`mixIdentity: phi ${phi} is not in [0, 1]`);
    return add(scale(a, phi), scale(b, 1 - phi));
  }
  return add(mul(a, phi), mul(b, affine(phi, -1, 1)));
}

export class MappingNetwork extends Module {
  readonly embed: EqualLinear;
  readonly layers: EqualLinear[];

  constructor(
    readonly config: GeneratorConfig,
    gen: Generator,
  ) {
    super();
    const c = config;
    const condDim = c.idDim + c.expDim + c.poseDim + c.lightDim;
    this.embed = this.registerModule('embed', new EqualLinear(condDim, c.wDim, { gen }));
    this.layers = Array.from({ length: c.mappingLayers }, (_, i) =>
      this.registerModule(
        `fc${i}`,
        new EqualLinear(i ? c.wDim : c.wDim + c.zDim, c.wDim, { act: 'lrelu', lrMul: 0.01, gen }),
      ),
    );
  }

  forward(f: FactorInputs): Tensor {
    const cond = concat([f.identity, f.expression, f.pose, f.lighting], 1);
    let x = concat([pixelNorm(this.embed.forward(cond)), pixelNorm(f.z)], 1);
    for (const l of this.layers) x = l.forward(x);
    return x;
  }
}
