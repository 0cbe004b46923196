/**
 * A face recognizer as SynFace trains it: an IResNet backbone to an embedding f, and an
 * ArcFace classifier over the training identities (ArcMarginProduct in SynFace's
 * lib/models/metrics.py):
 *
 *   cos[i, k] = <f_i / |f_i|, W_k / |W_k|>            (B, K), W: (K, embedding)
 *   logits    = s cos, with s cos(theta + m) at the label (arcfaceLogits, src/ops/loss.ts)
 *   loss      = cross-entropy(logits, label)
 *
 * Only the backbone is kept for verification; the head belongs to the training identities.
 * SynFace's mixed loss (identity and domain mixup) takes the same cosines (synfaceLoss).
 */
import { arcfaceLogits, crossEntropy, l2Normalize, matmul } from '../ops/index.js';
import { Module } from '../nn/module.js';
import { getDefaultGenerator, rand, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Labels } from '../ops/indexing.js';
import { IResNet, IRESNET_PRESETS, type IResNetConfig } from './iresnet.js';

export interface ArcFaceConfig {
  /** Scale s (SynFace: 30). */
  s: number;
  /** Additive angular margin m in radians (SynFace: 0.5). */
  m: number;
}

/** The class centres W (K, embedding), Xavier-uniform as in ArcMarginProduct. */
export class ArcFaceHead extends Module {
  readonly weight: Tensor;

  constructor(
    readonly classes: number,
    readonly embedding: number,
    gen: Generator = getDefaultGenerator(),
  ) {
    super();
    if (!(Number.isInteger(classes) && classes > 0))
      throw new RangeError(`ArcFaceHead: classes ${classes} is not a positive integer`);
    const bound = Math.sqrt(6 / (classes + embedding)); // xavier_uniform_: U(-b, b), b = sqrt(6 / (fan_in + fan_out))
    this.weight = this.registerParameter('weight', rand([classes, embedding], -bound, bound, gen));
  }

  /** embeddings (B, E) -> cosines (B, K) between normalized embeddings and class centres */
  cosine(embeddings: Tensor): Tensor {
    return matmul(l2Normalize(embeddings), l2Normalize(this.weight), { transB: true });
  }
}

export interface RecognizerConfig {
  backbone: IResNetConfig;
  arcface: ArcFaceConfig;
}

/** Backbone + ArcFace head; `backbone` alone makes embeddings for verification. */
export class Recognizer extends Module {
  readonly backbone: IResNet;
  readonly head: ArcFaceHead;

  constructor(
    readonly config: RecognizerConfig,
    classes: number,
    gen: Generator = getDefaultGenerator(),
  ) {
    super();
    this.backbone = this.registerModule('backbone', new IResNet(config.backbone, gen));
    this.head = this.registerModule('head', new ArcFaceHead(classes, config.backbone.embedding, gen));
  }

  /** images (B, 3, H, W) -> cosines to every class centre (B, K) */
  cosine(images: Tensor): Tensor {
    return this.head.cosine(this.backbone.forward(images));
  }

  /** The ArcFace training loss (a scalar) of a batch with integer labels; `margin` overrides m. */
  loss(images: Tensor, labels: Labels, margin = this.config.arcface.m): Tensor {
    const logits = arcfaceLogits(this.cosine(images), labels, { s: this.config.arcface.s, m: margin });
    return crossEntropy(logits, labels);
  }
}
