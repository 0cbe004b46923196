/** Modules and layers. */
export { Module, type Layer, type LoadResult } from './module.js';
export { Linear, Lambda, Sequential, kaimingUniform, type LinearOptions } from './layers.js';
export { Conv2d, BatchNorm, PReLU, Dropout, Flatten, type Conv2dLayerOptions } from './conv-layers.js';
export {
  EqualLinear,
  EqualConv2d,
  ModulatedConv,
  MinibatchStd,
  type EqualOptions,
} from './stylegan-layers.js';
