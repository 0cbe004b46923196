/**
 * A factor student training run, as a library call (Node): `synface train-student` parses its
 * options into these.
 *
 *   data      the generator's training images and factors exactly (generatorData: the data
 *             minus the recognizer's validation people, minus images analyze flagged), so the
 *             student's norm is the generator's when both use the same factors file
 *   held out  the validation people's unflagged images in the factors file (never trained on)
 *   loop      runTraining (runner.ts) around a StudentTrainer; every valEvery steps the
 *             held-out group errors
 *   end       factor-student.safetensors (the student, loadFactorStudent reads it) and
 *             report.json: held-out metrics per factor (eval/factor-student-eval.ts) and the
 *             verification of predicted descriptors on the validation pairs
 *
 * A partial factors file (analyze still running) is refused unless `allowPartial`: then the
 * rows measured so far are used and the expression PCA is fitted on them alone, so the
 * student's expression outputs are in that PCA's basis, not the complete file's (the report
 * says so; retrain on the complete file for the generator).
 */
import { existsSync, readFileSync } from 'node:fs';
import { cachedLfw } from '../data/lfw-cache.js';
import { readValPairs, readValPeople } from '../data/split-files.js';
import { fitExpression } from '../face/analyze-dataset.js';
import { decodeFactors, rowSize, type Column, type FactorsTable } from '../face/factors-file.js';
import { FACE_PREPROCESS, QUALITY } from '../face/measure-faces.js';
import {
  compareFactors,
  descriptorVerification,
  predictFactors,
  type StudentMetrics,
} from '../eval/factor-student-eval.js';
import { fitFactorNorm } from '../models/generator/factors.js';
import { STUDENT_BACKBONES, type FactorStudentConfig } from '../models/factor-student.js';
import { serializeFactorStudent } from '../models/factor-student-weights.js';
import { generatorData, trainingDigest } from './generator-run.js';
import { RunFolder } from './run-folder.js';
import { runTraining, type Progress, type RunResult } from './runner.js';
import { StudentTrainer, STUDENT_TRAIN_DEFAULTS, type StudentTrainConfig } from './student-trainer.js';

export interface TrainStudentOptions {
  data: string;
  people: string;
  /** Folder of val-people.txt and val-pairs.txt. */
  split: string;
  factors: string;
  out: string;
  backbone: keyof typeof STUDENT_BACKBONES;
  steps: number;
  batch: number;
  lr?: number;
  seed: number;
  logEvery: number;
  ckptEvery: number;
  valEvery: number;
  stopAfter?: number;
  maxSeconds?: number;
  resume?: boolean;
  overwrite?: boolean;
  /** Train on a partial factors file (see the file header). */
  allowPartial?: boolean;
  cacheDir?: string;
  command?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
  onProgress?: (p: Progress) => void;
}

export interface StudentReport {
  steps: number;
  batch: number;
  train_images: number;
  wall_seconds: number;
  factors: string;
  factors_rows: string;
  held_out: StudentMetrics;
  verification: {
    pairs: number;
    predicted: { accuracy: number; std: number; auc: number };
    measured: { accuracy: number; std: number; auc: number };
  } | null;
  command: string;
}

export interface TrainStudentResult extends RunResult {
  steps: number;
  report: StudentReport | null;
  files: string[];
}

/** The factors file; a partial one (allowPartial) cut to its measured rows with the expression PCA fitted on them. */
export function readFactorsTable(
  path: string,
  allowPartial: boolean,
  log: (s: string) => void,
): { table: FactorsTable; fileTotal: number } {
  if (!existsSync(path))
    throw new Error(`train-student: ${path} does not exist (make it with synface analyze)`);
  const table = decodeFactors(readFileSync(path), path);
  if (table.complete) return { table, fileTotal: table.total };
  if (!allowPartial)
    throw new Error(
      `train-student: ${path} is partial (${table.done} of ${table.total} images; is synface analyze still running?); wait for it, or pass --allow-partial`,
    );
  const n = table.done;
  const columns = Object.fromEntries(
    Object.entries(table.columns).map(([k, a]) => [k, a.subarray(0, n * rowSize(k as Column))]),
  ) as FactorsTable['columns'];
  const cut: FactorsTable = { ...table, total: n, images: table.images.slice(0, n), columns };
  cut.expression = fitExpression(cut);
  cut.complete = true;
  log(
    `train-student: ${path} is partial: using its ${n} of ${table.total} measured images, the expression PCA fitted on them alone (not the complete file's basis)`,
  );
  return { table: cut, fileTotal: table.total };
}

