/**
 * Training rows of chosen LFW people (Node: reads files): the people of a split's
 * train-people.txt with enough images, optionally a fixed subset of them (split.ts's
 * subsetPeople), as rows of the data's image cache. Used for the real training people of
 * `--layout lfw` and for the real images that domain mixup blends into synthetic batches.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SkippedImage } from './cache-entry.js';
import type { ImageCache } from './image-cache.js';
import { cachedLfw, type CachedLfw } from './lfw-cache.js';
import { parsePeople, type LfwPerson } from './lfw-pairs.js';
import type { Preprocess } from './preprocess.js';
import { subsetPeople } from './split.js';

export interface PeopleRows {
  people: LfwPerson[];
  rows: number[];
  /** Each row's person: an index into `people`. */
  personOf: number[];
  /** Images of those people that could not be decoded (left out of `rows`). */
  skipped: SkippedImage[];
}

/**
 * The rows of `trainPeople` (read from `source`, a people file) with >= minImages images; with
 * `count`, only that many of them (subsetPeople: the same people for every run that asks for `count`).
 */
export function peopleRows(
  lfw: CachedLfw,
  trainPeople: readonly LfwPerson[],
  source: string,
  minImages: number,
  count: number | undefined,
  what: string,
): PeopleRows {
  const eligible = trainPeople.filter((p) => p.count >= minImages);
  const people = count === undefined ? eligible : subsetPeople(eligible, count, `${what} (${source})`);
  const rows: number[] = [];
  const personOf: number[] = [];
  const skipped: SkippedImage[] = [];
  people.forEach((p, k) => {
    for (let i = 1; i <= p.count; i++) {
      const bad = lfw.skippedOf({ name: p.name, index: i });
      if (bad) skipped.push(bad);
      else {
        rows.push(lfw.rowOf({ name: p.name, index: i }));
        personOf.push(k);
      }
    }
  });
  return { people, rows, personOf, skipped };
}

/** Where domain mixup's real images come from. */
export interface RealMixOptions {
  /** An LFW-layout folder and its people file. */
  data: string;
  people: string;
  /** A split folder: its train-people.txt are the people that may be used (never validation people). */
  split: string;
  /** How many of them (subsetPeople). */
  count: number;
}

/** Domain mixup's real images: rows of their cache, each row's class 0 .. people-1. */
export interface RealImages {
  cache: ImageCache;
  rows: number[];
  /** Class of each cache row (-1 for rows not used). */
  labels: Int32Array;
  people: number;
  skipped: SkippedImage[];
}

export function realImages(
  o: RealMixOptions,
  minImages: number,
  preprocess: Preprocess,
  log: (line: string) => void,
): RealImages {
  const lfw = cachedLfw(o.data, o.people, preprocess, { log });
  const trainPath = join(o.split, 'train-people.txt');
  const trainPeople = parsePeople(readFileSync(trainPath, 'utf8'), trainPath).people;
  const chosen = peopleRows(lfw, trainPeople, trainPath, minImages, o.count, '--real-people');
  const labels = new Int32Array(lfw.cache.labels.length).fill(-1);
  chosen.rows.forEach((row, i) => (labels[row] = chosen.personOf[i]));
  return {
    cache: lfw.cache,
    rows: chosen.rows,
    labels,
    people: chosen.people.length,
    skipped: chosen.skipped,
  };
}
