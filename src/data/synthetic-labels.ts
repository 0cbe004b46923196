/**
 * The files of a synthetic dataset (`synface synthesize`), no Node imports:
 *
 *   DIR/manifest.json            what made it: generator, seed, counts, settings
 *   DIR/id_00012/00003.png       identity 12's image 3 (folder-per-identity, 64x64 RGB PNG)
 *   DIR/id_00012/labels.jsonl    identity 12's label lines, written after its images: the
 *                                record that the identity is complete (resume, shards)
 *   DIR/labels.jsonl             every identity's lines in order, written once all are complete
 *
 * A label line, one per image:
 *   {"file":"id_00012/00003.png","identity":12}
 *   {"file":"id_00012/00004.png","identity":12,"mix":{"partner":57,"phi":0.35}}
 * With identity mixup (SynFace's IM) the image shows the identity code phi * code(12) +
 * (1 - phi) * code(57): its soft label is phi on class 12 and 1 - phi on class 57. phi is on the
 * grid {0, 0.05, ..., 1} (k / 20), the partner another identity of the dataset.
 * Folder and file numbers are zero-padded to at least 5 digits (more when the count needs them).
 */

/** phi's grid: k / PHI_STEPS, k = 0 .. PHI_STEPS. */
export const PHI_STEPS = 20;

export interface SyntheticLabel {
  /** The image, relative to the dataset folder, '/'-separated. */
  file: string;
  identity: number;
  mix?: { partner: number; phi: number };
}

function pad(i: number, count: number): string {
  return String(i).padStart(Math.max(5, String(Math.max(0, count - 1)).length), '0');
}

/** Identity i's folder name among `ids` identities. */
export function identityFolder(i: number, ids: number): string {
  return `id_${pad(i, ids)}`;
}

/** Image j's file name among `perId` images of an identity. */
export function imageFileName(j: number, perId: number): string {
  return `${pad(j, perId)}.png`;
}

/** One label line (no newline), keys in a fixed order. */
export function formatLabel(l: SyntheticLabel): string {
  const base = `{"file":${JSON.stringify(l.file)},"identity":${l.identity}`;
  return l.mix ? `${base},"mix":{"partner":${l.mix.partner},"phi":${l.mix.phi}}}` : `${base}}`;
}

/** phi's value at grid step k (k / 20, as JSON prints it: 0.35, not 0.35000000000000003). */
export function phiAt(k: number): number {
  return Number((k / PHI_STEPS).toFixed(2));
}

/**
 * The label lines of `text`, checked: each a JSON object with a file, an identity in 0 .. ids-1
 * and, if mixed, a partner in 0 .. ids-1 other than the identity and phi on the grid. Errors
 * name the source and line.
 */
export function parseLabels(text: string, source: string, ids: number): SyntheticLabel[] {
  const out: SyntheticLabel[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, n) => {
    const where = `${source}:${n + 1}`;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new Error(`${where}: not a JSON line: '${line.slice(0, 80)}'`);
    }
    const o = v as Record<string, unknown>;
    const isId = (x: unknown) => Number.isInteger(x) && (x as number) >= 0 && (x as number) < ids;
    if (typeof o?.file !== 'string' || o.file === '') throw new Error(`${where}: the label has no "file"`);
    if (!isId(o.identity))
      throw new Error(`${where}: "identity" ${JSON.stringify(o.identity)} is not in 0 .. ${ids - 1}`);
    const label: SyntheticLabel = { file: o.file, identity: o.identity as number };
    if (o.mix !== undefined) {
      const m = o.mix as Record<string, unknown>;
      if (!isId(m?.partner) || m.partner === o.identity)
        throw new Error(
          `${where}: the mixup partner ${JSON.stringify(m?.partner)} is not another identity of 0 .. ${ids - 1}`,
        );
      const phi = m.phi as number;
      if (typeof phi !== 'number' || !(phi >= 0 && phi <= 1) || phiAt(Math.round(phi * PHI_STEPS)) !== phi)
        throw new Error(`${where}: phi ${JSON.stringify(m.phi)} is not on the grid 0, 0.05, ..., 1`);
      label.mix = { partner: m.partner as number, phi };
    }
    out.push(label);
  });
  return out;
}
