/// <reference types="@webgpu/types" preserve="true" />
/**
 * The package's Node entry (`import ... from 'synface-gpu'` in Node, or 'synface-gpu/node'):
 * the whole engine (./index.ts) plus what only Node has:
 *   - initGpu / shutdownGpu: a WebGPU device from Dawn (the npm package `webgpu`);
 *   - the Node file edge of io: atomic writes, checkpoint files;
 *   - where the package's own files are: the shipped recognizer, the embedded sample.
 * (The reference line above keeps the WebGPU type declarations in the emitted .d.ts, so a
 * TypeScript user sees GPUDevice and friends without configuring anything.)
 */
export * from './index.js';
export { initGpu, shutdownGpu, nodeGpu, type NodeGpuOptions } from './gpu/node.js';
export {
  writeFileAtomic,
  saveCheckpoint,
  readCheckpoint,
  loadCheckpoint,
  type AtomicWriteOptions,
} from './io/node-files.js';
export { packageRoot, shippedRecognizerPath, embeddedSamplePath } from './io/package-files.js';
