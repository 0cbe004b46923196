import { defineConfig } from 'vitest/config';

// One test file at a time: every file opens its own GPU device, and on a CPU adapter the
// kernels already use both cores.
// Two projects, run one after the other: the engine's tests, each file on a GPU device opened
// by test/setup.ts; and the package test, which needs no device of its own (its GPU work runs
// in the installed package's process) and, holding one idle while it packs and installs, made
// Dawn abort at the worker's exit.
export default defineConfig({
  test: {
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'engine',
          include: ['test/**/*.test.ts'],
          exclude: ['test/package.test.ts'],
          setupFiles: ['test/setup.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'package', include: ['test/package.test.ts'], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
