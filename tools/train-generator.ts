/**
 * `synface train-generator`: GAN training of the face generator (issue 11) on LFW-layout data
 * with every image's measured factors, on the same runner as the recognizer. The options become
 * a trainGenerator() call (src/train/generator-run.ts).
 *
 * Files in --out (runs/ is not in git):
 *   checkpoint.safetensors (+ .prev)   the full state (G, D, G_ema, Adam, generators, sampler)
 *   log.jsonl         {"type":"train", step, kimg, loss_d, loss_g, recon, r1, images_per_s} ...
 *   grid.png, grids/grid-NNNNNNN.png   the sample grid (every --grid-every steps and at the end)
 *   curves.png        the losses against kimg
 *   generator.safetensors              the EMA generator at the end of the session
 * With --export, also the compact checkpoint (no optimizer state; with --export-half its networks
 * in F16) at --export-to, which a --resume on a fresh machine (no checkpoint in --out) continues from.
 */
import { trainGenerator, type GeneratorSettings } from '../src/train/generator-run.js';
import { GENERATOR_PRESETS } from '../src/models/generator/config.js';
import { checkGroupWeights } from '../src/train/generator-trainer.js';
import { EQUAL_GROUPS, type GroupWeights } from '../src/models/factor-student.js';
import { parseArgs, usage, type OptionSpec } from './args.js';
import { interruptOnSigint } from './interrupt.js';
import { formatDuration, trainingConsole } from './progress.js';

export const EXPORT_DEFAULT = 'weights/generator/latest.safetensors';
/**
 * The LFW devtrain analyze file, committed (data/README.md): a fresh machine trains, resumes and
 * evaluates without an hour of `synface analyze` first, on exactly the factors the run began with.
 */
export const LFW_FACTORS = 'data/lfw-devtrain.factors.safetensors';

