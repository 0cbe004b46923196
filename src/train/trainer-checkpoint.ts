/**
 * The checkpoint of a trainer that draws its batches from an EpochSampler (the recognizer's and
 * the factor student's; no Node imports). Its config holds
 *
 *   { ...extra, train: the trainer's config, sampler: the sampler's position }
 *
 * and its generators are `model` (initial weights, dropout) and `augment`. A resume must use
 * the settings the checkpoint was made with: restoreTrainer refuses others, naming them.
 */
import { restoreCheckpoint, type Checkpoint, type CheckpointParts } from '../io/checkpoint.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Generator } from '../tensor/random.js';
import type { EpochSampler, SamplerState } from './sampler.js';

export interface SampledTrainer<C> {
  readonly config: C;
  readonly model: Module;
  readonly optimizer: Optimizer<{ lr: number }>;
  readonly sampler: EpochSampler;
  readonly modelGen: Generator;
  readonly augmentGen: Generator;
  /** A trainer's further generators and samplers (domain mixup's psi and real batches), saved by name. */
  readonly moreGenerators?: Record<string, Generator>;
  readonly moreSamplers?: Record<string, EpochSampler>;
  step: number;
}

/** The saved config of a checkpoint made by trainerCheckpointParts (its extra keys untyped). */
export type SavedTrainerConfig<C> = {
  train?: C;
  sampler?: SamplerState;
  samplers?: Record<string, SamplerState>;
} & Record<string, unknown>;

const samplerStates = (samplers: Record<string, EpochSampler>) =>
  Object.fromEntries(Object.entries(samplers).map(([k, s]) => [k, s.getState()]));

/** What the trainer's checkpoint holds; `extra` goes into its config before the trainer's own keys. */
export function trainerCheckpointParts<C>(
  t: SampledTrainer<C>,
  extra: Record<string, unknown> = {},
): CheckpointParts & { config: Record<string, unknown> } {
  return {
    model: t.model,
    optimizer: t.optimizer,
    step: t.step,
    rng: { model: t.modelGen, augment: t.augmentGen, ...t.moreGenerators },
    config: {
      ...extra,
      train: t.config,
      sampler: t.sampler.getState(),
      ...(t.moreSamplers ? { samplers: samplerStates(t.moreSamplers) } : {}),
    },
  };
}

/** A setting a resumed run changed: its value in the checkpoint (null if absent) and now. */
export type SettingChanges = Record<string, { was: unknown; now: unknown }>;

/**
 * Throws unless two settings objects agree key by key (compared as JSON), naming each key that
 * differs with its value in the checkpoint (`there`), cut to 80 characters. Keys in `changeable`
 * may differ (a resumed run's curriculum step): they are returned, not refused.
 */
export function assertSameSettings(
  source: string,
  there: object,
  here: object,
  changeable: ReadonlySet<string> = new Set(),
): SettingChanges {
  const a = there as Record<string, unknown>,
    b = here as Record<string, unknown>;
  const diff = Object.keys({ ...a, ...b }).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  const fixed = diff.filter((k) => !changeable.has(k));
  if (fixed.length)
    throw new Error(
      `${source}: the checkpoint was made with other settings (${fixed
        .map((k) => `${k}: ${JSON.stringify(a[k])?.slice(0, 80)} there`)
        .join(', ')})`,
    );
  return Object.fromEntries(diff.map((k) => [k, { was: a[k] ?? null, now: b[k] }]));
}

/**
 * Restores a checkpoint made by trainerCheckpointParts into the trainer: weights, optimizer
 * state, step, generators and sampler position. `kind` names the trainer in the error for a
 * checkpoint of something else; `check` may refuse the saved config further (it runs after the
 * settings check, before anything is written).
 */
export function restoreTrainer<C>(
  t: SampledTrainer<C>,
  ckpt: Checkpoint,
  source: string,
  kind: string,
  check?: (saved: SavedTrainerConfig<C>) => void,
): void {
  const saved = ckpt.config as SavedTrainerConfig<C> | null;
  if (!saved?.train || !saved.sampler)
    throw new Error(`${source}: not a ${kind} training checkpoint (no train config or sampler state)`);
  assertSameSettings(source, saved.train, t.config as object);
  check?.(saved);
  const more = Object.keys(t.moreSamplers ?? {});
  const missing = more.filter((k) => !saved.samplers?.[k]);
  if (missing.length)
    throw new Error(
      `${source}: the checkpoint has no state for sampler ${missing.join(', ')} (a run without them)`,
    );
  t.step = restoreCheckpoint(
    ckpt,
    {
      model: t.model,
      optimizer: t.optimizer,
      rng: { model: t.modelGen, augment: t.augmentGen, ...t.moreGenerators },
    },
    source,
  );
  t.sampler.setState(saved.sampler);
  for (const k of more) t.moreSamplers![k].setState(saved.samplers![k]);
}
