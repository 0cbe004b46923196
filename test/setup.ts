// Every test file runs on one GPU device, opened before its tests and destroyed after.
import { afterAll, beforeAll } from 'vitest';
import { initGpu, shutdownGpu } from '../src/gpu/node.js';

beforeAll(async () => {
  await initGpu();
});

afterAll(() => {
  shutdownGpu();
});