const SPEC: Record<string, OptionSpec> = {
  data: { type: 'string', help: 'LFW-layout folder', default: '../shared/data/lfw-devtrain' },
  people: { type: 'string', help: 'people file inside --data', default: 'peopleDevTrain.txt' },
  split: {
    type: 'string',
    help: "folder of val-people.txt: the recognizer's validation people, left out",
    default: 'weights/split',
  },
  factors: {
    type: 'string',
    help: "the data's analyze file (synface analyze runs first when it is missing)",
    default: LFW_FACTORS,
  },
  out: { type: 'string', help: 'run folder', default: 'runs/generator' },
  preset: { type: 'string', help: Object.keys(GENERATOR_PRESETS).join(' | '), default: 'base' },
  kimg: {
    type: 'number',
    help: 'length of the run in thousands of real images shown to D',
    default: 100,
    min: 0,
  },
  steps: { type: 'number', help: 'length of the run in steps (overrides --kimg)', int: true, min: 1 },
  batch: {
    type: 'number',
    help: 'images per step (a multiple of 4: minibatch std groups)',
    default: 16,
    int: true,
    min: 4,
  },
  seed: {
    type: 'number',
    help: 'seed of initialization, batches, z and noise',
    default: 0,
    int: true,
    min: 0,
  },
  'log-every': {
    type: 'number',
    help: 'read the losses back and log every N steps',
    default: 10,
    int: true,
    min: 1,
  },
  'ckpt-every': { type: 'number', help: 'checkpoint every N steps', default: 100, int: true, min: 1 },
  'grid-every': { type: 'number', help: 'sample grid every N steps', default: 200, int: true, min: 1 },
  'grid-rows': {
    type: 'number',
    help: 'identities (rows) of the sample grid',
    default: 6,
    int: true,
    min: 1,
  },
  'fd-every': {
    type: 'number',
    help: 'Frechet distance to held-out faces every N steps (a multiple of --grid-every; 0: never)',
    default: 1000,
    int: true,
    min: 0,
  },
  'fd-images': {
    type: 'number',
    help: 'new identities rendered for the FD',
    default: 256,
    int: true,
    min: 2,
  },
  'recon-weight': { type: 'number', help: 'weight of the 16x16 reconstruction (default 1)', min: 0 },
  'combo-fraction': {
    type: 'number',
    help: "share of fakes that recombine factors (own identity, others' expression/pose/lighting; default 0.5)",
    min: 0,
  },
  'new-identity-fraction': {
    type: 'number',
    help: 'share of fakes with a new person from the identity prior (<= --combo-fraction; default 0.25)',
    min: 0,
  },
  'person-identity': {
    type: 'string',
    help: "on | off: a real image's identity input is its person's mean descriptor, not its own (default off)",
  },
  'factor-weight': {
    type: 'number',
    help: 'weight of the factor loss read by --student (default 0: off)',
    min: 0,
  },
  'factor-groups': {
    type: 'string',
    help: 'weights of the factor groups inside the factor loss, e.g. pose=4,expression=2 (groups: descriptor, expression, pose, lighting; the unnamed 1)',
  },
  'identity-weight': {
    type: 'number',
    help: 'weight of the identity loss read by --identity-critic (default 0: off)',
    min: 0,
  },
  'identity-margin': {
    type: 'number',
    help: "the critic's cosine above which two people in a batch are pushed apart (default 0.15)",
    min: -1,
  },
  'identity-critic': {
    type: 'string',
    help: 'the recognizer that judges identities (for --identity-weight; trained on 64x64 crops)',
    default: 'weights/recognizer-small.safetensors',
  },
  'dlib-weight': {
    type: 'number',
    help: "weight of the descriptor loss read by dlib's own network (default 0: off)",
    min: 0,
  },
  'dlib-every': {
    type: 'number',
    help: 'the dlib loss every N steps, scaled by N (default 4)',
    int: true,
    min: 1,
  },
  'dlib-images': {
    type: 'number',
    help: 'fakes dlib reads per use: the last N of the batch, new people first (default 8)',
    int: true,
    min: 1,
  },
  'dlib-margin': {
    type: 'number',
    help: "with the dlib loss, push the new people it reads apart to this descriptor distance (dlib's same-person threshold: 0.6; default 0: off)",
    min: 0,
  },
  'diff-augment': {
    type: 'string',
    help: 'on | off: DiffAugment (color, translation, cutout) on all images D sees (default off)',
  },
  student: {
    type: 'string',
    help: 'the factor student that reads factors from fakes (for --factor-weight)',
    default: 'weights/factor-student.safetensors',
  },
  lr: { type: 'number', help: "G's and D's learning rate (default 0.0025)", min: 0 },
  'stop-after': {
    type: 'number',
    help: 'stop (with a checkpoint) after N steps of this session',
    int: true,
    min: 1,
  },
  'max-minutes': { type: 'number', help: 'stop (with a checkpoint) after N minutes of this session', min: 0 },
  resume: {
    type: 'flag',
    help: 'continue from <out>/checkpoint.safetensors (or, if there is none, from --export-to)',
  },
  overwrite: { type: 'flag', help: 'start over in an --out that holds a checkpoint' },
  export: {
    type: 'flag',
    help: 'at the end of the session also write the compact checkpoint to --export-to (to commit)',
  },
  'export-to': { type: 'string', help: 'the compact checkpoint', default: EXPORT_DEFAULT },
  'export-half': {
    type: 'flag',
    help: "--export's networks in half precision (F16: 5 MB instead of 10 at the base preset)",
  },
  help: { type: 'flag', help: 'this text' },
};

function onOff(v: unknown, name: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === 'on' || v === 'off') return v === 'on';
  throw new Error(`synface train-generator: ${name} is '${String(v)}'; it takes on or off`);
}

/** 'pose=4,expression=2' -> each group's weight, the unnamed 1 (checked by the trainer). */
function groupWeights(text: string): GroupWeights {
  const w: GroupWeights = { ...EQUAL_GROUPS };
  for (const part of text.split(',')) {
    const [key, value, more] = part.split('=');
    const v = Number(value);
    if (more !== undefined || !value || !Number.isFinite(v))
      throw new Error(`synface train-generator: --factor-groups '${part}' is not group=weight (e.g. pose=4)`);
    (w as Record<string, number>)[key.trim()] = v;
  }
  checkGroupWeights(w, 'synface train-generator: --factor-groups');
  return w;
}

