/**
 * The data of a recognizer training run (src/train/recognizer-run.ts; Node: reads files): the training images (rows of an image cache)
 * and the validation pairs with the images they name.
 *
 *   --layout lfw      (default) an LFW-layout folder and its people file; a split by people
 *                     (made in <out>/split unless --split names one) gives the training people
 *                     and the validation pairs, whose images are in the same cache.
 *                     --max-people M trains on a fixed M of the training people (Real(M)).
 *   --layout folders  a folder per identity (CASIA-WebFace); every identity trains, and the
 *                     validation pairs come from another LFW-layout folder (--val-data,
 *                     --val-pairs); without them the run has no validation.
 *   --layout synthetic  a dataset of `synface synthesize` (synthetic-dataset.ts): its
 *                     identities are the classes, identity mixup's soft labels come with the
 *                     rows; validation as for folders.
 *   --real (any layout, used with synthetic): domain mixup's real images, M people of a split's
 *                     training people (people-rows.ts), classes after the data's own.
 *
 * Images that cannot be decoded (a truncated JPEG) are skipped when the cache is built
 * (cache-entry.ts). Their training rows are left out, with a count in the log and in `describe`;
 * so are the validation pairs that name one (dropping a pair keeps the others' folds, and
 * validation only watches the run; failing would throw away a training run for one file).
 * With `strict`, any skipped image the run would use is an error naming the files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedIdentityFolders, cachedLfw } from './lfw-cache.js';
import { peopleRows, realImages, type RealImages, type RealMixOptions } from './people-rows.js';
import { cachedSynthetic, type SoftLabels } from './synthetic-dataset.js';
import type { SkippedImage } from './cache-entry.js';
import { parsePairs, parsePeople, type LfwImageRef, type LfwPair } from './lfw-pairs.js';
import { loadPairImages } from './pair-images.js';
import type { ImageCache } from './image-cache.js';
import type { Preprocess } from './preprocess.js';
import { writeSplit } from './split-files.js';

export interface RecognizerDataOptions {
  /** 'lfw': an LFW-layout folder and a people file; 'folders': a folder per identity; 'synthetic': synface synthesize's output. */
  layout: 'lfw' | 'folders' | 'synthetic';
  data: string;
  /** The people file inside `data` (layout lfw). */
  people: string;
  /** A folder with train-people.txt and val-pairs.txt (layout lfw; default: made in <out>/split). */
  split?: string;
  /** Fraction of the people held out when the split is made. */
  valFraction: number;
  /** Layout folders: the LFW-layout folder of the validation pairs' images, and the pairs file. */
  valData?: string;
  valPairs?: string;
  /** Train on people with at least this many images. */
  minImages: number;
  /** Layout lfw: train on this many of the eligible training people (subsetPeople's fixed choice). */
  maxPeople?: number;
  /** Domain mixup: the real images blended into the batches. */
  real?: RealMixOptions;
  /** The run's folder (the split is made in <out>/split). */
  out: string;
  /** Fail, naming the files, when an image the run uses could not be decoded (default: leave it out). */
  strict?: boolean;
  log: (line: string) => void;
}

export interface RunData {
  cache: ImageCache;
  rows: number[];
  val: {
    pairs: LfwPair[];
    people: number;
    cache: ImageCache;
    rowOf: (ref: LfwImageRef) => number;
    source: string;
  } | null;
  /** What the checkpoint and the report record about the data. */
  describe: Record<string, unknown>;
  /** Layout synthetic: identity mixup's soft label of each cache row. */
  soft?: SoftLabels;
  /** Domain mixup's real images (with `real`). */
  real?: RealImages;
}

const fail = (msg: string): never => {
  throw new Error(`train-recognizer: ${msg}`);
};

/** Fails under --strict, else logs, when images the run uses were skipped as undecodable. */
function reportSkipped(o: RecognizerDataOptions, skipped: readonly SkippedImage[], leftOut: string): void {
  if (skipped.length === 0) return;
  const shown = skipped.slice(0, 10).map((b) => `${b.file} (${b.error})`);
  const more = skipped.length > shown.length ? ` and ${skipped.length - shown.length} more` : '';
  if (o.strict) fail(`--strict: ${skipped.length} images could not be decoded: ${shown.join(', ')}${more}`);
  o.log(
    `images: ${leftOut} (--strict fails instead); undecodable: ${shown.slice(0, 3).join(', ')}${skipped.length > 3 ? ', ...' : ''}`,
  );
}

/** Validation pairs from --val-data and --val-pairs (layouts folders and synthetic); none without them. */
function explicitValidation(o: RecognizerDataOptions, preprocess: Preprocess): RunData['val'] {
  if (!o.valPairs) {
    o.log(`validation: none (--layout ${o.layout} without --val-data and --val-pairs)`);
    return null;
  }
  if (!o.valData) fail('--val-pairs needs --val-data (the LFW-layout folder of its images)');
  const path = o.valPairs;
  const pairs = parsePairs(readFileSync(path, 'utf8'), path).pairs;
  const images = loadPairImages(o.valData!, pairs, preprocess, path);
  return {
    pairs,
    people: new Set(pairs.flatMap((p) => [p.a.name, p.b.name])).size,
    cache: images.cache,
    rowOf: images.rowOf,
    source: path,
  };
}

