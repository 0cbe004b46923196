/**
 * `synface synthesize`'s work (Node): a synthetic face dataset from the generator, in the files
 * of src/data/synthetic-labels.ts, rendered as synthetic-plan.ts says (every image a pure
 * function of seed, identity and image number; fixed batches).
 *
 *   synthesizeDataset   renders a shard (default: everything) into `out`: each image written
 *                       atomically, then the identity's labels.jsonl (its completion record);
 *                       identities already complete are skipped (resume after a kill); at the
 *                       end, when every identity of the dataset is complete, labels.jsonl
 *   finishDataset       the merge: checks every identity of `out` is complete and writes
 *                       labels.jsonl (shards rendered on other machines copied into one folder)
 * Before anything is written, every input is checked (shard, counts, generator, factors file,
 * split) and `out`'s manifest, if there is one, must be this dataset's: a run never mixes two
 * datasets' images, and a failed check leaves no file behind.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../io/node-files.js';
import { encodePng } from '../plot/png-node.js';
import {
  formatLabel,
  identityFolder,
  imageFileName,
  parseLabels,
  PHI_STEPS,
} from '../data/synthetic-labels.js';
import { openGenerator, u8ToRgba } from './generate.js';
import { noiseLength, renderImages } from './generator-samples.js';
import {
  blockRequest,
  blockSize,
  identityDescriptor,
  shardBlocks,
  type Shard,
  type SynthesisPlan,
} from './synthetic-plan.js';

export interface SynthesizeOptions {
  weights: string;
  factors: string;
  /** Folder of val-people.txt (left out of the priors). */
  split: string;
  out: string;
  ids: number;
  perId: number;
  mixup: boolean;
  seed: number;
  /** Images per GPU batch: part of the dataset's definition (see synthetic-plan.ts). */
  batch: number;
  shard?: Shard;
  minDistance?: number;
  /** Scale of the identity prior's spread (default 1: as fitted to the training people). */
  identitySpread?: number;
  log?: (line: string) => void;
  /** Images of this shard done (rendered or found complete), of total; images rendered per second. */
  onProgress?: (done: number, total: number, perSecond: number) => void;
}

export interface SynthesizeResult {
  /** Images rendered by this run. */
  rendered: number;
  /** Identities of this shard found complete and skipped. */
  skipped: number;
  /** Identities of this shard. */
  identities: number;
  /** Whether every identity of the dataset is complete (labels.jsonl written). */
  complete: boolean;
  /** Identities of the dataset still missing in `out`. */
  missing: number;
  seconds: number;
}

