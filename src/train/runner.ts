/**
 * The training loop every trainer runs in (the recognizer's today, the generator's next): the
 * cadence around a trainer's step, and everything that makes a long run survive its sessions.
 *
 *   start      new run: refuse a folder that holds a checkpoint (unless overwrite)
 *              resume: restore the checkpoint, check the data is the same (fingerprint), keep
 *              the log up to the checkpoint's step, add the earlier sessions' wall time
 *   each step  losses <- trainer.trainStep()   (one loss, or several by name: a GAN's G and D)
 *              every logEvery steps: read the losses back (the only sync), check they are
 *                                    finite, log {type:'train', step, loss, images_per_s, ...}
 *              every valEvery steps: validate, log {type:'val', step, ...}
 *              every ckptEvery steps: checkpoint (refused if any value is not finite)
 *   stop       at the last step, after stopAfter steps or maxSeconds of this session, or on
 *              abort (Ctrl-C):
 *              a checkpoint; at the last step also the final validation
 *
 * A diverged run (a non-finite loss or parameter) stops with a TrainingDiverged error and
 * writes nothing, so the last good checkpoint stays. Files are the RunFolder's (Node); the loop
 * itself only needs its methods.
 */
import { buildCheckpoint, type Checkpoint, type CheckpointParts } from '../io/checkpoint.js';
import { NonFiniteError } from '../tensor/tensor-data.js';
import { Tensor } from '../tensor/tensor.js';
import type { RunFolder } from './run-folder.js';

/** What the runner needs of a trainer. */
export interface Trainable {
  /** Optimizer steps done. */
  readonly step: number;
  /**
   * One optimizer step; returns the batch's loss, or its losses by name (e.g. { loss_g, loss_d }):
   * scalar tensors the runner reads on logging steps and disposes.
   */
  trainStep(): Tensor | Record<string, Tensor>;
  /** What a checkpoint holds; `extra` goes into its config. */
  checkpointParts(extra: Record<string, unknown>): CheckpointParts;
  /**
   * Restores a checkpoint made from checkpointParts; throws if the run's settings differ in
   * what may not change. Returns the settings it accepted as changed (a curriculum step), if any:
   * the runner logs them and keeps a 'settings' record.
   */
  restore(ckpt: Checkpoint, source: string): void | Record<string, { was: unknown; now: unknown }>;
  /** Fields of each train record besides the step and the loss, e.g. { epoch, lr }. */
  status(): Record<string, number>;
}

export interface Validation {
  /** The fields of the 'val' record, e.g. { val_accuracy, auc }. */
  fields: Record<string, number>;
  /** One line for the console, e.g. "validation accuracy 81.20% +- 2.10". */
  summary: string;
}

export interface RunOptions {
  folder: RunFolder;
  /** Total optimizer steps of the run. */
  steps: number;
  /** Images (or samples) per step, for images/s and the ETA. */
  imagesPerStep: number;
  /** Read the loss back and log every N steps. */
  logEvery: number;
  /** Validate every N steps (0: only at the end). */
  valEvery: number;
  /** Checkpoint every N steps. */
  ckptEvery: number;
  /** Stop (with a checkpoint) after this many steps of this session. */
  stopAfter?: number;
  /** Stop (with a checkpoint) at the first step that ends after this many seconds of this session. */
  maxSeconds?: number;
  /** Continue from the folder's checkpoint. */
  resume?: boolean;
  /** Start over in a folder that holds a checkpoint. */
  overwrite?: boolean;
  /** What identifies the data (name -> digest); stored in the checkpoint and compared on resume. */
  fingerprint?: Record<string, string>;
  /** More of the run's description, stored in the checkpoint's config. */
  meta?: Record<string, unknown>;
  validate?: () => Promise<Validation | null>;
  /** Aborting stops the run after the current step, with a checkpoint (Ctrl-C). */
  signal?: AbortSignal;
  log?: (line: string) => void;
  onProgress?: (p: Progress) => void;
}

export interface Progress {
  step: number;
  steps: number;
  /** The last losses read back, by name ('loss' for a single one); empty before the first. */
  losses: Record<string, number>;
  /** Training throughput since the last log (validation and checkpoints excluded); undefined before the first. */
  imagesPerSecond?: number;
  etaSeconds?: number;
  status: Record<string, number>;
}

export interface RunResult {
  /** finished: all steps done (and validated); stopped: stopAfter or maxSeconds reached; interrupted: aborted. */
  status: 'finished' | 'stopped' | 'interrupted';
  step: number;
  /** Wall time of the run over all its sessions. */
  wallSeconds: number;
  /** The final validation (finished runs with a validate function). */
  validation: Validation | null;
}

/** A run that stopped because its loss or parameters are no longer finite. */
export class TrainingDiverged extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingDiverged';
  }
}

interface SavedRun {
  elapsed_seconds?: number;
  data_fingerprint?: Record<string, string>;
}

/** Names of the fingerprint entries that differ, with both values: "train_images (a1b2... there, c3d4... here)". */
export function fingerprintDifferences(
  there: Record<string, string>,
  here: Record<string, string>,
): string[] {
  const short = (v: string | undefined) =>
    v === undefined ? 'none' : v.length > 12 ? `${v.slice(0, 12)}...` : v;
  return [...new Set([...Object.keys(there), ...Object.keys(here)])]
    .filter((k) => there[k] !== here[k])
    .map((k) => `${k} (${short(there[k])} there, ${short(here[k])} here)`);
}

