/**
 * A validation split by people written as files (Node): the LFW people files of the training
 * and validation people, and verification pairs among the validation people in LFW's View 2
 * format (10 person-disjoint folds). `synface split` and `synface train-recognizer` call it;
 * the split itself is src/data/split.ts. readValPeople and readValPairs read a split folder back
 * (the generator, its factor student and their evaluation leave the validation people out).
 *
 *   <out>/train-people.txt   people file (View 1 form) of the training people
 *   <out>/val-people.txt     people file of the validation people
 *   <out>/val-pairs.txt      `10 N`, then per fold N same-person and N different-person pairs
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/node-files.js';
import { parsePairs, parsePeople, writePairs, type LfwPair } from './lfw-pairs.js';
import { makePairs, splitPeople, writePeople } from './split.js';

export interface SplitOptions {
  data: string;
  people: string;
  out: string;
  valFraction: number;
  seed: number;
  /** Same-person pairs per fold (default: as many as the smallest fold allows, at most 100). */
  perFold?: number;
}

export function writeSplit(o: SplitOptions): { train: number; val: number; pairs: number } {
  const peoplePath = join(o.data, o.people);
  const people = parsePeople(readFileSync(peoplePath, 'utf8'), peoplePath).people;
  const { train, val } = splitPeople(people, o.valFraction, o.seed);
  const multi = val.filter((p) => p.count >= 2).length;
  const hint = (perFold: number) =>
    `The split holds out ${val.length} of the ${people.length} people of ${peoplePath} ` +
    `(--val-fraction ${o.valFraction}; ${multi} of them with >= 2 images), too few for 10 person-disjoint ` +
    `folds of ${perFold} same-person and ${perFold} different-person pairs: ask for fewer pairs per fold ` +
    `(--per-fold), hold out more people (a larger --val-fraction), or use a people file with more people`;
  let perFold = o.perFold ?? 100;
  let pairs;
  for (;;) {
    try {
      pairs = makePairs(val, { perFold, seed: o.seed + 1 });
      break;
    } catch (e) {
      // too few same-person pairs in some fold: fewer per fold, unless asked for exactly this many
      if (o.perFold !== undefined || perFold <= 10)
        throw new Error(`${(e as Error).message}. ${hint(perFold)}`);
      perFold -= 10;
    }
  }
  mkdirSync(o.out, { recursive: true });
  const write = (name: string, text: string) =>
    writeFileAtomic(join(o.out, name), new TextEncoder().encode(text));
  write('train-people.txt', writePeople(train));
  write('val-people.txt', writePeople(val));
  write('val-pairs.txt', writePairs(pairs, 10));
  return { train: train.length, val: val.length, pairs: pairs.length };
}

/** A file of a split folder as text; `command` starts the error that names a missing one. */
function readSplitFile(split: string, name: string, command: string): { text: string; path: string } {
  const path = join(split, name);
  if (!existsSync(path))
    throw new Error(`${command}: ${path} does not exist (--split names the folder of ${name})`);
  return { text: readFileSync(path, 'utf8'), path };
}

/** The names of the validation people of a split folder (its val-people.txt). */
export function readValPeople(split: string, command: string): Set<string> {
  const { text, path } = readSplitFile(split, 'val-people.txt', command);
  return new Set(parsePeople(text, path).people.map((p) => p.name));
}

/** The verification pairs of a split folder (its val-pairs.txt) and the file's path. */
export function readValPairs(split: string, command: string): { pairs: LfwPair[]; path: string } {
  const { text, path } = readSplitFile(split, 'val-pairs.txt', command);
  return { pairs: parsePairs(text, path).pairs, path };
}