/** The loss settings given on the command line (the rest keep their defaults, or a resumed run's). */
function settingsOf(o: Record<string, unknown>): GeneratorSettings {
  const n = (k: string) => (o[k] === undefined ? undefined : Number(o[k]));
  const out: GeneratorSettings = {
    reconWeight: n('recon-weight'),
    comboFraction: n('combo-fraction'),
    newIdentityFraction: n('new-identity-fraction'),
    factorWeight: n('factor-weight'),
    factorGroups: o['factor-groups'] === undefined ? undefined : groupWeights(String(o['factor-groups'])),
    identityWeight: n('identity-weight'),
    identityMargin: n('identity-margin'),
    dlibWeight: n('dlib-weight'),
    dlibEvery: n('dlib-every'),
    dlibImages: n('dlib-images'),
    dlibMargin: n('dlib-margin'),
    diffAugment: onOff(o['diff-augment'], '--diff-augment'),
    personIdentity: onOff(o['person-identity'], '--person-identity'),
    lrG: n('lr'),
    lrD: n('lr'),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

export async function trainGeneratorCommand(args: string[]): Promise<number> {
  const o = parseArgs('train-generator', args, SPEC);
  if (o.help) {
    console.log(usage('train-generator', 'GAN training of the face generator on measured factors.', SPEC));
    return 0;
  }
  const preset = String(o.preset);
  if (!(preset in GENERATOR_PRESETS))
    throw new Error(
      `synface train-generator: unknown preset '${preset}' (${Object.keys(GENERATOR_PRESETS).join(', ')})`,
    );
  const batch = Number(o.batch);
  if (batch % 4)
    throw new Error(
      `synface train-generator: --batch ${batch} is not a multiple of 4 (minibatch std groups of 4)`,
    );
  if (o.resume && o.overwrite)
    throw new Error('synface train-generator: --resume and --overwrite contradict each other');
  const steps = o.steps !== undefined ? Number(o.steps) : Math.ceil((1000 * Number(o.kimg)) / batch);
  if (!(steps >= 1)) throw new Error(`synface train-generator: --kimg ${o.kimg} is less than one step`);
  const interrupt = interruptOnSigint();
  const term = trainingConsole({ position: 'kimg', rateDigits: 2 });
  const log = term.log;
  try {
    const r = await trainGenerator({
      data: String(o.data),
      people: String(o.people),
      split: String(o.split),
      factors: String(o.factors),
      out: String(o.out),
      preset: preset as keyof typeof GENERATOR_PRESETS,
      steps,
      batch,
      seed: Number(o.seed),
      logEvery: Number(o['log-every']),
      ckptEvery: Number(o['ckpt-every']),
      gridEvery: Number(o['grid-every']),
      gridRows: Number(o['grid-rows']),
      fdEvery: Number(o['fd-every']),
      fdImages: Number(o['fd-images']),
      stopAfter: o['stop-after'] === undefined ? undefined : Number(o['stop-after']),
      maxSeconds: o['max-minutes'] === undefined ? undefined : 60 * Number(o['max-minutes']),
      settings: settingsOf(o),
      student: String(o.student),
      identityCritic: String(o['identity-critic']),
      resume: !!o.resume,
      overwrite: !!o.overwrite,
      exportTo: o.export ? String(o['export-to']) : undefined,
      exportHalf: !!o['export-half'],
      fallback: String(o['export-to']),
      command: ['synface', 'train-generator', ...args].join(' '),
      signal: interrupt.signal,
      log,
      onProgress: term.onProgress,
    });
    term.end();
    log(
      `${r.status} at step ${r.step} of ${r.steps} (${((r.step * batch) / 1000).toFixed(2)} kimg, ${formatDuration(r.wallSeconds)} over all sessions)` +
        (r.status === 'finished' ? '' : '; continue with --resume'),
    );
    log(`wrote ${r.files.join(', ')}`);
    return r.status === 'interrupted' ? 130 : 0;
  } finally {
    interrupt.dispose();
  }
}
