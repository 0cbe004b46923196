/** Every op of the engine, as plain functions of tensors. */
import { provideAutogradOps } from '../autograd/tape.js';
import { ones } from '../tensor/create.js';
import { add, copy } from './elementwise.js';

export * from './elementwise.js';
export { sum, mean, max, logsumexp, softmax, logSoftmax, sumTo, type Axes } from './reduce.js';
export { reshape, flatten, permute, transpose, slice, pad, concat, stack, broadcastTo, assign } from './shape.js';
export { matmul, linear, type MatmulOptions } from './matmul.js';

provideAutogradOps({ ones, add, copy });
export {
  crossEntropy, softCrossEntropy, oneHot, pick, gatherRows, checkLabels, labelTensor, arcfaceLogits, ARC_SIN_EPS,
  synfaceLoss, synfaceLogits, softplus, ganLossG, ganLossD,
  type Labels, type Reduction, type ArcfaceOptions, type SynfaceLossOptions,
} from './loss.js';