/** The data of the layout, then domain mixup's real images when asked for. */
export function prepareRecognizerData(o: RecognizerDataOptions, preprocess: Preprocess): RunData {
  if (o.maxPeople !== undefined && o.layout !== 'lfw')
    fail(`--max-people chooses among an LFW split's training people: it needs --layout lfw, not ${o.layout}`);
  const d = layoutData(o, preprocess);
  if (!o.real) return d;
  const real = realImages(o.real, o.minImages, preprocess, o.log);
  reportSkipped(o, real.skipped, `left out ${real.skipped.length} undecodable real images`);
  return {
    ...d,
    real,
    describe: {
      ...d.describe,
      real: { data: o.real.data, people: o.real.people, split: o.real.split, count: o.real.count },
    },
  };
}

function layoutData(o: RecognizerDataOptions, preprocess: Preprocess): RunData {
  const { data, minImages, out, log } = o;
  if (o.layout === 'synthetic') {
    const syn = cachedSynthetic(data, preprocess, { log });
    log(
      `synthetic data: ${syn.soft.classes} identities, ${syn.rows.length} images (${syn.mixed} identity mixes) in ${data}`,
    );
    return {
      cache: syn.cache,
      rows: syn.rows,
      val: explicitValidation(o, preprocess),
      soft: syn.soft,
      describe: {
        layout: 'synthetic',
        data,
        identities: syn.soft.classes,
        mixed_images: syn.mixed,
        labels_sha256: syn.labelsSha256,
        val_data: o.valData ?? null,
        val_pairs: o.valPairs ?? null,
      },
    };
  }
  if (o.layout === 'folders') {
    const f = cachedIdentityFolders(data, preprocess, { log });
    reportSkipped(o, f.bad, `left out ${f.bad.length} undecodable images of ${data}`);
    const perLabel = new Map<number, number>();
    for (const l of f.cache.labels) perLabel.set(l, (perLabel.get(l) ?? 0) + 1);
    const rows = [...f.cache.labels.keys()].filter((r) => perLabel.get(f.cache.labels[r])! >= minImages);
    return {
      cache: f.cache,
      rows,
      val: explicitValidation(o, preprocess),
      describe: {
        layout: 'folders',
        data,
        minImages,
        skipped_images: f.bad.length,
        val_data: o.valData ?? null,
        val_pairs: o.valPairs ?? null,
      },
    };
  }
  if (o.layout !== 'lfw') fail(`--layout ${o.layout} is not lfw or folders`);
  const splitDir = o.split ?? join(out, 'split');
  if (!existsSync(join(splitDir, 'train-people.txt'))) {
    if (o.split) fail(`${splitDir}/train-people.txt does not exist`);
    const s = writeSplit({
      data,
      people: o.people,
      out: splitDir,
      valFraction: o.valFraction,
      seed: 0,
    });
    log(
      `split: ${s.train} training people, ${s.val} validation people, ${s.pairs} validation pairs in ${splitDir}`,
    );
  }
  const lfw = cachedLfw(data, o.people, preprocess, { log });
  const trainPath = join(splitDir, 'train-people.txt');
  const trainPeople = parsePeople(readFileSync(trainPath, 'utf8'), trainPath).people;
  const chosen = peopleRows(lfw, trainPeople, trainPath, minImages, o.maxPeople, '--max-people');
  const { rows, skipped } = chosen;
  if (o.maxPeople !== undefined) log(`people: ${chosen.people.length} of the training people (--max-people)`);
  const valPath = join(splitDir, 'val-pairs.txt');
  const allPairs = parsePairs(readFileSync(valPath, 'utf8'), valPath).pairs;
  const valPeople = new Set(allPairs.flatMap((p) => [p.a.name, p.b.name]));
  const leak = trainPeople.find((p) => valPeople.has(p.name));
  if (leak) fail(`${leak.name} is both a training person (${trainPath}) and in ${valPath}`);
  const pairs = allPairs.filter((p) => !lfw.skippedOf(p.a) && !lfw.skippedOf(p.b));
  const valSkipped = [
    ...new Set(
      allPairs.flatMap((p) => [lfw.skippedOf(p.a), lfw.skippedOf(p.b)]).filter((b) => b !== undefined),
    ),
  ];
  reportSkipped(
    o,
    [...skipped, ...valSkipped],
    `left out ${skipped.length} undecodable training images and ${allPairs.length - pairs.length} of ${allPairs.length} validation pairs that name one`,
  );
  return {
    cache: lfw.cache,
    rows,
    val: { pairs, people: valPeople.size, cache: lfw.cache, rowOf: lfw.rowOf, source: valPath },
    describe: {
      layout: 'lfw',
      data,
      people: o.people,
      split: splitDir,
      minImages,
      ...(o.maxPeople === undefined ? {} : { maxPeople: o.maxPeople }),
      skipped_images: skipped.length,
      skipped_val_pairs: allPairs.length - pairs.length,
    },
  };
}
