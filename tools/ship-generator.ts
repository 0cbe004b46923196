/**
 * Ships the generator a training run has exported, with what it is and how good it is:
 *
 *   synface eval-generator --weights runs/generator/generator.safetensors --json > eval.json
 *   npx tsx tools/ship-generator.ts --run runs/generator --eval eval.json
 *
 * writes (each file atomically; nothing is written unless every input checks out):
 *   weights/generator.safetensors     the run's EMA generator as exported (G_ema only)
 *   weights/generator.grid.png        rows: new identities; columns: expression, pose and
 *                                     lighting drawn from the priors (`synface generate --grid`)
 *   weights/generator.curves.png      the run's curves (losses, FD against held-out faces)
 *   weights/generator.manifest.json   the training command, kimg, steps, wall time, data, the
 *                                     eval-generator numbers and the command that reproduces them,
 *                                     and the commit of the code that shipped it
 * The shipped file is replaced each time the run moves on: its manifest says where it stands.
 */
import { execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateFaces } from '../src/eval/generate.js';
import { parseSafetensors } from '../src/io/safetensors.js';
import { writeFileAtomic } from '../src/io/node-files.js';
import { GENERATOR_FORMAT } from '../src/models/generator/weights.js';
import { parseArgs } from './args.js';
import { LFW_FACTORS } from './train-generator.js';

/** eval-generator --json keys the manifest must carry (issue 11's list). */
const METRICS = [
  'same_identity_verified',
  'different_identity_rejected',
  'recognizer_same_cosine',
  'recognizer_real_same_cosine',
  'yaw_corr',
  'pitch_corr',
  'expression_corr',
  'lighting_corr',
  'fd',
  'fd_real_floor',
  'kid',
];

const o = parseArgs('ship-generator', process.argv.slice(2), {
  run: { type: 'string', help: 'training run folder (its generator.safetensors, curves.png)' },
  eval: { type: 'string', help: 'the JSON that `synface eval-generator --json` printed for it' },
  'eval-command': {
    type: 'string',
    help: 'the eval-generator command that printed --eval (recorded in the manifest)',
  },
  out: { type: 'string', help: 'folder to ship into', default: 'weights' },
});
if (!o.run || !o.eval) throw new Error('ship-generator: --run and --eval are required');
const run = String(o.run),
  out = String(o.out);

const source = join(run, 'generator.safetensors');
const bytes = new Uint8Array(readFileSync(source));
const { metadata } = parseSafetensors(bytes, source);
if (metadata.format !== GENERATOR_FORMAT)
  throw new Error(`ship-generator: ${source} is not a generator export (format ${metadata.format})`);
const info = JSON.parse(metadata.info ?? '{}') as Record<string, unknown>;
const summary = JSON.parse(readFileSync(String(o.eval), 'utf8')) as Record<string, unknown>;
const missing = METRICS.filter((k) => typeof summary[k] !== 'number');
if (missing.length)
  throw new Error(
    `ship-generator: ${o.eval} lacks ${missing.join(', ')} (not eval-generator --json output?)`,
  );

const weights = join(out, 'generator.safetensors');
writeFileAtomic(weights, bytes);
writeFileAtomic(join(out, 'generator.curves.png'), new Uint8Array(readFileSync(join(run, 'curves.png'))));
const grid = join(out, 'generator.grid.png');
await generateFaces({
  weights,
  factors: LFW_FACTORS,
  split: 'weights/split',
  out: grid,
  seed: 0,
  identity: 'sample',
  yaw: 'sample',
  pitch: 'sample',
  expression: 'sample',
  light: 'sample',
  rows: 6,
  columns: 8,
});

const manifest = {
  file: weights,
  bytes: bytes.length,
  sha256: createHash('sha256').update(bytes).digest('hex'),
  what: 'the EMA generator (G_ema) of a train-generator run, as exported at the step below',
  trained_by: info.command,
  step: info.step,
  kimg: info.kimg,
  wall_seconds: info.wall_seconds,
  data: { folder: info.data, people_file: info.people, factors: info.factors, split: 'weights/split' },
  code_commit_at_shipping: execSync('git rev-parse HEAD').toString().trim(),
  evaluation: {
    command: o['eval-command'] ?? null,
    ...summary,
  },
  grid: { file: grid, command: `synface generate --weights ${weights} --grid 6x8 --seed 0 --out ${grid}` },
  reproduce: `synface eval-generator --weights ${weights} --json`,
};
writeFileAtomic(
  join(out, 'generator.manifest.json'),
  new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n'),
);
console.log(JSON.stringify(manifest, null, 2));
