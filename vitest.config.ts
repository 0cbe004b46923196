import { defineConfig } from 'vitest/config';

// One test file at a time: every file opens its own GPU device, and on a CPU adapter the
// kernels already use both cores.
// Two projects, run one after the other: the engine's tests, each file on a GPU device opened
// by test/setup.ts; and the package test, which needs no device of its own (its GPU work runs
// in the installed package's process) and, holding one idle while it packs and installs, made
// Dawn abort at the worker's exit.
// Test files that need no GPU run without test/setup.ts: a device opened and left idle by a file
// that never uses it sometimes made Dawn abort at the worker's exit (std::system_error).
const NO_GPU = [
  'test/package.test.ts',
  'test/generated-shaders.test.ts',
  'test/reading-path.test.ts',
  'test/face-pose.test.ts',
  'test/face-expression.test.ts',
  'test/face-lighting.test.ts',
  'test/histogram.test.ts',
  'test/onnx-encode.test.ts',
];

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
          exclude: NO_GPU,
          setupFiles: ['test/setup.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'no-gpu', include: NO_GPU, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
