#!/usr/bin/env node
/**
 * The `synface` command.
 *   synface demo [--steps N]          the main job: SynFace end to end on the embedded sample
 *   synface train-recognizer ...      ArcFace training on LFW-layout data (--help for options)
 *   synface eval --weights W --data DIR --pairs FILE [--flip] [--json] [--roc F]
 *   synface split ...                 a validation split by people, pairs in the LFW format
 *   synface analyze --data DIR --out F.safetensors   face factors of every image, once (resumable)
 *   synface train-generator ...       GAN training of the face generator on measured factors
 *   synface eval-generator [--json]   the generator judged on unseen synthetic identities
 *   synface generate ... --out F.png  faces from the generator: a seed and explicit or sampled factors
 *   synface synthesize ... --out DIR  a synthetic dataset (folder per identity, labels.jsonl), shardable
 *   synface experiment ...            SynFace's comparison: Real, Real(M), Syn, Syn+IM, Syn+IM+DM(M)
 *   synface train-student ...         the factor student: the measured factors distilled into a 64x64 net
 *   synface engine-demo [--steps N]   the engine alone: learn 3 spirals on the GPU
 *   synface info                      the adapter and the engine's kernel choices
 * Environment: SYNFACE_ADAPTER picks the adapter (auto, lavapipe, swiftshader, gpu, or an ICD
 * .json), SYNFACE_DEBUG=1|2|3|validate prints kernels and dispatches, SYNFACE_CACHE the folder
 * of decoded-image caches (default ~/.cache/synface-gpu).
 * Installed, this is dist/tools/synface.js, run by node (the shebang above survives the build);
 * in the repository it runs from source: `npx tsx tools/synface.ts`.
 */
import { isAbsolute, join, relative } from 'node:path';
import { initGpu, shutdownGpu } from '../src/gpu/node.js';
import { matmulRanking } from '../src/ops/matmul.js';
import {
  embeddedSamplePath,
  packageRoot,
  shippedGeneratorPath,
  shippedRecognizerPath,
} from '../src/io/package-files.js';
import { runDemo } from './demo.js';
import { runSynfaceDemo } from './synface-demo.js';
import { trainingConsole } from './progress.js';
import { trainRecognizerCommand } from './train-recognizer.js';
import { splitCommand } from './split.js';
import { evalCommand } from './eval.js';
import { analyzeCommand } from './analyze.js';
import { trainGeneratorCommand } from './train-generator.js';
import { evalGeneratorCommand } from './eval-generator.js';
import { generateCommand } from './generate.js';
import { synthesizeCommand } from './synthesize.js';
import { trainStudentCommand } from './train-student.js';
import { experimentCommand } from './experiment.js';
import { parseArgs } from './args.js';
import { describeFileError } from '../src/io/file-errors.js';

/** A path as the user reads it: relative when inside the current folder (the repository), else absolute. */
function shown(path: string): string {
  const r = relative(process.cwd(), path);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : path;
}

const USAGE = `usage: synface <command> [options]   (synface <command> --help for its options)
  demo               the main job: SynFace on the embedded LFW sample (generator, both mixups, training, verification)
  train-recognizer   ArcFace training of the face recognizer on LFW-layout data
  eval               LFW-protocol verification of a trained recognizer
  split              a validation split by people with pairs in the LFW format
  analyze            face factors of every image of a dataset (identity, landmarks, pose, expression, lighting)
  train-generator    GAN training of the face generator on the measured factors
  eval-generator     the generator judged on unseen synthetic identities (consistency, control, realism)
  generate           faces from the generator: a seed and explicit or sampled factors, PNG out
  synthesize         a synthetic face dataset with identity mixup, shardable and resumable
  experiment         SynFace's comparison: Real, Real(M), Syn, Syn+IM, Syn+IM+DM(M) on held-out people
  train-student      the factor student: measured factors distilled into a small 64x64 network
  engine-demo        the engine alone: a small network learns 3 spirals
  info               the adapter and the engine's kernel choices`;

async function main(argv: string[]): Promise<number> {
  const [command = 'help', ...args] = argv;
  if (command === 'help' || command === '--help') {
    console.log(USAGE);
    return 0;
  }
  if (command === 'split') return splitCommand(args);
  // a subcommand's --help prints its options before any GPU work: no adapter is opened for it
  const HELPED: Record<string, (args: string[]) => Promise<number>> = {
    'train-recognizer': trainRecognizerCommand,
    eval: evalCommand,
    analyze: analyzeCommand,
    'train-generator': trainGeneratorCommand,
    'eval-generator': evalGeneratorCommand,
    generate: generateCommand,
    synthesize: synthesizeCommand,
    experiment: experimentCommand,
    'train-student': trainStudentCommand,
  };
  if (args.includes('--help') && HELPED[command]) return HELPED[command](['--help']);
  const device = await initGpu({ announce: true });
  try {
    if (command === 'demo') {
      const o = parseArgs('demo', args, {
        steps: {
          type: 'number',
          help: 'training steps of each recognizer trained here',
          default: 60,
          int: true,
          min: 1,
        },
        ids: { type: 'number', help: 'synthetic identities', default: 24, int: true, min: 2 },
        'per-id': { type: 'number', help: 'images per synthetic identity', default: 8, int: true, min: 1 },
        out: { type: 'string', help: 'output folder', default: 'runs/demo' },
      });
      const term = trainingConsole();
      await runSynfaceDemo({
        sample: shown(embeddedSamplePath()),
        recognizer: shown(shippedRecognizerPath()),
        generator: shown(shippedGeneratorPath()),
        factors: shown(join(packageRoot(), 'data', 'lfw-devtrain.factors.safetensors')),
        arms: shown(join(packageRoot(), 'weights', 'synface')),
        out: String(o.out),
        steps: Number(o.steps),
        ids: Number(o.ids),
        perId: Number(o['per-id']),
        log: term.log,
        onProgress: term.onProgress,
      });
      term.end();
      return 0;
    }
    if (HELPED[command]) return await HELPED[command](args);
    if (command === 'engine-demo') {
      const o = parseArgs('engine-demo', args, {
        steps: { type: 'number', help: 'steps', default: 500, int: true, min: 1 },
        hidden: { type: 'number', help: 'hidden units', default: 64, int: true, min: 1 },
        seed: { type: 'number', help: 'seed', default: 0, int: true },
      });
      const result = await runDemo({
        steps: Number(o.steps),
        hidden: Number(o.hidden),
        seed: Number(o.seed),
        log: console.log,
      });
      return result.accuracy > 0.9 ? 0 : 1;
    }
    if (command === 'info') {
      console.log(
        JSON.stringify(
          {
            adapter: device.adapter,
            limits: {
              maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
              maxComputeInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
            },
            matmul: matmulRanking().map((v) => v.name),
          },
          null,
          2,
        ),
      );
      return 0;
    }
    console.error(`synface: unknown command '${command}'\n${USAGE}`);
    return 2;
  } finally {
    shutdownGpu();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  // a user's mistake (bad file, bad option) reads as one line; SYNFACE_DEBUG shows the stack.
  // File-system errors (ENOSPC, ENOENT, EEXIST, EACCES...) name the path and say what to do.
  const message = describeFileError(e) ?? (e instanceof Error ? e.message : String(e));
  console.error(process.env.SYNFACE_DEBUG ? e : `synface: ${message}`);
  process.exitCode = 1;
}
