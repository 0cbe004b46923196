/**
 * The basic layers: Linear, Lambda (a function as a layer) and Sequential, and kaimingUniform,
 * the initialization they and the conv layers share. Conv2d, BatchNorm, PReLU, Dropout and
 * Flatten are in conv-layers.ts, the StyleGAN2 layers in stylegan-layers.ts.
 */
import { linear } from '../ops/index.js';
import { getDefaultGenerator, rand, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module, type Layer } from './module.js';

/**
 * U(-bound, bound) with bound = gain * sqrt(3 / fanIn): the uniform distribution of variance
 * gain^2 / fanIn (kaiming-uniform). gain = 1/sqrt(3) gives PyTorch's default for Linear and
 * Conv2d weights (kaiming_uniform_ with a = sqrt(5)): bound = 1 / sqrt(fanIn).
 */
export function kaimingUniform(
  shape: readonly number[],
  fanIn: number,
  gain: number,
  gen: Generator,
): Tensor {
  const bound = fanIn > 0 ? gain * Math.sqrt(3 / fanIn) : 0;
  return rand(shape, -bound, bound, gen);
}

export interface LinearOptions {
  bias?: boolean;
  /** The random stream of the initial values (default: the default generator). */
  gen?: Generator;
  /** Weight init gain (see kaimingUniform); default 1/sqrt(3), PyTorch's; sqrt(2) is He init for ReLU. */
  gain?: number;
}

/** y = x W^T + b with W of shape (out, in) as in PyTorch; the bias is U(-1/sqrt(in), 1/sqrt(in)). */
export class Linear extends Module implements Layer {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    { bias = true, gen = getDefaultGenerator(), gain = 1 / Math.sqrt(3) }: LinearOptions = {},
  ) {
    super();
    this.weight = this.registerParameter(
      'weight',
      kaimingUniform([outFeatures, inFeatures], inFeatures, gain, gen),
    );
    this.bias = bias
      ? this.registerParameter('bias', kaimingUniform([outFeatures], inFeatures, 1 / Math.sqrt(3), gen))
      : null;
  }

  forward(x: Tensor): Tensor {
    const d = x.shape[x.rank - 1];
    if (d !== this.inFeatures)
      throw new RangeError(
        `Linear(${this.inFeatures}, ${this.outFeatures}): input of shape [${x.shape}] has ${d} features`,
      );
    return linear(x, this.weight, this.bias ?? undefined);
  }
}

/** A parameter-free layer from a function (an activation in a Sequential). */
export class Lambda extends Module implements Layer {
  constructor(readonly fn: (x: Tensor) => Tensor) {
    super();
  }

  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}

/** Layers applied in order; children are named '0', '1', ... Plain functions become Lambdas. */
export class Sequential extends Module implements Layer {
  readonly layers: (Module & Layer)[];

  constructor(...layers: ((Module & Layer) | ((x: Tensor) => Tensor))[]) {
    super();
    this.layers = layers.map((l, i) =>
      this.registerModule(String(i), l instanceof Module ? l : new Lambda(l)),
    );
  }

  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, layer) => layer.forward(h), x);
  }
}
