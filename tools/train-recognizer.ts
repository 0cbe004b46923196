/**
 * `synface train-recognizer`: ArcFace training of the recognizer on LFW-layout data, with a
 * validation split by people, periodic validation on its pairs, atomic checkpoints (every N
 * steps and on Ctrl-C), `--resume`, a JSON-lines log and curve images.
 *
 * Files in --out:
 *   split/            train-people.txt, val-people.txt, val-pairs.txt (LFW formats; see split)
 *   checkpoint.safetensors (+ .prev)   the full training state, for --resume
 *   log.jsonl         one JSON object per line: {"type":"train",...} and {"type":"val",...}
 *   curves.png        loss and validation accuracy against the step
 *   recognizer.safetensors             the final backbone (synface eval reads it)
 *   report.json       the run's summary
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getDevice } from '../src/gpu/runtime.js';
import { writeFileAtomic, readCheckpoint } from '../src/io/node-files.js';
import { buildCheckpoint } from '../src/io/checkpoint.js';
import { evaluatePairs } from '../src/eval/embed.js';
import { serializeRecognizer } from '../src/models/recognizer-weights.js';
import { RecognizerTrainer, type RecognizerTrainConfig } from '../src/train/recognizer-trainer.js';
import { RECOGNIZER_PRESETS } from '../src/train/presets.js';
import { parseArgs, usage, type OptionSpec } from './args.js';
import { formatDuration, ProgressBar } from './progress.js';
import { prepareRecognizerData } from '../src/data/recognizer-data.js';
import { drawCurves } from '../src/plot/figure-files.js';

const SPEC: Record<string, OptionSpec> = {
  data: {
    type: 'string',
    help: 'LFW-layout folder (images/<Name>/<Name>_NNNN.jpg and a people file)',
    default: '../shared/data/lfw-devtrain',
  },
  people: { type: 'string', help: 'people file inside --data', default: 'peopleDevTrain.txt' },
  preset: { type: 'string', help: 'small | paper', default: 'small' },
  out: { type: 'string', help: 'output folder', default: 'runs/recognizer' },
  layout: {
    type: 'string',
    help: 'lfw (a people file) | folders (a folder per identity, as CASIA-WebFace)',
    default: 'lfw',
  },
  split: {
    type: 'string',
    help: 'folder with train-people.txt and val-pairs.txt (default: made in <out>/split)',
  },
  'val-data': {
    type: 'string',
    help: "with --layout folders: LFW-layout folder of the validation pairs' images",
  },
  'val-pairs': { type: 'string', help: 'with --layout folders: validation pairs file (LFW format)' },
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
  resume: { type: 'flag', help: 'continue from <out>/checkpoint.safetensors' },
  overwrite: { type: 'flag', help: 'start over in an --out that holds a checkpoint (it is replaced)' },
  help: { type: 'flag', help: 'this text' },
};

interface LogRecord {
  type: 'train' | 'val';
  step: number;
  [k: string]: unknown;
}

export async function trainRecognizerCommand(args: string[]): Promise<number> {
  const o = parseArgs('train-recognizer', args, SPEC);
  if (o.help) {
    console.log(
      usage('train-recognizer', 'ArcFace training of the face recognizer on LFW-layout data.', SPEC),
    );
    return 0;
  }
  const presetName = String(o.preset);
  if (!(presetName in RECOGNIZER_PRESETS))
    throw new Error(`synface train-recognizer: unknown preset '${presetName}' (small, paper)`);
  const preset = RECOGNIZER_PRESETS[presetName as keyof typeof RECOGNIZER_PRESETS];
  const out = String(o.out);
  mkdirSync(out, { recursive: true });
  const log = (s: string) => console.log(s);
  const t0 = performance.now();

  // ---- data: training rows of an image cache, validation pairs (tools/recognizer-data.ts)
  const minImages = Number(o['min-images'] ?? preset.minImages);
  const { cache, rows, val, describe } = prepareRecognizerData(
    {
      layout: o.layout as 'lfw' | 'folders',
      data: String(o.data),
      people: String(o.people),
      split: o.split === undefined ? undefined : String(o.split),
      valFraction: Number(o['val-fraction']),
      valData: o['val-data'] === undefined ? undefined : String(o['val-data']),
      valPairs: o['val-pairs'] === undefined ? undefined : String(o['val-pairs']),
      minImages,
      out,
      log,
    },
    preset.preprocess,
  );
  if (rows.length === 0)
    throw new Error(`synface train-recognizer: no training images (people with >= ${minImages} images)`);

  // ---- the run's configuration
  const batch = Number(o.batch ?? preset.train.batch);
  const epochs = Number(o.epochs ?? preset.epochs);
  const steps = o.steps !== undefined ? Number(o.steps) : Math.ceil(epochs * Math.floor(rows.length / batch));
  if (!(Number.isInteger(steps) && steps >= 1))
    throw new Error(
      `synface train-recognizer: ${steps} steps (--steps or --epochs) is not a positive integer`,
    );
  const batchesPerEpoch = Math.floor(rows.length / batch);
  const marginWarmupSteps = Math.round(
    Number(o['margin-warmup'] ?? preset.marginWarmupEpochs) * batchesPerEpoch,
  );
  const config: RecognizerTrainConfig = {
    ...preset.train,
    batch,
    lr: Number(o.lr ?? preset.train.lr),
    steps,
    seed: Number(o.seed),
    marginWarmupSteps,
  };
  const trainer = new RecognizerTrainer(config, { cache, rows: Int32Array.from(rows) });
  const ckptPath = join(out, 'checkpoint.safetensors');
  const logPath = join(out, 'log.jsonl');
  const records: LogRecord[] = [];
  let priorSeconds = 0;
  if (o.resume) {
    if (!existsSync(ckptPath))
      throw new Error(`synface train-recognizer: --resume, but ${ckptPath} does not exist`);
    const ckpt = readCheckpoint(ckptPath);
    trainer.restore(ckpt, ckptPath);
    priorSeconds = Number((ckpt.config as { elapsed_seconds?: number }).elapsed_seconds ?? 0);
    // keep the log consistent with the checkpoint: drop records of steps after it
    if (existsSync(logPath)) {
      for (const line of readFileSync(logPath, 'utf8').split('\n'))
        if (line.trim()) records.push(JSON.parse(line));
      const kept = records.filter((r) => r.step <= trainer.step);
      records.length = 0;
      records.push(...kept);
      writeFileAtomic(logPath, new TextEncoder().encode(kept.map((r) => JSON.stringify(r) + '\n').join('')));
    }
    log(`resumed from ${ckptPath} at step ${trainer.step} (epoch ${trainer.sampler.epochsDone.toFixed(2)})`);
  } else {
    if (existsSync(ckptPath) && !o.overwrite) {
      throw new Error(
        `synface train-recognizer: ${out} holds a checkpoint (step ${readCheckpoint(ckptPath).step}); continue it with --resume, or start over with --overwrite`,
      );
    }
    writeFileSync(logPath, '');
  }
  const record = (r: LogRecord) => {
    records.push(r);
    appendFileSync(logPath, JSON.stringify(r) + '\n');
  };
  log(
    `train: ${presetName} preset, ${rows.length} images of ${trainer.classes} people, batch ${batch}, ${steps} steps (${((steps * batch) / rows.length).toFixed(1)} epochs), ` +
      `${trainer.model.backbone.parameterCount().toLocaleString('en')} backbone parameters; validation: ${val ? `${val.pairs.length} pairs of ${val.people} held-out people` : 'none'}`,
  );

  const command = ['synface', 'train-recognizer', ...args].join(' ');
  const extra = { preset: presetName, ...describe, preprocess: preset.preprocess };
  // wall time over all sessions of this run (a resumed run adds the earlier sessions')
  const elapsed = () => priorSeconds + (performance.now() - t0) / 1000;
  const saveCheckpoint = async () =>
    writeFileAtomic(
      ckptPath,
      await buildCheckpoint(trainer.checkpointParts({ ...extra, command, elapsed_seconds: elapsed() })),
      { keepPrevious: true },
    );
  const validate = async () => {
    if (!val) return null;
    trainer.model.eval();
    const { report } = await evaluatePairs(trainer.model.backbone, val.cache, val.pairs, val.rowOf, {
      input: config.backbone.input,
    });
    trainer.model.train();
    record({
      type: 'val',
      step: trainer.step,
      val_accuracy: report.accuracy,
      val_std: report.std,
      auc: report.auc,
      tar_at_far_1e_2: report.tarAtFar1e2,
    });
    return report;
  };

  // ---- the loop; Ctrl-C finishes the step, saves a checkpoint and stops
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  const bar = new ProgressBar(steps);
  const sessionStart = trainer.step;
  const stopAt =
    o['stop-after'] !== undefined ? Math.min(steps, sessionStart + Number(o['stop-after'])) : steps;
  let tLog = performance.now(),
    stepLog = trainer.step,
    lastLoss = NaN,
    rate = 0;
  try {
    while (trainer.step < stopAt && !interrupted) {
      const loss = trainer.trainStep();
      const step = trainer.step;
      if (step % Number(o['log-every']) === 0 || step === stopAt) {
        lastLoss = await loss.item();
        if (!Number.isFinite(lastLoss))
          throw new Error(`synface train-recognizer: the loss is ${lastLoss} at step ${step}; lower --lr`);
        const now = performance.now();
        rate = ((step - stepLog) * batch) / ((now - tLog) / 1000); // since the last log, validation and checkpoints excluded
        tLog = now;
        stepLog = step;
        record({
          type: 'train',
          step,
          epoch: trainer.sampler.epochsDone,
          loss: lastLoss,
          lr: trainer.optimizer.lr,
          images_per_s: rate,
        });
      }
      loss.dispose();
      bar.update(
        step,
        { epoch: trainer.sampler.epochsDone.toFixed(2), loss: lastLoss.toFixed(3), 'img/s': rate.toFixed(1) },
        ((steps - step) * batch) / Math.max(rate, 1e-9),
      );
      const valEvery = Number(o['val-every']);
      if (val && valEvery > 0 && step % valEvery === 0 && step < steps) {
        const r = (await validate())!;
        bar.break();
        log(
          `step ${step}: validation accuracy ${(100 * r.accuracy).toFixed(2)}% +- ${(100 * r.std).toFixed(2)}, AUC ${r.auc.toFixed(4)}`,
        );
        tLog = performance.now(); // images/s counts training only
        stepLog = step;
      }
      if (step % Number(o['ckpt-every']) === 0) {
        await saveCheckpoint();
        tLog = performance.now();
        stepLog = step;
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  bar.break();
  await saveCheckpoint();
  if (trainer.step < steps) {
    drawCurves(records, join(out, 'curves.png'));
    log(
      `${interrupted ? 'interrupted' : 'stopped'} at step ${trainer.step} of ${steps}; checkpoint ${ckptPath} (continue with --resume)`,
    );
    trainer.dispose();
    return interrupted ? 130 : 0;
  }

  // ---- the end: final validation, the backbone file, the report
  const report = await validate();
  drawCurves(records, join(out, 'curves.png'));
  const wallSeconds = elapsed();
  const summary = {
    preset: presetName,
    steps,
    batch,
    epochs: (steps * batch) / rows.length,
    images: rows.length,
    people: trainer.classes,
    val_accuracy: report?.accuracy ?? null,
    val_std: report?.std ?? null,
    auc: report?.auc ?? null,
    tar_at_far_1e_3: report?.tarAtFar1e3 ?? null,
    tar_at_far_1e_2: report?.tarAtFar1e2 ?? null,
    val_pairs: val?.pairs.length ?? 0,
    seed: config.seed,
    wall_seconds: wallSeconds,
    command,
    adapter: getDevice().adapter,
  };
  writeFileAtomic(
    join(out, 'recognizer.safetensors'),
    await serializeRecognizer(trainer.model.backbone, preset.preprocess, { ...extra, ...summary }),
  );
  writeFileAtomic(
    join(out, 'report.json'),
    new TextEncoder().encode(JSON.stringify(summary, null, 2) + '\n'),
  );
  log(
    `done: ${steps} steps in ${formatDuration(wallSeconds)}` +
      (report && val
        ? `; validation accuracy ${(100 * report.accuracy).toFixed(2)}% +- ${(100 * report.std).toFixed(2)} on ${val.pairs.length} pairs, AUC ${report.auc.toFixed(4)}, TAR@FAR=1e-2 ${(100 * report.tarAtFar1e2).toFixed(1)}%`
        : ' (no validation)'),
  );
  log(
    `wrote ${join(out, 'recognizer.safetensors')}, ${join(out, 'report.json')}, ${join(out, 'curves.png')}, ${logPath}`,
  );
  trainer.dispose();
  return 0;
}
