/**
 * `synface train-recognizer`: ArcFace training of the recognizer on LFW-layout data, with a
 * validation split by people, periodic validation on its pairs, atomic checkpoints (every N
 * steps and on Ctrl-C), `--resume`, a JSON-lines log and curve images. The options become a
 * trainRecognizer() call (src/train/recognizer-run.ts), whose loop is src/train/runner.ts.
 *
 * Files in --out:
 *   split/            train-people.txt, val-people.txt, val-pairs.txt (LFW formats; see split)
 *   checkpoint.safetensors (+ .prev)   the full training state, for --resume
 *   log.jsonl         one JSON object per line: {"type":"train",...} and {"type":"val",...}
 *   curves.png        loss and validation accuracy against the step
 *   recognizer.safetensors             the final backbone (synface eval reads it)
 *   report.json       the run's summary
 */
import { trainRecognizer } from '../src/train/recognizer-run.js';
import { RECOGNIZER_PRESETS } from '../src/train/presets.js';
import { parseArgs, usage, type OptionSpec } from './args.js';
import { interruptOnSigint } from './interrupt.js';
import { formatDuration, trainingConsole } from './progress.js';

const DEFAULT_DATA = '../shared/data/lfw-devtrain';
/** The recognizer's committed split: its validation people are held out from every model. */
export const DEFAULT_SPLIT = 'weights/split';

/** The real faces: an LFW-layout folder and its people file (shared with synface experiment). */
export const REAL_DATA_OPTIONS: Record<string, OptionSpec> = {
  data: {
    type: 'string',
    help: 'LFW-layout folder (images/<Name>/<Name>_NNNN.jpg and a people file)',
    default: DEFAULT_DATA,
  },
  people: { type: 'string', help: 'people file inside --data', default: 'peopleDevTrain.txt' },
};

const SPEC: Record<string, OptionSpec> = {
  ...REAL_DATA_OPTIONS,
  preset: { type: 'string', help: 'small | paper', default: 'small' },
  out: { type: 'string', help: 'output folder', default: 'runs/recognizer' },
  layout: {
    type: 'string',
    help: 'lfw (a people file) | folders (a folder per identity, as CASIA-WebFace) | synthetic (synface synthesize output: identity mixup soft labels)',
    default: 'lfw',
  },
  split: {
    type: 'string',
    help: `folder with train-people.txt and val-pairs.txt (default: made in <out>/split; with --layout synthetic: ${DEFAULT_SPLIT}, its val-pairs.txt validates and its train-people.txt are --real's people)`,
  },
  'max-people': {
    type: 'number',
    help: 'layout lfw: train on this many of the training people (a fixed choice: the same people as --real-people M)',
    int: true,
    min: 1,
  },
  real: {
    type: 'string',
    help: "domain mixup: LFW-layout folder of real faces blended into each batch (psi per batch from 0, 0.05, ..., 1); the people are the split's training people",
  },
  'real-list': { type: 'string', help: 'people file inside --real', default: 'peopleDevTrain.txt' },
  'real-people': {
    type: 'number',
    help: 'with --real: how many real people (a fixed choice among the eligible training people)',
    int: true,
    min: 1,
  },
  'val-data': {
    type: 'string',
    help: `with --layout folders or synthetic: LFW-layout folder of the validation pairs' images (synthetic: default ${DEFAULT_DATA})`,
  },
  'val-pairs': {
    type: 'string',
    help: 'with --layout folders or synthetic: validation pairs file (LFW format; synthetic: default <split>/val-pairs.txt)',
  },
  'val-fraction': {
    type: 'number',
    help: 'people held out for validation when the split is made',
    default: 0.15,
  },
  epochs: { type: 'number', help: "epochs over the training images (default: the preset's)", min: 0 },
  steps: { type: 'number', help: 'optimizer steps (overrides --epochs)', int: true, min: 1 },
  batch: {
    type: 'number',
    help: "batch size (default: the preset's)",
    int: true,
    min: 2,
    minReason: "batch norm normalizes over the batch: one image's batch statistics are degenerate",
  },
  lr: { type: 'number', help: "peak learning rate (default: the preset's)", min: 0 },
  'margin-warmup': {
    type: 'number',
    help: "epochs over which the ArcFace margin grows from 0 to m (default: the preset's)",
    min: 0,
  },
  'min-images': {
    type: 'number',
    help: "train on people with at least this many images (default: the preset's)",
    int: true,
    min: 1,
  },
  seed: {
    type: 'number',
    help: 'seed of initialization, batches, augmentation, dropout',
    default: 0,
    int: true,
  },
  'val-every': {
    type: 'number',
    help: 'validate every N steps (0: only at the end)',
    default: 200,
    int: true,
    min: 0,
  },
  'ckpt-every': { type: 'number', help: 'checkpoint every N steps', default: 100, int: true, min: 1 },
  'log-every': {
    type: 'number',
    help: 'read the loss back and log every N steps',
    default: 10,
    int: true,
    min: 1,
  },
  'stop-after': {
    type: 'number',
    help: 'stop (with a checkpoint) after this many steps of this session, to resume later',
    int: true,
    min: 1,
  },
  'max-minutes': {
    type: 'number',
    help: 'stop (with a checkpoint) after this many minutes of this session, to resume later',
    min: 0,
  },
  strict: {
    type: 'flag',
    help: 'fail, naming them, if images the run uses cannot be decoded (default: leave them out, counted)',
  },
  resume: { type: 'flag', help: 'continue from <out>/checkpoint.safetensors' },
  overwrite: { type: 'flag', help: 'start over in an --out that holds a checkpoint (it is replaced)' },
  help: { type: 'flag', help: 'this text' },
};

