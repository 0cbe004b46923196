/**
 * A synthetic dataset (`synface synthesize`, layout in synthetic-labels.ts) as recognizer
 * training data (Node: reads files): its images through the image cache, and per cache row the
 * soft label of SynFace's identity mixup
 *
 *   an image of identity a mixed with partner b at phi shows phi code(a) + (1 - phi) code(b);
 *   its label is (a, w_a = phi), (b, w_b = 1 - phi)     (unmixed: b = a, w_a = 1, w_b = 0)
 *
 * which synfaceLoss (src/ops/loss.ts) takes as it is. Classes are the dataset's identities,
 * 0 .. ids-1, so the label lines' numbers are the classes.
 *
 * The generator learns the aligned crops the small recognizer reads (the 112x112 centre crop of
 * a deep-funneled LFW image, at the generator's resolution), so its images are stored aligned
 * that way: a preset with other preprocessing (the paper's 112x96) is refused by cropFor.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { DatasetItem } from './folder-dataset.js';
import type { ImageCache } from './image-cache.js';
import { cropFor, type DatasetLayout } from './layout.js';
import { cacheItems, type CacheOptions } from './lfw-cache.js';
import type { Preprocess } from './preprocess.js';
import { parseLabels } from './synthetic-labels.js';

/** Per cache row: identity mixup's two parents and the first one's weight phi. */
export interface SoftLabels {
  a: Int32Array;
  b: Int32Array;
  phi: Float32Array;
  classes: number;
}

export interface SyntheticData {
  cache: ImageCache;
  /** Every row of the cache, in labels.jsonl's order. */
  rows: number[];
  soft: SoftLabels;
  /** Images that are mixes of two identities. */
  mixed: number;
  /** sha256 of labels.jsonl: the soft labels a checkpoint was trained on. */
  labelsSha256: string;
}

/** The side of the 112x112 crop the generator's training images are cut from. */
const GENERATOR_CROP = 112;

interface ManifestFields {
  identities: number;
  perId: number;
  resolution: number;
}

function readManifestFields(dir: string): ManifestFields {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path))
    throw new Error(
      `${dir} is not a synthetic dataset: it has no manifest.json (make one with synface synthesize)`,
    );
  let m: { format?: unknown; counts?: Record<string, unknown>; generator?: Record<string, unknown> };
  try {
    m = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not JSON: ${(e as Error).message}`);
  }
  if (m.format !== 'synface-synthetic-v1')
    throw new Error(`${path}: format ${JSON.stringify(m.format)} is not synface-synthetic-v1`);
  const [identities, perId, resolution] = [
    m.counts?.identities,
    m.counts?.imagesPerIdentity,
    m.generator?.resolution,
  ];
  for (const [k, v] of Object.entries({ identities, imagesPerIdentity: perId, resolution }))
    if (!(Number.isInteger(v) && (v as number) > 0))
      throw new Error(`${path}: ${k} ${JSON.stringify(v)} is not a positive integer`);
  return { identities: identities as number, perId: perId as number, resolution: resolution as number };
}

/** The dataset in `dir`, cached (decoded once; see lfw-cache.ts), with its soft labels. */
export function cachedSynthetic(
  dir: string,
  preprocess: Preprocess,
  options: CacheOptions = {},
): SyntheticData {
  const m = readManifestFields(dir);
  const labelsPath = join(dir, 'labels.jsonl');
  if (!existsSync(labelsPath))
    throw new Error(
      `${dir} is incomplete: no labels.jsonl (it is written when every identity is rendered: run or finish synface synthesize)`,
    );
  const text = readFileSync(labelsPath, 'utf8');
  const labels = parseLabels(text, labelsPath, m.identities);
  if (labels.length !== m.identities * m.perId)
    throw new Error(
      `${labelsPath}: ${labels.length} label lines, the manifest says ${m.identities} x ${m.perId} images`,
    );
  const items: DatasetItem[] = labels.map((l, n) => {
    const folder = l.file.split('/')[0];
    if (!/^id_\d+$/.test(folder) || Number(folder.slice(3)) !== l.identity)
      throw new Error(`${labelsPath}:${n + 1}: ${l.file} is not in identity ${l.identity}'s folder`);
    return { identity: folder, label: l.identity, path: l.file };
  });
  const r = m.resolution;
  const layout: DatasetLayout = {
    extension: 'png',
    aligned: { crop: [GENERATOR_CROP, GENERATOR_CROP], out: [r, r] },
  };
  const crop = cropFor(layout, preprocess, join(dir, 'manifest.json'));
  const labelsSha256 = createHash('sha256').update(text).digest('hex');
  const key = `synthetic-${createHash('sha1')
    .update([realpathSync(dir), labelsSha256, JSON.stringify(preprocess)].join('\0'))
    .digest('hex')
    .slice(0, 12)}`;
  const c = cacheItems(items, dir, crop, key, dir, options);
  if (c.bad.length)
    throw new Error(
      `${dir}: ${c.bad.length} images could not be decoded, e.g. ${c.bad[0].file} (${c.bad[0].error}); synthesize them again`,
    );
  // the cache's rows follow `items`, i.e. the label lines
  const n = labels.length;
  const soft: SoftLabels = {
    a: new Int32Array(n),
    b: new Int32Array(n),
    phi: new Float32Array(n),
    classes: m.identities,
  };
  labels.forEach((l, i) => {
    if (c.paths[i] !== l.file) throw new Error(`${dir}: cache row ${i} is ${c.paths[i]}, expected ${l.file}`);
    soft.a[i] = l.identity;
    soft.b[i] = l.mix?.partner ?? l.identity;
    soft.phi[i] = l.mix?.phi ?? 1;
  });
  return {
    cache: c.cache,
    rows: [...Array(n).keys()],
    soft,
    mixed: labels.filter((l) => l.mix).length,
    labelsSha256,
  };
}
