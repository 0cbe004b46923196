// Every test file runs on one GPU device, opened before its tests and destroyed after.
import { afterAll, beforeAll } from 'vitest';
import { initGpu, shutdownGpu } from '../src/gpu/node.js';

beforeAll(async () => {
  // no autotune: every matmul version is tested on its own (test/matmul.test.ts)
  await initGpu({ autotune: false });
});

afterAll(() => {
  shutdownGpu();
});
