/**
 * The factor student's weights file (safetensors; no Node imports): the FactorStudent's
 * tensors with its whole config (backbone, factor sizes, the norm of its outputs) in the
 * metadata, so a file rebuilds its own architecture, and a file of another kind or another
 * architecture is refused by name.
 *
 *   metadata  format 'synface-factor-student/1', config (JSON FactorStudentConfig),
 *             info (JSON: command, data, steps, held-out metrics ...)
 */
import { parseSafetensors, serializeSafetensors } from '../io/safetensors.js';
import { assertFinite, readTensors } from '../tensor/tensor-data.js';
import { Generator } from '../tensor/random.js';
import { checkStudentConfig, FactorStudent, type FactorStudentConfig } from './factor-student.js';

export const STUDENT_FORMAT = 'synface-factor-student/1';

export async function serializeFactorStudent(
  student: FactorStudent,
  info: Record<string, unknown> = {},
): Promise<Uint8Array> {
  const tensors = await readTensors(student.stateDict());
  assertFinite(tensors, 'factor student weights');
  return serializeSafetensors(tensors, {
    format: STUDENT_FORMAT,
    config: JSON.stringify(student.config),
    info: JSON.stringify(info),
  });
}

/**
 * Builds the student a weights file describes (in eval mode) and loads its tensors. `want`
 * (e.g. { expDim: 8, lightDim: 6 } or a backbone) names what the caller needs: a file that
 * differs is refused, naming every field that differs. The norm is never compared: a caller
 * with another standardization converts (normConversion).
 */
export function loadFactorStudent(
  bytes: Uint8Array,
  source: string,
  want: Partial<Omit<FactorStudentConfig, 'norm'>> = {},
): { student: FactorStudent; config: FactorStudentConfig; info: Record<string, unknown> } {
  const { tensors, metadata } = parseSafetensors(bytes, source);
  if (metadata.format !== STUDENT_FORMAT)
    throw new Error(
      `${source}: not a factor student weights file (format ${JSON.stringify(metadata.format ?? null)}, expected "${STUDENT_FORMAT}")`,
    );
  let config: FactorStudentConfig, info: Record<string, unknown>;
  try {
    config = JSON.parse(metadata.config ?? 'null') as FactorStudentConfig;
    info = JSON.parse(metadata.info ?? '{}') as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${source}: metadata is not valid JSON: ${(e as Error).message}`);
  }
  checkStudentConfig(config, `${source}: config`);
  const keys = Object.keys(want) as (keyof typeof want)[];
  const diff = keys.filter((k) => JSON.stringify(config[k]) !== JSON.stringify(want[k]));
  if (diff.length)
    throw new Error(
      `${source}: weights of another factor student architecture: ${diff
        .map((k) => `${k} ${JSON.stringify(config[k])} there, ${JSON.stringify(want[k])} here`)
        .join('; ')}`,
    );
  assertFinite(tensors, source);
  const student = new FactorStudent(config, new Generator(0));
  try {
    student.loadStateDict(tensors);
  } catch (e) {
    student.dispose();
    throw new Error(
      `${source}: the tensors do not fit the architecture of its config: ${(e as Error).message}`,
    );
  }
  student.eval();
  return { student, config, info };
}