export async function trainStudent(o: TrainStudentOptions): Promise<TrainStudentResult> {
  const log = o.log ?? (() => {});
  const backbone = STUDENT_BACKBONES[o.backbone];
  if (!backbone)
    throw new Error(
      `train-student: unknown backbone '${o.backbone}' (${Object.keys(STUDENT_BACKBONES).join(', ')})`,
    );
  const valPeople = readValPeople(o.split, 'train-student');
  const valPairs = readValPairs(o.split, 'train-student').pairs;

  const folder = new RunFolder(o.out, log, o.command);
  try {
    const { table, fileTotal } = readFactorsTable(o.factors, !!o.allowPartial, log);
    const cached = cachedLfw(o.data, o.people, FACE_PREPROCESS, { log, cacheDir: o.cacheDir });
    const train = generatorData(table, cached, valPeople, o.factors);
    // the held-out images: the same selection with every other person left out
    const others = new Set(table.images.map(([name]) => name).filter((name) => !valPeople.has(name)));
    const held = generatorData(table, cached, others, o.factors);
    log(
      `train-student: ${train.rows.length} training images (${train.left.held_out} of validation people and ${train.left.flagged} flagged left out), ${held.rows.length} held-out images of validation people`,
    );
    if (held.rows.length === 0)
      throw new Error(`train-student: no held-out images of the validation people in ${o.factors}`);

    const model: FactorStudentConfig = {
      backbone,
      descriptorDim: 128,
      expDim: train.factors.expression.length / train.factors.count,
      poseDim: 3,
      lightDim: 6,
      norm: fitFactorNorm(train.factors),
    };
    const config: StudentTrainConfig = {
      model,
      batch: o.batch,
      steps: o.steps,
      ...STUDENT_TRAIN_DEFAULTS,
      lr: o.lr ?? STUDENT_TRAIN_DEFAULTS.lr,
      seed: o.seed,
    };
    const trainer = new StudentTrainer(config, train);
    try {
      log(
        `train-student: backbone ${o.backbone}, ${trainer.model.parameterCount().toLocaleString('en')} parameters, output ${trainer.layout.dim} (128 descriptor, ${model.expDim} expression, 3 pose, 6 lighting), batch ${o.batch}, ${o.steps} steps (${((o.steps * o.batch) / train.rows.length).toFixed(1)} epochs)`,
      );
      const command = o.command ?? 'trainStudent()';
      const meta = { backbone: o.backbone, data: o.data, people: o.people, factors: o.factors, command };
      const fingerprint = {
        train_images: trainingDigest(train, { shape: false }),
        factors: table.fingerprint,
        factors_rows: String(table.done),
      };

      let last: StudentMetrics | null = null;
      const validate = async () => {
        const pred = await predictFactors(trainer.model, held.cache, held.rows);
        const m = compareFactors(pred, held.factors, {
          descriptor: model.norm.descriptor.mean,
          expression: model.norm.expression.mean,
          pose: model.norm.pose.mean,
          lighting: model.norm.lighting.mean,
        });
        last = m;
        const r = (xs: { pearson: number }[]) => xs.reduce((s, c) => s + c.pearson, 0) / xs.length;
        const fields = {
          held_yaw_mae: m.pose[0].mae,
          held_pose_r: r(m.pose),
          held_expression_r: r(m.expression),
          held_lighting_r: r(m.lighting),
          held_descriptor_distance: m.descriptor.meanDistance,
        };
        return {
          fields,
          summary:
            `held-out: yaw MAE ${m.pose[0].mae.toFixed(2)} deg, mean r pose ${fields.held_pose_r.toFixed(3)} expression ${fields.held_expression_r.toFixed(3)} lighting ${fields.held_lighting_r.toFixed(3)}, ` +
            `descriptor distance ${m.descriptor.meanDistance.toFixed(3)} (training mean: ${m.descriptor.meanDistanceOfMean.toFixed(3)})`,
        };
      };

      const run = await runTraining(trainer, {
        folder,
        steps: o.steps,
        imagesPerStep: o.batch,
        logEvery: o.logEvery,
        valEvery: o.valEvery,
        ckptEvery: o.ckptEvery,
        stopAfter: o.stopAfter,
        maxSeconds: o.maxSeconds,
        resume: o.resume,
        overwrite: o.overwrite,
        fingerprint,
        meta,
        validate,
        signal: o.signal,
        log,
        onProgress: o.onProgress,
      });
      if (run.status !== 'finished') await validate();
      const metrics = last as StudentMetrics | null;

      // ---- verification of predicted descriptors on the validation pairs, against the measured ones
      const rowOf = new Map(table.images.map(([name, index], i) => [`${name}/${index}`, i]));
      const usable = (ref: { name: string; index: number }) => {
        const i = rowOf.get(`${ref.name}/${ref.index}`);
        return i !== undefined && !(table.columns.quality[i] & QUALITY.notFinite) ? i : undefined;
      };
      const pairs = valPairs.filter((p) => usable(p.a) !== undefined && usable(p.b) !== undefined);
      let verification: StudentReport['verification'] = null;
      const sameCount = pairs.filter((p) => p.same).length;
      if (sameCount >= 10 && pairs.length - sameCount >= 10) {
        const tableRows = [...new Set(pairs.flatMap((p) => [usable(p.a)!, usable(p.b)!]))];
        const index = new Map(tableRows.map((r, k) => [r, k]));
        const pred = await predictFactors(
          trainer.model,
          cached.cache,
          tableRows.map((r) =>
            cached.rowOf({ name: table.images[r][0], index: table.images[r][1] as number }),
          ),
        );
        const measured = new Float32Array(tableRows.length * 128);
        tableRows.forEach((r, k) =>
          measured.set(table.columns.descriptor.subarray(r * 128, (r + 1) * 128), k * 128),
        );
        const ends = pairs.map((p) => ({
          a: index.get(usable(p.a)!)!,
          b: index.get(usable(p.b)!)!,
          same: p.same,
        }));
        verification = {
          pairs: pairs.length,
          predicted: descriptorVerification(pred.descriptor, 128, ends),
          measured: descriptorVerification(measured, 128, ends),
        };
        log(
          `train-student: verification on ${pairs.length} validation pairs: predicted descriptors ${(100 * verification.predicted.accuracy).toFixed(1)}%, measured (dlib) ${(100 * verification.measured.accuracy).toFixed(1)}%`,
        );
      } else
        log(
          `train-student: only ${sameCount} same and ${pairs.length - sameCount} different validation pairs have measured descriptors (10 of each needed): no verification`,
        );

      const report: StudentReport = {
        steps: trainer.step,
        batch: o.batch,
        train_images: train.rows.length,
        wall_seconds: run.wallSeconds,
        factors: o.factors,
        factors_rows: `${table.done} of ${fileTotal}${table.done < fileTotal ? ' (partial file; expression PCA of these rows)' : ''}`,
        held_out: metrics!,
        verification,
        command,
      };
      folder.writeFile('report.json', JSON.stringify(report, null, 2) + '\n');
      folder.writeFile(
        'factor-student.safetensors',
        await serializeFactorStudent(trainer.model, {
          ...meta,
          step: trainer.step,
          wall_seconds: run.wallSeconds,
          report,
        }),
      );
      const files = ['factor-student.safetensors', 'report.json', 'log.jsonl', 'checkpoint.safetensors'].map(
        (f) => folder.path(f),
      );
      return { ...run, steps: o.steps, report, files };
    } finally {
      trainer.dispose();
    }
  } finally {
    folder.close();
  }
}
