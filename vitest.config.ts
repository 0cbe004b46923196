import { defineConfig } from 'vitest/config';

// One test file at a time: every file opens its own GPU device, and on a CPU adapter the
// kernels already use both cores.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
