/**
 * A training checkpoint as one safetensors file (core: bytes in, bytes out):
 *   tensors   model/<name>        the model's state dict (parameters and buffers)
 *             optimizer/<i>.<buf> the optimizer's buffers (momentum, Adam's m and v)
 *   metadata  format, step, rng (generator states), optimizer (kind, options, step counts),
 *             config (any JSON)
 * Restoring it reproduces training exactly: the same values, step counts and random streams,
 * unless it was built with { half: true }: the model's f32 tensors are then stored in half
 * precision (F16, half the bytes; read back as f32, rounded to about 3 significant digits), for a
 * compact checkpoint meant to be committed; optimizer tensors stay F32.
 *
 *   const bytes = await buildCheckpoint({ model, optimizer, step, rng: { data: gen }, config });
 *   const ckpt = parseCheckpoint(bytes, 'run/ckpt.safetensors');
 *   const step = restoreCheckpoint(ckpt, { model, optimizer, rng: { data: gen } });
 */
import type { Module } from '../nn/module.js';
import type { Optimizer, OptimizerState } from '../optim/optimizer.js';
import type { Generator, GeneratorState } from '../tensor/random.js';
import { parseSafetensors, serializeSafetensors } from './safetensors.js';
import { assertFinite, readTensors, type TensorData } from '../tensor/tensor-data.js';

export const CHECKPOINT_FORMAT = 'synface-checkpoint/1';

export interface CheckpointParts {
  model: Module;
  optimizer?: Optimizer<{ lr: number }>;
  step: number;
  /** Random generators to resume, by name. */
  rng?: Record<string, Generator>;
  /** Anything JSON (the run's configuration). */
  config?: unknown;
}

export interface Checkpoint {
  model: Record<string, TensorData>;
  optimizer: OptimizerState<TensorData> | null;
  step: number;
  rng: Record<string, GeneratorState>;
  config: unknown;
}

/**
 * The checkpoint's bytes. Values are a snapshot of the moment of the call (every readback is
 * recorded before the first await), so training may continue while this resolves. Throws a
 * NonFiniteError (nothing is returned) if a float tensor holds NaN or infinity, and with `half`
 * a RangeError naming the tensor if one holds a value beyond f16 (|x| >= 65520).
 */
export async function buildCheckpoint(
  parts: CheckpointParts,
  options: { half?: boolean } = {},
): Promise<Uint8Array> {
  if (!Number.isSafeInteger(parts.step) || parts.step < 0)
    throw new RangeError(`buildCheckpoint: step ${parts.step} is not a non-negative integer`);
  const opt = parts.optimizer?.stateDict();
  const modelState = readTensors(parts.model.stateDict());
  const optState = readTensors(opt?.tensors ?? {});
  const rng = Object.fromEntries(Object.entries(parts.rng ?? {}).map(([k, g]) => [k, g.state()]));
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    step: String(parts.step),
    rng: JSON.stringify(rng),
    config: JSON.stringify(parts.config ?? null),
  };
  if (opt) metadata.optimizer = JSON.stringify({ kind: opt.kind, options: opt.options, steps: opt.steps });
  const tensors: Record<string, TensorData> = {};
  for (const [k, t] of Object.entries(await modelState)) tensors[`model/${k}`] = t;
  for (const [k, t] of Object.entries(await optState)) tensors[`optimizer/${k}`] = t;
  // a checkpoint of a diverged run would replace the last good one: refuse it
  assertFinite(tensors, `checkpoint at step ${parts.step}`);
  const float = (name: string) => (options.half && name.startsWith('model/') ? 'F16' : 'F32');
  return serializeSafetensors(tensors, metadata, { float });
}

/** Parses and checks a checkpoint's bytes; `source` (the file name) starts every error. */
export function parseCheckpoint(bytes: Uint8Array, source = 'checkpoint'): Checkpoint {
  const { tensors, metadata } = parseSafetensors(bytes, source);
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (metadata.format !== CHECKPOINT_FORMAT)
    fail(`not a checkpoint (format '${metadata.format ?? 'none'}', expected '${CHECKPOINT_FORMAT}')`);
  const json = (key: string): unknown => {
    try {
      return JSON.parse(metadata[key] ?? 'null');
    } catch (e) {
      return fail(`metadata '${key}' is not valid JSON: ${(e as Error).message}`);
    }
  };
  const step = Number(metadata.step);
  if (!Number.isSafeInteger(step) || step < 0) fail(`invalid step '${metadata.step}'`);
  const model: Record<string, TensorData> = {};
  const optTensors: Record<string, TensorData> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (name.startsWith('model/')) model[name.slice(6)] = t;
    else if (name.startsWith('optimizer/')) optTensors[name.slice(10)] = t;
    else fail(`unexpected tensor '${name}'`);
  }
  const opt = json('optimizer') as Omit<OptimizerState, 'tensors'> | null;
  if (opt && (typeof opt.kind !== 'string' || !Array.isArray(opt.steps) || typeof opt.options !== 'object'))
    fail('metadata optimizer is malformed');
  if (!opt && Object.keys(optTensors).length) fail('optimizer tensors without optimizer metadata');
  const rng = (json('rng') ?? {}) as Record<string, GeneratorState>;
  for (const [k, s] of Object.entries(rng)) {
    if (!s || !Number.isSafeInteger(s.seed) || !Number.isSafeInteger(s.offset))
      fail(`generator '${k}' has an invalid state ${JSON.stringify(s)}`);
  }
  return {
    model,
    optimizer: opt ? { ...opt, tensors: optTensors } : null,
    step,
    rng,
    config: json('config'),
  };
}

/**
 * Loads a parsed checkpoint into a model (strict: every tensor, matching shapes), an optimizer
 * and generators; returns the step. Everything is checked before the model is written.
 */
export function restoreCheckpoint(
  ckpt: Checkpoint,
  into: { model: Module; optimizer?: Optimizer<{ lr: number }>; rng?: Record<string, Generator> },
  source = 'checkpoint',
): number {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (into.optimizer && !ckpt.optimizer) fail('the checkpoint has no optimizer state');
  for (const name of Object.keys(into.rng ?? {}))
    if (!ckpt.rng[name])
      fail(
        `the checkpoint has no state for generator '${name}' (it has: ${Object.keys(ckpt.rng).join(', ') || 'none'})`,
      );
  try {
    into.model.loadStateDict(ckpt.model);
    if (into.optimizer) into.optimizer.loadStateDict(ckpt.optimizer!);
  } catch (e) {
    return fail((e as Error).message);
  }
  for (const [name, gen] of Object.entries(into.rng ?? {})) gen.setState(ckpt.rng[name]);
  return ckpt.step;
}
