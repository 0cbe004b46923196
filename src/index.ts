/**
 * synface-gpu: the engine's public surface, the same in Node and in a browser (no Node
 * imports). Environment-specific start-up lives at the edges, and the package's entry points
 * add it: node.ts ('synface-gpu' in Node: initGpu on Dawn, shutdownGpu) and browser.ts
 * ('synface-gpu' in a browser bundle: initGpu on navigator.gpu).
 */
export { Device, KernelError, type AdapterDescription, type KernelDef } from './gpu/device.js';
export { getDevice, setDevice, hasDevice, createDevice } from './gpu/runtime.js';
export { setDebug } from './gpu/debug.js';
export { Params } from './gpu/params.js';
export { Tensor, liveTensors, type DType } from './tensor/tensor.js';
export { scope, keep } from './tensor/scope.js';
export { tensor, zeros, ones, full, scalar } from './tensor/create.js';
export {
  Generator,
  manualSeed,
  getDefaultGenerator,
  rand,
  randn,
  randomBits,
  dropoutMask,
  randperm,
} from './tensor/random.js';
export { backward, grad, noGrad, isGradEnabled, record, type GradNode } from './autograd/tape.js';
export * as ops from './ops/index.js';
export * from './ops/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as io from './io/index.js';
