/**
 * The generator's weights file (safetensors; no Node imports): the FaceGenerator's tensors
 * (normally the EMA copy) with the whole GeneratorConfig in the metadata, so a file rebuilds
 * its own architecture, and a file of another architecture or resolution is refused by name.
 *
 *   metadata  format 'synface-generator/1', config (JSON GeneratorConfig), info (JSON: run, kimg ...)
 *
 * `{ half: true }` stores the tensors in half precision (F16: half the bytes, for the shipped
 * file); loadGenerator reads either (as f32).
 */
import { parseSafetensors, serializeSafetensors } from '../../io/safetensors.js';
import { assertFinite, readTensors } from '../../tensor/tensor-data.js';
import { Generator } from '../../tensor/random.js';
import { checkGeneratorConfig, checkSameArchitecture, type GeneratorConfig } from './config.js';
import { FaceGenerator } from './generator.js';

export const GENERATOR_FORMAT = 'synface-generator/1';

export async function serializeGenerator(
  G: FaceGenerator,
  info: Record<string, unknown> = {},
  options: { half?: boolean } = {},
): Promise<Uint8Array> {
  const tensors = await readTensors(G.stateDict());
  assertFinite(tensors, 'generator weights');
  return serializeSafetensors(
    tensors,
    { format: GENERATOR_FORMAT, config: JSON.stringify(G.config), info: JSON.stringify(info) },
    { float: options.half ? 'F16' : 'F32' },
  );
}

/**
 * Builds the generator a weights file describes and loads its tensors. `want` (e.g.
 * { resolution: 64 }) names what the caller needs: a file that differs is refused, naming
 * every field that differs.
 */
export function loadGenerator(
  bytes: Uint8Array,
  source: string,
  want: Partial<GeneratorConfig> = {},
): { generator: FaceGenerator; config: GeneratorConfig; info: Record<string, unknown> } {
  const { tensors, metadata } = parseSafetensors(bytes, source);
  if (metadata.format !== GENERATOR_FORMAT)
    throw new Error(
      `${source}: not a generator weights file (format ${JSON.stringify(metadata.format ?? null)}, expected "${GENERATOR_FORMAT}")`,
    );
  let config: GeneratorConfig, info: Record<string, unknown>;
  try {
    config = JSON.parse(metadata.config ?? 'null') as GeneratorConfig;
    info = JSON.parse(metadata.info ?? '{}') as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${source}: metadata is not valid JSON: ${(e as Error).message}`);
  }
  if (!config || typeof config !== 'object') throw new Error(`${source}: metadata has no generator config`);
  checkGeneratorConfig(config, `${source}: config`);
  checkSameArchitecture(config, want, source);
  assertFinite(tensors, source);
  const generator = new FaceGenerator(config, new Generator(0));
  try {
    generator.loadStateDict(tensors);
  } catch (e) {
    generator.dispose();
    throw new Error(
      `${source}: the tensors do not fit the architecture of its config: ${(e as Error).message}`,
    );
  }
  generator.eval();
  return { generator, config, info };
}
