/**
 * The layers of a convolutional network: Conv2d, BatchNorm (1-d and 2-d), PReLU, Dropout,
 * Flatten. Each registers its parameters and buffers in the constructor (so state dicts and
 * checkpoints carry them under PyTorch's names) and calls one op in forward.
 */
import { batchNorm, conv2d, dropout, flatten, prelu } from '../ops/index.js';
import type { Conv2dOptions } from '../ops/conv.js';
import { full, ones, zeros } from '../tensor/create.js';
import { getDefaultGenerator, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { kaimingUniform } from './layers.js';
import { Module, type Layer } from './module.js';

export interface Conv2dLayerOptions extends Conv2dOptions {
  bias?: boolean;
  gen?: Generator;
  /** Weight init gain (see kaimingUniform); default 1/sqrt(3) as PyTorch; sqrt(2) is He init. */
  gain?: number;
}

/** x (N, C, H, W) -> (N, O, OH, OW); weight (O, C/groups, k, k) as in PyTorch. */
export class Conv2d extends Module implements Layer {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly options: Conv2dOptions;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    { bias = true, gen = getDefaultGenerator(), gain = 1 / Math.sqrt(3), ...conv }: Conv2dLayerOptions = {},
  ) {
    super();
    const groups = conv.groups ?? 1;
    const fanIn = (inChannels / groups) * kernelSize * kernelSize;
    this.weight = this.registerParameter(
      'weight',
      kaimingUniform([outChannels, inChannels / groups, kernelSize, kernelSize], fanIn, gain, gen),
    );
    this.bias = bias
      ? this.registerParameter('bias', kaimingUniform([outChannels], fanIn, 1 / Math.sqrt(3), gen))
      : null;
    this.options = conv;
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.options);
  }
}

/**
 * Batch normalization over the channel axis 1 of (N, C) or (N, C, H, W) inputs: batch
 * statistics in training (running statistics updated in place), running ones in eval.
 */
export class BatchNorm extends Module implements Layer {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly momentum: number;
  readonly eps: number;

  constructor(
    readonly channels: number,
    { affine = true, momentum = 0.1, eps = 1e-5 }: { affine?: boolean; momentum?: number; eps?: number } = {},
  ) {
    super();
    this.weight = affine ? this.registerParameter('weight', ones([channels])) : null;
    this.bias = affine ? this.registerParameter('bias', zeros([channels])) : null;
    this.runningMean = this.registerBuffer('running_mean', zeros([channels]));
    this.runningVar = this.registerBuffer('running_var', ones([channels]));
    this.momentum = momentum;
    this.eps = eps;
  }

  forward(x: Tensor): Tensor {
    return batchNorm(x, {
      weight: this.weight,
      bias: this.bias,
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}

/** max(x, 0) + a_c min(x, 0) with a learned slope per channel (init 0.25, as PyTorch). */
export class PReLU extends Module implements Layer {
  readonly weight: Tensor;

  constructor(channels: number, init = 0.25) {
    super();
    this.weight = this.registerParameter('weight', full([channels], init));
  }

  forward(x: Tensor): Tensor {
    return prelu(x, this.weight);
  }
}

/** Inverted dropout in training, identity in eval. */
export class Dropout extends Module implements Layer {
  constructor(
    readonly p: number,
    readonly gen: Generator = getDefaultGenerator(),
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, { training: this.training, generator: this.gen });
  }
}

/** (N, ...) -> (N, prod(...)). */
export class Flatten extends Module implements Layer {
  forward(x: Tensor): Tensor {
    return flatten(x, 1);
  }
}
