#!/usr/bin/env -S npx tsx
/**
 * The `synface` command.
 *   synface demo [--steps N] [--hidden H] [--seed S]   the engine demo: learn 3 spirals on the GPU
 *   synface info                                       the adapter and the engine's kernel choices
 * Environment: SYNFACE_ADAPTER picks the adapter (auto, lavapipe, swiftshader, gpu, or an ICD
 * .json), SYNFACE_DEBUG=1|2|3|validate prints kernels and dispatches.
 */
import { initGpu, shutdownGpu } from '../src/gpu/node.js';
import { matmulRanking } from '../src/ops/matmul.js';
import { runDemo } from './demo.js';
import { trainRecognizerCommand } from './train-recognizer.js';
import { splitCommand } from './split.js';
import { evalCommand } from './eval.js';

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number, got '${args[i + 1]}'`);
  return v;
}

async function main(argv: string[]): Promise<number> {
  const [command = 'help', ...args] = argv;
  if (command === 'help' || command === '--help') {
    console.log('usage: synface demo [--steps N] [--hidden H] [--seed S] | synface info');
    return 0;
  }
  if (command === 'split') return splitCommand(args);
  const device = await initGpu({ announce: true });
  try {
    if (command === 'demo') {
      const result = await runDemo({ steps: option(args, 'steps', 500), hidden: option(args, 'hidden', 64), seed: option(args, 'seed', 0), log: console.log });
      return result.accuracy > 0.9 ? 0 : 1;
    }
    if (command === 'train-recognizer') return await trainRecognizerCommand(args);
    if (command === 'eval') return await evalCommand(args);
    if (command === 'info') {
      console.log(JSON.stringify({ adapter: device.adapter, limits: { maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize, maxComputeInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup }, matmul: matmulRanking().map((v) => v.name) }, null, 2));
      return 0;
    }
    console.error(`synface: unknown command '${command}' (try: synface help)`);
    return 2;
  } finally {
    shutdownGpu();
  }
}

process.exitCode = await main(process.argv.slice(2));