/** Opens the run: a fresh log, or the checkpoint restored; returns the earlier sessions' wall time. */
function openRun(trainer: Trainable, o: RunOptions, log: (s: string) => void): number {
  const { folder } = o;
  if (o.resume && o.overwrite)
    throw new Error('resume and overwrite contradict each other: continue the run, or start it over');
  if (!o.resume) {
    if (folder.hasCheckpoint() && !o.overwrite)
      throw new Error(
        `${folder.dir} holds a checkpoint (step ${folder.readCheckpoint().step}); continue it with --resume, or start over with --overwrite`,
      );
    folder.startLog();
    return 0;
  }
  if (!folder.hasCheckpoint()) throw new Error(`--resume, but ${folder.checkpointPath} does not exist`);
  const ckpt = folder.readCheckpoint();
  const saved = (ckpt.config ?? {}) as SavedRun;
  if (o.fingerprint && saved.data_fingerprint) {
    const diff = fingerprintDifferences(saved.data_fingerprint, o.fingerprint);
    if (diff.length)
      throw new Error(
        `${folder.checkpointPath}: the checkpoint was trained on other data: ${diff.join(', ')}; resume with the same data and split, or start over with --overwrite`,
      );
  } else if (o.fingerprint)
    log(`${folder.checkpointPath}: no data fingerprint in this older checkpoint; not checked`);
  const changed = trainer.restore(ckpt, folder.checkpointPath) ?? {};
  folder.resumeLog(trainer.step);
  const epoch = trainer.status().epoch;
  log(
    `resumed from ${folder.checkpointPath} at step ${trainer.step}${epoch === undefined ? '' : ` (epoch ${epoch.toFixed(2)})`}`,
  );
  if (Object.keys(changed).length) {
    const list = Object.entries(changed).map(
      ([k, v]) => `${k} ${JSON.stringify(v.was)} -> ${JSON.stringify(v.now)}`,
    );
    log(`settings changed from the checkpoint's: ${list.join(', ')}`);
    folder.record({ type: 'settings', step: trainer.step, changed });
  }
  return Number(saved.elapsed_seconds ?? 0);
}

export async function runTraining(trainer: Trainable, o: RunOptions): Promise<RunResult> {
  const log = o.log ?? (() => {});
  const { folder, steps } = o;
  const t0 = performance.now();
  const priorSeconds = openRun(trainer, o, log);
  // wall time over all sessions of this run (a resumed run adds the earlier sessions')
  const elapsed = () => priorSeconds + (performance.now() - t0) / 1000;
  let savedStep = o.resume ? trainer.step : -1;

  const saveCheckpoint = async () => {
    if (savedStep === trainer.step) return;
    const parts = trainer.checkpointParts({
      ...o.meta,
      data_fingerprint: o.fingerprint,
      elapsed_seconds: elapsed(),
    });
    let bytes: Uint8Array;
    try {
      bytes = await buildCheckpoint(parts);
    } catch (e) {
      if (e instanceof NonFiniteError) throw diverged(e.message);
      throw e;
    }
    await folder.saveCheckpoint(bytes);
    savedStep = trainer.step;
  };
  const diverged = (what: string) =>
    new TrainingDiverged(
      `training diverged at step ${trainer.step}: ${what}; ` +
        (savedStep >= 0
          ? `the last good checkpoint (step ${savedStep}) is kept in ${folder.checkpointPath}`
          : 'no checkpoint was written') +
        ' (a learning rate too high?)',
    );
  const validate = async (): Promise<Validation | null> => {
    const v = (await o.validate?.()) ?? null;
    if (v) folder.record({ type: 'val', step: trainer.step, ...v.fields });
    return v;
  };

  const stopAt = o.stopAfter !== undefined ? Math.min(steps, trainer.step + o.stopAfter) : steps;
  let tLog = performance.now(),
    stepLog = trainer.step,
    losses: Record<string, number> = {},
    rate: number | undefined;
  const restartClock = () => {
    tLog = performance.now(); // images/s counts training only
    stepLog = trainer.step;
  };
  const outOfTime = () => o.maxSeconds !== undefined && (performance.now() - t0) / 1000 >= o.maxSeconds;
  let timeUp = false;
  while (trainer.step < stopAt && !o.signal?.aborted && !timeUp) {
    const out = trainer.trainStep();
    const tensors: Record<string, Tensor> = out instanceof Tensor ? { loss: out } : out;
    const step = trainer.step;
    timeUp = outOfTime();
    try {
      if (step % o.logEvery === 0 || step === stopAt || timeUp) {
        const values = await Promise.all(Object.values(tensors).map((t) => t.item()));
        losses = Object.fromEntries(Object.keys(tensors).map((k, i) => [k, values[i]]));
        for (const [name, v] of Object.entries(losses))
          if (!Number.isFinite(v)) throw diverged(`the ${name === 'loss' ? 'loss' : `loss ${name}`} is ${v}`);
        rate = ((step - stepLog) * o.imagesPerStep) / ((performance.now() - tLog) / 1000);
        restartClock();
        folder.record({ type: 'train', step, ...trainer.status(), ...losses, images_per_s: rate });
      }
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
    o.onProgress?.({
      step,
      steps,
      losses,
      imagesPerSecond: rate,
      etaSeconds: rate ? ((steps - step) * o.imagesPerStep) / rate : undefined,
      status: trainer.status(),
    });
    if (o.valEvery > 0 && step % o.valEvery === 0 && step < steps) {
      const v = await validate();
      if (v) log(`step ${step}: ${v.summary}`);
      restartClock();
    }
    if (step % o.ckptEvery === 0) {
      await saveCheckpoint();
      restartClock();
    }
  }
  await saveCheckpoint();
  if (trainer.step < steps)
    return {
      status: o.signal?.aborted ? 'interrupted' : 'stopped',
      step: trainer.step,
      wallSeconds: elapsed(),
      validation: null,
    };
  const validation = await validate();
  return { status: 'finished', step: trainer.step, wallSeconds: elapsed(), validation };
}
