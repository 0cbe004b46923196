/**
 * `synface train-student`: distils the measured factors of `synface analyze` (dlib descriptor,
 * expression code, pose, lighting code) into the factor student, a small 64x64 network the
 * generator's training can run on its fakes every step. The options become a trainStudent()
 * call (src/train/student-run.ts).
 *
 * Files in --out (runs/ is not in git):
 *   checkpoint.safetensors (+ .prev)   the full state (student, Adam, generators, sampler), for --resume
 *   log.jsonl                  {"type":"train", step, loss, descriptor, expression, pose, lighting, ...}
 *                              and {"type":"val", step, held_yaw_mae, held_pose_r, ...}
 *   factor-student.safetensors the student (loadFactorStudent), with the report in its metadata
 *   report.json                held-out metrics per factor, verification of predicted descriptors
 */
import { trainStudent } from '../src/train/student-run.js';
import { STUDENT_BACKBONES } from '../src/models/factor-student.js';
import { parseArgs, usage, type OptionSpec } from './args.js';
import { interruptOnSigint } from './interrupt.js';
import { formatDuration, trainingConsole } from './progress.js';
import { LFW_FACTORS } from './train-generator.js';

const SPEC: Record<string, OptionSpec> = {
  data: { type: 'string', help: 'LFW-layout folder', default: '../shared/data/lfw-devtrain' },
  people: { type: 'string', help: 'people file inside --data', default: 'peopleDevTrain.txt' },
  split: {
    type: 'string',
    help: "folder of val-people.txt and val-pairs.txt: the recognizer's validation people, held out",
    default: 'weights/split',
  },
  factors: {
    type: 'string',
    help: "the data's analyze file (synface analyze)",
    default: LFW_FACTORS,
  },
  'allow-partial': {
    type: 'flag',
    help: 'train on the rows of a partial analyze file (expression PCA of those rows only)',
  },
  out: { type: 'string', help: 'run folder', default: 'runs/student' },
  backbone: { type: 'string', help: Object.keys(STUDENT_BACKBONES).join(' | '), default: 'base' },
  steps: { type: 'number', help: 'optimizer steps', default: 3000, int: true, min: 1 },
  batch: {
    type: 'number',
    help: 'images per step',
    default: 32,
    int: true,
    min: 2,
    minReason: 'batch norm normalizes over the batch',
  },
  lr: { type: 'number', help: 'peak learning rate (Adam)', min: 0 },
  seed: { type: 'number', help: 'seed of initialization, batches, shifts', default: 0, int: true, min: 0 },
  'log-every': {
    type: 'number',
    help: 'read the losses back and log every N steps',
    default: 10,
    int: true,
    min: 1,
  },
  'ckpt-every': { type: 'number', help: 'checkpoint every N steps', default: 200, int: true, min: 1 },
  'val-every': {
    type: 'number',
    help: 'held-out metrics every N steps (0: only at the end)',
    default: 500,
    int: true,
    min: 0,
  },
  'stop-after': {
    type: 'number',
    help: 'stop (with a checkpoint) after N steps of this session',
    int: true,
    min: 1,
  },
  'max-minutes': { type: 'number', help: 'stop (with a checkpoint) after N minutes of this session', min: 0 },
  resume: { type: 'flag', help: 'continue from <out>/checkpoint.safetensors' },
  overwrite: { type: 'flag', help: 'start over in an --out that holds a checkpoint' },
  help: { type: 'flag', help: 'this text' },
};

export async function trainStudentCommand(args: string[]): Promise<number> {
  const o = parseArgs('train-student', args, SPEC);
  if (o.help) {
    console.log(
      usage('train-student', 'Distils the measured face factors into the 64x64 factor student.', SPEC),
    );
    return 0;
  }
  const backbone = String(o.backbone);
  if (!(backbone in STUDENT_BACKBONES))
    throw new Error(
      `synface train-student: unknown backbone '${backbone}' (${Object.keys(STUDENT_BACKBONES).join(', ')})`,
    );
  if (o.resume && o.overwrite)
    throw new Error('synface train-student: --resume and --overwrite contradict each other');
  const interrupt = interruptOnSigint();
  const term = trainingConsole();
  const log = term.log;
  try {
    const r = await trainStudent({
      data: String(o.data),
      people: String(o.people),
      split: String(o.split),
      factors: String(o.factors),
      allowPartial: !!o['allow-partial'],
      out: String(o.out),
      backbone: backbone as keyof typeof STUDENT_BACKBONES,
      steps: Number(o.steps),
      batch: Number(o.batch),
      lr: o.lr === undefined ? undefined : Number(o.lr),
      seed: Number(o.seed),
      logEvery: Number(o['log-every']),
      ckptEvery: Number(o['ckpt-every']),
      valEvery: Number(o['val-every']),
      stopAfter: o['stop-after'] === undefined ? undefined : Number(o['stop-after']),
      maxSeconds: o['max-minutes'] === undefined ? undefined : 60 * Number(o['max-minutes']),
      resume: !!o.resume,
      overwrite: !!o.overwrite,
      command: ['synface', 'train-student', ...args].join(' '),
      signal: interrupt.signal,
      log,
      onProgress: term.onProgress,
    });
    term.end();
    log(
      `${r.status} at step ${r.step} of ${r.steps} (${formatDuration(r.wallSeconds)} over all sessions)` +
        (r.status === 'finished' ? '' : '; continue with --resume'),
    );
    const m = r.report?.held_out;
    if (m) {
      log(`held-out (${m.images} images of validation people):`);
      for (const c of [...m.pose, ...m.expression, ...m.lighting])
        log(
          `  ${c.name.padEnd(6)} r ${c.pearson.toFixed(3)}  MAE ${c.mae.toPrecision(3)} (training mean: ${c.maeOfMean.toPrecision(3)})`,
        );
      log(
        `  descriptor: distance to dlib's ${m.descriptor.meanDistance.toFixed(3)} (training mean: ${m.descriptor.meanDistanceOfMean.toFixed(3)}), mean r ${m.descriptor.meanPearson.toFixed(3)}`,
      );
    }
    log(`wrote ${r.files.join(', ')}`);
    return r.status === 'interrupted' ? 130 : 0;
  } finally {
    interrupt.dispose();
  }
}
