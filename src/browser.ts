/// <reference types="@webgpu/types" preserve="true" />
/**
 * The package's browser entry (`import ... from 'synface-gpu'` in a bundler that targets the
 * browser, or 'synface-gpu/browser'): the whole engine (./index.ts, which imports no Node
 * module) plus initGpu on navigator.gpu. Also the default for other runtimes with WebGPU.
 */
export * from './index.js';
export { initGpu } from './gpu/browser.js';
