/** Modules and layers. */
export { Module, type Layer, type LoadResult } from './module.js';
export { Linear, Lambda, Sequential, kaimingUniform, type LinearOptions } from './layers.js';
