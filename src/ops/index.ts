/** Every op of the engine, as plain functions of tensors. */
import { addStartupTask } from '../gpu/startup.js';
import { matmulAutotuneTask } from './matmul-autotune.js';

// The one registration of the ops with the device layer: initGpu() ranks the matmul kernel
// versions on its adapter (measured once per machine and adapter, then read from a cache).
addStartupTask(matmulAutotuneTask);

export * from './elementwise.js';
export { sum, mean, max, logsumexp, softmax, logSoftmax, sumTo, type Axes } from './reduce.js';
export {
  reshape,
  flatten,
  permute,
  transpose,
  slice,
  pad,
  concat,
  stack,
  broadcastTo,
  assign,
} from './shape.js';
export { matmul, linear, type MatmulOptions } from './matmul.js';
export { oneHot, pick, gatherRows, checkLabels, labelTensor, type Labels } from './indexing.js';
export {
  crossEntropy,
  softCrossEntropy,
  arcfaceLogits,
  ARC_SIN_EPS,
  synfaceLoss,
  synfaceLogits,
  type Reduction,
  type ArcfaceOptions,
  type SynfaceLossOptions,
} from './loss.js';
export { ganLossG, ganLossD } from './gan-loss.js';
export { batchNorm, l2Normalize, pixelNorm, type BatchNormOptions } from './norm.js';
export { softplus, prelu, dropout, type DropoutOptions } from './activation.js';
export { avgPool2d, maxPool2d, adaptiveAvgPool2d, globalAvgPool, type Size2 } from './pool.js';
export {
  upfirdn2d,
  upsample2d,
  downsample2d,
  resizeBilinear,
  type Filter,
  type Upfirdn2dOptions,
  type ResizeOptions,
} from './resample.js';
export { minibatchStd, noiseInjection, biasAct, type BiasActOptions } from './stylegan.js';
export { conv2d, conv2dInputGrad, conv2dWeightGrad, type Conv2dOptions } from './conv.js';
export { modulatedConv2d, type ModConvOptions } from './modconv.js';
export {
  sampleAugmentParams,
  identityAugmentParams,
  uploadU8Images,
  augmentImages,
  flipHorizontal,
  AUGMENT_DRAWS_PER_SAMPLE,
  type AugmentOptions,
  type AugmentParams,
} from './augment.js';
export { translate } from './translate.js';
export { applyDiffAugment, diffAugment, sampleDiffAugment, type DiffAugmentParams } from './diff-augment.js';
