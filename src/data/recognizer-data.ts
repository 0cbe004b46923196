/**
 * The data of a recognizer training run (src/train/recognizer-run.ts; Node: reads files): the training images (rows of an image cache)
 * and the validation pairs with the images they name.
 *
 *   --layout lfw      (default) an LFW-layout folder and its people file; a split by people
 *                     (made in <out>/split unless --split names one) gives the training people
 *                     and the validation pairs, whose images are in the same cache.
 *   --layout folders  a folder per identity (CASIA-WebFace); every identity trains, and the
 *                     validation pairs come from another LFW-layout folder (--val-data,
 *                     --val-pairs); without them the run has no validation.
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
import type { SkippedImage } from './cache-entry.js';
import { parsePairs, parsePeople, type LfwImageRef, type LfwPair } from './lfw-pairs.js';
import { loadPairImages } from './pair-images.js';
import type { ImageCache } from './image-cache.js';
import type { Preprocess } from './preprocess.js';
import { writeSplit } from './split-files.js';

export interface RecognizerDataOptions {
  /** 'lfw': an LFW-layout folder and a people file; 'folders': a folder per identity. */
  layout: 'lfw' | 'folders';
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

export function prepareRecognizerData(o: RecognizerDataOptions, preprocess: Preprocess): RunData {
  const { data, minImages, out, log } = o;
  if (o.layout === 'folders') {
    const f = cachedIdentityFolders(data, preprocess, { log });
    reportSkipped(o, f.bad, `left out ${f.bad.length} undecodable images of ${data}`);
    const perLabel = new Map<number, number>();
    for (const l of f.cache.labels) perLabel.set(l, (perLabel.get(l) ?? 0) + 1);
    const rows = [...f.cache.labels.keys()].filter((r) => perLabel.get(f.cache.labels[r])! >= minImages);
    let val: RunData['val'] = null;
    if (o.valPairs) {
      if (!o.valData) fail('--val-pairs needs --val-data (the LFW-layout folder of its images)');
      const path = o.valPairs;
      const pairs = parsePairs(readFileSync(path, 'utf8'), path).pairs;
      const images = loadPairImages(o.valData!, pairs, preprocess, path);
      val = {
        pairs,
        people: new Set(pairs.flatMap((p) => [p.a.name, p.b.name])).size,
        cache: images.cache,
        rowOf: images.rowOf,
        source: path,
      };
    } else log('validation: none (--layout folders without --val-data and --val-pairs)');
    return {
      cache: f.cache,
      rows,
      val,
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
  const rows: number[] = [];
  const skipped: SkippedImage[] = [];
  for (const p of trainPeople) {
    if (p.count < minImages) continue;
    for (let i = 1; i <= p.count; i++) {
      const bad = lfw.skippedOf({ name: p.name, index: i });
      if (bad) skipped.push(bad);
      else rows.push(lfw.rowOf({ name: p.name, index: i }));
    }
  }
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
      skipped_images: skipped.length,
      skipped_val_pairs: allPairs.length - pairs.length,
    },
  };
}
