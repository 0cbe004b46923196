/**
 * `synface experiment`: SynFace's comparison (src/train/experiment.ts) at this machine's scale:
 * the arms real-all, real-quarter, syn, syn-im and syn-im-dm, each a resumable recognizer run in
 * <out>/<arm> with the same budget (steps x batch), the two synthetic datasets in <out>/data,
 * and the results table (results.md, results.json) and bar chart (results.png). Run the same
 * command again to continue after a stop (--max-minutes, Ctrl-C); `--ship` copies each arm's
 * recognizer to weights/synface/<arm>.safetensors with a manifest.
 *
 * Defaults sized for a few hours here: N = 500 identities x K = 20 images (10,000 images per
 * dataset, about 25 min each to synthesize), M = 250 real people (about a quarter of the 1,006
 * training people with 2 or more images), 1,600 steps at batch 64 per arm (102,400 images seen,
 * about 20 epochs of the real training images; 25-30 min per arm).
 */
import { relative } from 'node:path';
import { ARMS, PAPER_ARMS, runExperiment, shipArms, type Arm } from '../src/train/experiment.js';
import { shippedGeneratorPath } from '../src/io/package-files.js';
import { parseArgs, usage, type OptionSpec } from './args.js';
import { interruptOnSigint } from './interrupt.js';
import { formatDuration, ProgressBar, trainingConsole } from './progress.js';
import { LFW_FACTORS } from './train-generator.js';
import { PRIOR_OPTIONS } from './generate.js';
import { DEFAULT_SPLIT, REAL_DATA_OPTIONS } from './train-recognizer.js';

const SPEC: Record<string, OptionSpec> = {
  generator: {
    type: 'string',
    help: 'generator weights (default: the shipped weights/generator.safetensors)',
  },
  factors: { type: 'string', help: "the generator's analyze file (its priors)", default: LFW_FACTORS },
  ...REAL_DATA_OPTIONS,
  split: {
    type: 'string',
    help: 'split folder: train-people.txt (the real arms), val-people.txt (left out of the priors), val-pairs.txt (validation)',
    default: DEFAULT_SPLIT,
  },
  out: { type: 'string', help: 'the experiment folder', default: 'runs/experiment' },
  ids: { type: 'number', help: 'synthetic identities N', default: 500, int: true, min: 2 },
  'per-id': { type: 'number', help: 'images per synthetic identity K', default: 20, int: true, min: 2 },
  'identity-spread': PRIOR_OPTIONS['identity-spread'],
  'real-people': {
    type: 'number',
    help: 'M, the real people of real-quarter and of the domain mixup',
    default: 250,
    int: true,
    min: 1,
  },
  steps: { type: 'number', help: "every arm's optimizer steps", default: 1600, int: true, min: 1 },
  batch: {
    type: 'number',
    help: "batch size (default: the preset's)",
    int: true,
    min: 2,
    minReason: "batch norm normalizes over the batch: one image's batch statistics are degenerate",
  },
  preset: { type: 'string', help: 'recognizer preset (small; paper needs 112x96 data)', default: 'small' },
  arms: {
    type: 'string',
    help: `comma-separated arms to run (${ARMS.join(', ')}; syn-dm, syn with domain mixup, is not in the paper)`,
    default: PAPER_ARMS.join(','),
  },
  seed: {
    type: 'number',
    help: 'seed of the synthetic data and of every run',
    default: 0,
    int: true,
    min: 0,
  },
  'synth-batch': {
    type: 'number',
    help: "images per generator batch (part of the datasets' definition)",
    default: 32,
    int: true,
    min: 1,
  },
  'max-minutes': { type: 'number', help: 'stop (resumable) after this many minutes', min: 0 },
  ship: {
    type: 'flag',
    help: "copy each arm's recognizer to weights/synface/<arm>.safetensors (+ manifest)",
  },
  help: { type: 'flag', help: 'this text' },
};

export async function experimentCommand(args: string[]): Promise<number> {
  const o = parseArgs('experiment', args, SPEC);
  if (o.help) {
    console.log(usage('experiment', "SynFace's comparison: Real, Real(M), Syn, Syn+IM, Syn+IM+DM(M).", SPEC));
    return 0;
  }
  const arms = String(o.arms)
    .split(',')
    .map((a) => a.trim()) as Arm[];
  const bad = arms.filter((a) => !ARMS.includes(a));
  if (bad.length)
    throw new Error(`synface experiment: --arms ${bad.join(', ')}: not one of ${ARMS.join(', ')}`);
  if (o.preset !== 'small' && o.preset !== 'paper')
    throw new Error(`synface experiment: unknown preset '${o.preset}' (small, paper)`);
  const term = trainingConsole();
  let bar: ProgressBar | undefined;
  const interrupt = interruptOnSigint();
  try {
    const options = {
      // relative to here, as the table and the manifests name it
      generator:
        o.generator === undefined ? relative(process.cwd(), shippedGeneratorPath()) : String(o.generator),
      factors: String(o.factors),
      data: String(o.data),
      people: String(o.people),
      split: String(o.split),
      out: String(o.out),
      ids: Number(o.ids),
      perId: Number(o['per-id']),
      identitySpread: Number(o['identity-spread']),
      realPeople: Number(o['real-people']),
      steps: Number(o.steps),
      batch: o.batch === undefined ? undefined : Number(o.batch),
      preset: o.preset,
      arms,
      seed: Number(o.seed),
      synthBatch: Number(o['synth-batch']),
      maxSeconds: o['max-minutes'] === undefined ? undefined : 60 * Number(o['max-minutes']),
      signal: interrupt.signal,
      log: term.log,
      onProgress: term.onProgress,
      onSynthProgress: (done: number, total: number, perSecond: number) => {
        bar ??= new ProgressBar(total);
        bar.update(done, { 'img/s': perSecond }, perSecond > 0 ? (total - done) / perSecond : undefined);
      },
    } as const;
    const t0 = performance.now();
    const r = await runExperiment(options);
    term.end();
    if (r.status !== 'finished') {
      term.log(
        `stopped after ${formatDuration((performance.now() - t0) / 1000)}: run the same command to continue`,
      );
      return interrupt.signal.aborted ? 130 : 0;
    }
    for (const { arm, report } of r.results)
      term.log(
        `${arm.padEnd(12)} ${(100 * (report.val_accuracy ?? NaN)).toFixed(2)}% +- ${(100 * (report.val_std ?? NaN)).toFixed(2)}  AUC ${report.auc?.toFixed(4)}`,
      );
    const shipped = o.ship ? shipArms(options, r.results, 'weights/synface') : [];
    term.log(`wrote ${[...r.files, ...shipped].join(', ')}`);
    return 0;
  } finally {
    interrupt.dispose();
  }
}
