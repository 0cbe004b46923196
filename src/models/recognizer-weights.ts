/**
 * A trained recognizer's file: the backbone's state dict in safetensors, with what it takes to
 * use it in the metadata (no Node imports: bytes in, bytes out).
 *   __metadata__.format      "synface-recognizer/1"
 *   __metadata__.backbone    JSON IResNetConfig
 *   __metadata__.preprocess  JSON { crop: [h, w], out: [H, W] }: the centre crop of a
 *                            deep-funneled 250x250 LFW image and the size it is resized to
 *   __metadata__.info        JSON, free (training command, data, steps, accuracy)
 * The ArcFace head is not kept: its class centres belong to the training identities.
 */
import { parseSafetensors, serializeSafetensors } from '../io/safetensors.js';
import { readTensors } from '../tensor/tensor-data.js';
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
  if (!file.backbone || !file.preprocess)
    throw new Error(`${source}: metadata lacks "backbone" or "preprocess"`);
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