export async function trainRecognizerCommand(args: string[]): Promise<number> {
  const o = parseArgs('train-recognizer', args, SPEC);
  if (o.help) {
    console.log(
      usage('train-recognizer', 'ArcFace training of the face recognizer on LFW-layout data.', SPEC),
    );
    return 0;
  }
  const preset = String(o.preset);
  if (!(preset in RECOGNIZER_PRESETS))
    throw new Error(`synface train-recognizer: unknown preset '${preset}' (small, paper)`);
  if (o.layout !== 'lfw' && o.layout !== 'folders' && o.layout !== 'synthetic')
    throw new Error(`synface train-recognizer: --layout ${o.layout} is not lfw, folders or synthetic`);
  const str = (k: string) => (o[k] === undefined ? undefined : String(o[k]));
  const num = (k: string) => (o[k] === undefined ? undefined : Number(o[k]));
  if ((o.real === undefined) !== (o['real-people'] === undefined))
    throw new Error(
      'synface train-recognizer: --real and --real-people go together (the folder and how many of its people)',
    );
  const synthetic = o.layout === 'synthetic';
  // synthetic data and domain mixup read the committed split unless told otherwise
  const split = str('split') ?? (synthetic || o.real !== undefined ? DEFAULT_SPLIT : undefined);
  const term = trainingConsole();
  const interrupt = interruptOnSigint();
  try {
    const r = await trainRecognizer({
      preset: preset as keyof typeof RECOGNIZER_PRESETS,
      layout: o.layout,
      data: String(o.data),
      people: String(o.people),
      split,
      valFraction: Number(o['val-fraction']),
      valData: str('val-data') ?? (synthetic ? DEFAULT_DATA : undefined),
      valPairs: str('val-pairs') ?? (synthetic ? `${split}/val-pairs.txt` : undefined),
      maxPeople: num('max-people'),
      real:
        o.real === undefined
          ? undefined
          : {
              data: String(o.real),
              people: String(o['real-list']),
              split: split!,
              count: Number(o['real-people']),
            },
      out: String(o.out),
      steps: num('steps'),
      epochs: num('epochs'),
      batch: num('batch'),
      lr: num('lr'),
      marginWarmupEpochs: num('margin-warmup'),
      minImages: num('min-images'),
      seed: Number(o.seed),
      valEvery: Number(o['val-every']),
      ckptEvery: Number(o['ckpt-every']),
      logEvery: Number(o['log-every']),
      stopAfter: num('stop-after'),
      maxSeconds: o['max-minutes'] === undefined ? undefined : 60 * Number(o['max-minutes']),
      strict: !!o.strict,
      resume: !!o.resume,
      overwrite: !!o.overwrite,
      command: ['synface', 'train-recognizer', ...args].join(' '),
      signal: interrupt.signal,
      log: term.log,
      onProgress: term.onProgress,
    });
    term.end();
    const log = term.log;
    if (r.status !== 'finished') {
      log(
        `${r.status} at step ${r.step} of ${r.steps}; checkpoint ${String(o.out)}/checkpoint.safetensors (continue with --resume)`,
      );
      return r.status === 'interrupted' ? 130 : 0;
    }
    const s = r.report!;
    log(
      `done: ${r.steps} steps in ${formatDuration(s.wall_seconds)}` +
        (s.val_accuracy !== null
          ? `; validation accuracy ${(100 * s.val_accuracy).toFixed(2)}% +- ${(100 * s.val_std!).toFixed(2)} on ${s.val_pairs} pairs, AUC ${s.auc!.toFixed(4)}, TAR@FAR=1e-2 ${(100 * s.tar_at_far_1e_2!).toFixed(1)}%`
          : ' (no validation)'),
    );
    log(`wrote ${r.files.join(', ')}`);
    return 0;
  } finally {
    interrupt.dispose();
  }
}
