/**
 * A trained recognizer's file: the backbone's state dict in safetensors, with what it takes to
 * use it in the metadata (no Node imports: bytes in, bytes out).
 *   __metadata__.format      "synface-recognizer/1"
 *   __metadata__.backbone    JSON IResNetConfig
 *   __metadata__.preprocess  JSON { crop: [h, w], out: [H, W] }: the centre crop of a
 *                            deep-funneled 250x250 LFW image and the size it is resized to
 *   __metadata__.info        JSON, free (training command, data, steps, accuracy)
 * The ArcFace head is not kept: its class centres belong to the training identities.
 * Loading checks the metadata field by field and every weight for NaN or infinity, so a bad
 * file is an error naming the file and what is wrong, not a TypeError or NaN scores later.
 */
import { parseSafetensors, serializeSafetensors } from '../io/safetensors.js';
import { assertFinite, readTensors } from '../tensor/tensor-data.js';
import type { Preprocess } from '../data/preprocess.js';
import { IResNet, type IResNetConfig } from './iresnet.js';

export const RECOGNIZER_FORMAT = 'synface-recognizer/1';

export interface RecognizerFile {
  backbone: IResNetConfig;
  preprocess: Preprocess;
  info: Record<string, unknown>;
}

export async function serializeRecognizer(
  backbone: IResNet,
  preprocess: Preprocess,
  info: Record<string, unknown> = {},
): Promise<Uint8Array> {
  const tensors = await readTensors(backbone.stateDict());
  assertFinite(tensors, 'recognizer weights');
  return serializeSafetensors(tensors, {
    format: RECOGNIZER_FORMAT,
    backbone: JSON.stringify(backbone.config),
    preprocess: JSON.stringify(preprocess),
    info: JSON.stringify(info),
  });
}

/** Parses a recognizer file and builds its backbone (in eval mode) with the stored weights. */
export function loadRecognizer(
  bytes: Uint8Array,
  source: string,
): { backbone: IResNet; file: RecognizerFile } {
  const st = parseSafetensors(bytes, source);
  const meta = st.metadata;
  if (meta.format !== RECOGNIZER_FORMAT)
    throw new Error(
      `${source}: not a recognizer file (format ${JSON.stringify(meta.format)}, expected "${RECOGNIZER_FORMAT}")`,
    );
  const json = (key: string) => {
    try {
      return JSON.parse(meta[key] ?? 'null');
    } catch (e) {
      throw new Error(`${source}: metadata "${key}" is not JSON: ${(e as Error).message}`);
    }
  };
  const file: RecognizerFile = {
    backbone: json('backbone'),
    preprocess: json('preprocess'),
    info: json('info') ?? {},
  };
  for (const [key, problem] of [
    ['backbone', backboneProblem(file.backbone)],
    ['preprocess', preprocessProblem(file.preprocess)],
  ] as const) {
    if (problem) throw new Error(`${source}: metadata "${key}" ${problem}`);
  }
  for (const [name, t] of Object.entries(st.tensors)) {
    if (t.dtype !== 'f32') continue;
    let bad = 0;
    for (const v of t.data) if (!Number.isFinite(v)) bad++;
    if (bad)
      throw new Error(
        `${source}: tensor "${name}" holds ${bad} non-finite values (NaN or infinite) of ${t.data.length}: ` +
          'the weights are broken (did the training diverge?)',
      );
  }
  const backbone = new IResNet(file.backbone);
  try {
    backbone.loadStateDict(st.tensors);
  } catch (e) {
    backbone.dispose();
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  backbone.eval();
  return { backbone, file };
}

// ---------------------------------------------------------------- checks of the metadata

const isPositiveInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
const isPositiveInts = (v: unknown, length?: number) =>
  Array.isArray(v) && v.length > 0 && (length === undefined || v.length === length) && v.every(isPositiveInt);

/** What is missing or wrong in a backbone config read from a file (an IResNetConfig), or undefined. */
export function backboneProblem(b: unknown): string | undefined {
  if (!b || typeof b !== 'object' || Array.isArray(b)) return `is missing (expected an IResNetConfig object)`;
  const c = b as Record<string, unknown>;
  const fields: [string, boolean, string][] = [
    ['input', isPositiveInts(c.input, 2), '[height, width], positive integers'],
    ['blocks', isPositiveInts(c.blocks), 'IR blocks per stage, positive integers'],
    ['widths', isPositiveInts(c.widths), 'channels per stage, positive integers'],
    ['stem', isPositiveInt(c.stem), 'a positive integer'],
    ['embedding', isPositiveInt(c.embedding), 'a positive integer'],
    ['dropout', typeof c.dropout === 'number' && c.dropout >= 0 && c.dropout < 1, 'a number in [0, 1)'],
  ];
  for (const [name, ok, what] of fields) {
    if (ok) continue;
    return name in c
      ? `has a bad "${name}": ${JSON.stringify(c[name])} (expected ${what})`
      : `lacks "${name}" (${what})`;
  }
  if (c.stemStride !== undefined && !isPositiveInt(c.stemStride))
    return `has a bad "stemStride": ${JSON.stringify(c.stemStride)} (expected a positive integer)`;
  if ((c.widths as number[]).length !== (c.blocks as number[]).length)
    return `has ${(c.blocks as number[]).length} "blocks" but ${(c.widths as number[]).length} "widths" (one per stage)`;
  return undefined;
}

/** What is missing or wrong in a preprocessing read from a file, or undefined. */
function preprocessProblem(p: unknown): string | undefined {
  if (!p || typeof p !== 'object' || Array.isArray(p))
    return `is missing (expected { crop: [h, w], out: [H, W] })`;
  const c = p as Record<string, unknown>;
  for (const name of ['crop', 'out'])
    if (!isPositiveInts(c[name], 2))
      return name in c
        ? `has a bad "${name}": ${JSON.stringify(c[name])} (expected [h, w], positive integers)`
        : `lacks "${name}" ([h, w], positive integers)`;
  return undefined;
}
