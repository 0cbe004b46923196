// Every test file runs on one GPU device, opened before its tests and destroyed after.
import { afterAll, beforeAll } from 'vitest';
import { getDevice, hasDevice } from '../src/gpu/runtime.js';
import { initGpu, shutdownGpu } from '../src/gpu/node.js';

beforeAll(async () => {
  // no autotune: every matmul version is tested on its own (test/matmul.test.ts)
  await initGpu({ autotune: false });
});

afterAll(async () => {
  // Let the queue drain before the device goes, and Dawn's callbacks run after it: a worker
  // that exited with a device just destroyed (or never used) sometimes made Dawn abort at exit
  // (std::system_error, "Invalid argument").
  if (hasDevice()) await getDevice().sync();
  shutdownGpu();
  await new Promise((resolve) => setTimeout(resolve, 20));
});