export interface SynthesisManifest {
  format: 'synface-synthetic-v1';
  generator: { file: string; sha256: string; resolution: number };
  factors: { file: string; sha256: string };
  split: { valPeopleSha256: string };
  seed: number;
  counts: { identities: number; imagesPerIdentity: number; images: number };
  settings: {
    mixup: boolean;
    phiGrid: string;
    minDistance: number;
    identitySpread: number;
    batch: number;
    blockIdentities: number;
    png: string;
  };
  layout: string;
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

const LAYOUT =
  'id_<identity>/<image>.png (numbers zero-padded to 5 or more digits); id_<identity>/labels.jsonl, its label lines (written after its images: the identity is complete); labels.jsonl, all label lines in order: {"file","identity"[,"mix":{"partner","phi"}]}, soft label phi on identity and 1 - phi on partner';

function readManifest(out: string): SynthesisManifest {
  const path = join(out, 'manifest.json');
  if (!existsSync(path))
    throw new Error(
      `synthesize: ${path} does not exist: ${out} is not a synthetic dataset (make one with synface synthesize)`,
    );
  return JSON.parse(readFileSync(path, 'utf8')) as SynthesisManifest;
}

/** Identity i's label lines if it is complete in `out` (its record and every image present), else null. */
function completeRecord(out: string, i: number, ids: number, perId: number): string | null {
  const folder = join(out, identityFolder(i, ids));
  const record = join(folder, 'labels.jsonl');
  if (!existsSync(record)) return null;
  const text = readFileSync(record, 'utf8');
  let labels;
  try {
    labels = parseLabels(text, record, ids);
  } catch {
    return null; // not ours: render the identity again
  }
  if (labels.length !== perId) return null;
  for (let j = 0; j < perId; j++) if (!existsSync(join(folder, imageFileName(j, perId)))) return null;
  return text;
}

/**
 * The merge: when every identity of `out` is complete, writes labels.jsonl (their records in
 * order; left alone when it already holds exactly that). Returns how many identities are missing.
 */
export function finishDataset(out: string): { complete: boolean; missing: number; images: number } {
  const m = readManifest(out);
  const { identities: ids, imagesPerIdentity: perId } = m.counts;
  const records: string[] = [];
  let missing = 0;
  for (let i = 0; i < ids; i++) {
    const r = completeRecord(out, i, ids, perId);
    if (r === null) missing++;
    else records.push(r);
  }
  if (missing > 0) return { complete: false, missing, images: records.length * perId };
  const bytes = Buffer.from(records.join(''), 'utf8');
  const path = join(out, 'labels.jsonl');
  if (!existsSync(path) || !readFileSync(path).equals(bytes)) writeFileAtomic(path, bytes);
  return { complete: true, missing: 0, images: ids * perId };
}

/** Renders the shard into `out` (see the header). */
export async function synthesizeDataset(o: SynthesizeOptions): Promise<SynthesizeResult> {
  const t0 = performance.now();
  const shard = o.shard ?? { index: 0, count: 1 };
  for (const [k, v] of Object.entries({ ids: o.ids, perId: o.perId, batch: o.batch }))
    if (!(Number.isInteger(v) && v >= 1))
      throw new RangeError(`synthesize: ${k} must be a whole number >= 1, got ${v}`);
  if (!(Number.isInteger(shard.index) && shard.count >= 1 && shard.index >= 0 && shard.index < shard.count))
    throw new RangeError(
      `synthesize: shard ${shard.index}/${shard.count} is not one of 0/${shard.count} .. ${shard.count - 1}/${shard.count}`,
    );
  if (o.mixup && o.ids <= o.perId)
    throw new RangeError(
      `synthesize: identity mixup gives each of an identity's ${o.perId} images its own partner among the other identities, so it needs more than ${o.perId} identities, got ${o.ids}`,
    );
  const { G, config, ref, prior, minDistance, identitySpread } = openGenerator(o, 'synthesize');
  try {
    const block = blockSize(o.batch, o.perId);
    const manifest: SynthesisManifest = {
      format: 'synface-synthetic-v1',
      generator: { file: basename(o.weights), sha256: sha256(o.weights), resolution: config.resolution },
      factors: { file: basename(o.factors), sha256: sha256(o.factors) },
      split: { valPeopleSha256: sha256(join(o.split, 'val-people.txt')) },
      seed: o.seed,
      counts: { identities: o.ids, imagesPerIdentity: o.perId, images: o.ids * o.perId },
      settings: {
        mixup: o.mixup,
        phiGrid: o.mixup ? `k / ${PHI_STEPS}, k = 0 .. ${PHI_STEPS}` : 'none',
        minDistance,
        identitySpread,
        batch: o.batch,
        blockIdentities: block,
        png: `${config.resolution}x${config.resolution} 8-bit RGB`,
      },
      layout: LAYOUT,
    };
    const manifestText = JSON.stringify(manifest, null, 2) + '\n';
    const manifestPath = join(o.out, 'manifest.json');
    if (existsSync(manifestPath)) {
      const old = readFileSync(manifestPath, 'utf8');
      if (old !== manifestText) {
        const was = JSON.parse(old) as Record<string, unknown>;
        const differ = Object.keys(manifest).filter(
          (k) => JSON.stringify(was[k]) !== JSON.stringify(manifest[k as keyof SynthesisManifest]),
        );
        throw new Error(
          `synthesize: ${o.out} holds another dataset (its manifest.json differs in ${differ.join(', ') || 'its text'}); choose a new --out or the same settings`,
        );
      }
    } else if (existsSync(o.out) && readdirSync(o.out).length > 0)
      throw new Error(
        `synthesize: ${o.out} is not empty and has no manifest.json: choose a new or empty --out`,
      );
    mkdirSync(o.out, { recursive: true });
    if (!existsSync(manifestPath)) writeFileAtomic(manifestPath, Buffer.from(manifestText, 'utf8'));

    const plan: SynthesisPlan = {
      train: ref.train,
      prior,
      seed: o.seed,
      ids: o.ids,
      perId: o.perId,
      mixup: o.mixup,
      minDistance,
      zDim: config.zDim,
      noiseLength: noiseLength(G),
    };
    const descriptors = new Map<number, Float32Array>();
    const descriptorOf = (i: number) => {
      let d = descriptors.get(i);
      if (!d) descriptors.set(i, (d = identityDescriptor(plan, i)));
      return d;
    };
    const blocks = shardBlocks(o.ids, block, shard);
    const identities = blocks.reduce((s, [a, b]) => s + b - a, 0);
    const total = identities * o.perId;
    const R = config.resolution,
      size = 3 * R * R;
    let done = 0,
      rendered = 0,
      skipped = 0;
    const tStart = performance.now();
    for (const [first, end] of blocks) {
      const todo: number[] = [];
      for (let i = first; i < end; i++) if (completeRecord(o.out, i, o.ids, o.perId) === null) todo.push(i);
      skipped += end - first - todo.length;
      done += (end - first - todo.length) * o.perId;
      if (todo.length === 0) continue;
      const { request, noise, labels } = blockRequest(plan, first, end, descriptorOf);
      const pixels = await renderImages(G, request, { batch: o.batch, noise });
      for (const i of todo) {
        const folder = join(o.out, identityFolder(i, o.ids));
        mkdirSync(folder, { recursive: true });
        const lines: string[] = [];
        for (let j = 0; j < o.perId; j++) {
          const n = (i - first) * o.perId + j;
          writeFileAtomic(
            join(o.out, labels[n].file),
            encodePng(u8ToRgba(pixels, n * size, R), { alpha: false }),
          );
          lines.push(formatLabel(labels[n]) + '\n');
        }
        // last: the record that says the identity is complete
        writeFileAtomic(join(folder, 'labels.jsonl'), Buffer.from(lines.join(''), 'utf8'));
        rendered += o.perId;
        done += o.perId;
      }
      o.onProgress?.(done, total, rendered / ((performance.now() - tStart) / 1000));
    }
    const fin = finishDataset(o.out);
    return {
      rendered,
      skipped,
      identities,
      complete: fin.complete,
      missing: fin.missing,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    G.dispose();
  }
}
