/**
 * The layers of StyleGAN2 (Karras et al. 2020), as modules on the engine's ops.
 *
 * Equalized learning rate: parameters are stored at unit scale (w ~ N(0, 1) / lrMul) and
 * multiplied at run time by gain = lrMul / sqrt(fanIn). Every weight then sees the same
 * effective learning rate under Adam, whatever its fan-in; lrMul = 0.01 slows the mapping
 * network. The bias is stored divided by lrMul and multiplied back at run time.
 */
import {
  biasAct,
  conv2d,
  linear,
  minibatchStd,
  modulatedConv2d,
  noiseInjection,
  type ModConvOptions,
  scale,
  upsample2d,
  type BiasActOptions,
} from '../ops/index.js';
import { full, zeros } from '../tensor/create.js';
import { getDefaultGenerator, randn, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module, type Layer } from './module.js';

export interface EqualOptions {
  bias?: boolean;
  biasInit?: number;
  lrMul?: number;
  /** Fused activation after the bias ('lrelu' has gain sqrt 2 and slope 0.2). */
  act?: BiasActOptions['act'];
  gen?: Generator;
}

/** y = act(x (gain W)^T + lrMul b), W stored (out, in) ~ N(0, 1/lrMul^2). */
export class EqualLinear extends Module implements Layer {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly weightGain: number;
  readonly lrMul: number;
  readonly act: BiasActOptions['act'];

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    { bias = true, biasInit = 0, lrMul = 1, act = 'linear', gen = getDefaultGenerator() }: EqualOptions = {},
  ) {
    super();
    this.weight = this.registerParameter('weight', randn([outFeatures, inFeatures], 0, 1 / lrMul, gen));
    this.bias = bias ? this.registerParameter('bias', full([outFeatures], biasInit / lrMul)) : null;
    this.weightGain = lrMul / Math.sqrt(inFeatures);
    this.lrMul = lrMul;
    this.act = act;
  }

  forward(x: Tensor): Tensor {
    const y = linear(x, scale(this.weight, this.weightGain)); // (N, out)
    if (!this.bias && this.act === 'linear') return y;
    return biasAct(y, this.bias ? scale(this.bias, this.lrMul) : null, { act: this.act });
  }
}

/** A conv with equalized lr: weight (O, C, k, k) ~ N(0, 1), gain 1/sqrt(C k k), optional fused lrelu. */
export class EqualConv2d extends Module implements Layer {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly weightGain: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    readonly options: {
      bias?: boolean;
      act?: BiasActOptions['act'];
      stride?: number;
      padding?: number;
      gen?: Generator;
    } = {},
  ) {
    super();
    const gen = options.gen ?? getDefaultGenerator();
    this.weight = this.registerParameter(
      'weight',
      randn([outChannels, inChannels, kernelSize, kernelSize], 0, 1, gen),
    );
    this.bias = (options.bias ?? true) ? this.registerParameter('bias', zeros([outChannels])) : null;
    this.weightGain = 1 / Math.sqrt(inChannels * kernelSize * kernelSize);
  }

  forward(x: Tensor): Tensor {
    const { stride = 1, padding = Math.floor(this.kernelSize / 2), act = 'linear' } = this.options;
    const y = conv2d(x, scale(this.weight, this.weightGain), null, { stride, padding });
    return this.bias || act !== 'linear' ? biasAct(y, this.bias, { act }) : y;
  }
}

/**
 * A synthesis layer: style affine (w -> per-channel scales, bias init 1), modulated 3x3 conv
 * with demodulation (optionally after 2x FIR upsampling), noise with a learned strength
 * (init 0), bias and lrelu. With `up`, upMode 'fir-first' (the default) upsamples first
 * (upsample2d) and runs the padded conv on the large image; 'transposed' is StyleGAN2's form: a
 * strided transposed conv on the small image followed by the FIR filter (modulatedConv2d's
 * `up`), the same operator except at the border, with a quarter of the multiply-adds. It is not
 * the default because it is not faster yet: the engine's stride-2 input gradient (which the
 * transposed conv is) convolves the zero-dilated input, so it does all of those multiply-adds
 * (measured: bench/modconv-forms.ts).
 */
export class ModulatedConv extends Module implements Layer {
  readonly affine: EqualLinear;
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly noiseStrength: Tensor | null;
  /** The style vector w (N, wDim) used by the next forward(x). */
  w: Tensor | null = null;
  /** Fixed noise (1 or N, 1, H, W) to reuse instead of fresh noise (e.g. for reproducible images). */
  fixedNoise: Tensor | null = null;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly wDim: number,
    readonly options: {
      kernelSize?: number;
      up?: boolean;
      demodulate?: boolean;
      noise?: boolean;
      act?: BiasActOptions['act'];
      /** How the modulated conv runs (see src/ops/modconv.ts); the default picks by shape. */
      form?: ModConvOptions['form'];
      /** With `up`: 'fir-first' (default: upsample2d, then the conv) or 'transposed' (StyleGAN2's). */
      upMode?: 'transposed' | 'fir-first';
      gen?: Generator;
    } = {},
  ) {
    super();
    const gen = options.gen ?? getDefaultGenerator();
    const k = options.kernelSize ?? 3;
    this.affine = this.registerModule('affine', new EqualLinear(wDim, inChannels, { biasInit: 1, gen }));
    this.weight = this.registerParameter('weight', randn([outChannels, inChannels, k, k], 0, 1, gen));
    this.bias = this.registerParameter('bias', zeros([outChannels]));
    this.noiseStrength = (options.noise ?? true) ? this.registerParameter('noise_strength', zeros([])) : null;
  }

  /** x (N, C, H, W) with `this.w` (N, wDim) set -> (N, O, H', W'), H' = 2H when up. */
  forward(x: Tensor): Tensor {
    if (!this.w) throw new Error('ModulatedConv: set .w (the style vectors, (N, wDim)) before forward');
    const { up = false, upMode = 'fir-first', demodulate = true, act = 'lrelu', form } = this.options;
    const gen = this.options.gen ?? getDefaultGenerator();
    const k = this.weight.shape[2];
    const styles = this.affine.forward(this.w); // (N, C)
    const firFirst = up && upMode === 'fir-first';
    const input = firFirst ? upsample2d(x) : x;
    const weight = scale(this.weight, 1 / Math.sqrt(this.inChannels * k * k));
    const padding = Math.floor(k / 2);
    let y = modulatedConv2d(input, weight, styles, { demodulate, padding, form, up: up && !firFirst });
    if (this.noiseStrength) {
      const [N, , H, W] = y.shape;
      const noise = this.fixedNoise ?? randn([N, 1, H, W], 0, 1, gen);
      y = noiseInjection(y, noise, this.noiseStrength);
    }
    return biasAct(y, this.bias, { act });
  }
}

/** StyleGAN2's minibatch standard deviation layer as a module. */
export class MinibatchStd extends Module implements Layer {
  constructor(
    readonly groupSize = 4,
    readonly numChannels = 1,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return minibatchStd(x, this.groupSize, this.numChannels);
  }
}
