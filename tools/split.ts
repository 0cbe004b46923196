/**
 * `synface split`: a validation split by people (disjoint people) of an LFW people file, and
 * verification pairs among the validation people in LFW's View 2 pairs format (10 person-
 * disjoint folds), so `synface eval` reads them like LFW's own pairs.txt.
 *
 *   <out>/train-people.txt   people file (View 1 form) of the training people
 *   <out>/val-people.txt     people file of the validation people
 *   <out>/val-pairs.txt      `10 N`, then per fold N same-person and N different-person pairs
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/io/node-files.js';
import { parsePeople, writePairs } from '../src/data/lfw-pairs.js';
import { makePairs, splitPeople, writePeople } from '../src/data/split.js';
import { parseArgs, usage, type OptionSpec } from './args.js';

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
  let perFold = o.perFold ?? 100;
  let pairs;
  for (;;) {
    try {
      pairs = makePairs(val, { perFold, seed: o.seed + 1 });
      break;
    } catch (e) {
      // too few same-person pairs in some fold: fewer per fold, unless asked for exactly this many
      if (o.perFold !== undefined || perFold <= 10) throw e;
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

const SPEC: Record<string, OptionSpec> = {
  data: { type: 'string', help: 'LFW-layout folder', default: '../shared/data/lfw-devtrain' },
  people: { type: 'string', help: 'people file inside --data', default: 'peopleDevTrain.txt' },
  out: { type: 'string', help: 'output folder', default: 'runs/split' },
  'val-fraction': { type: 'number', help: 'fraction of the people held out', default: 0.15 },
  'per-fold': { type: 'number', help: 'same-person pairs per fold (= different-person pairs)' },
  seed: { type: 'number', help: 'seed of the split and the pairs', default: 0 },
  help: { type: 'flag', help: 'this text' },
};

export function splitCommand(args: string[]): number {
  const o = parseArgs('split', args, SPEC);
  if (o.help) {
    console.log(
      usage('split', 'A validation split by people, with verification pairs in the LFW format.', SPEC),
    );
    return 0;
  }
  const r = writeSplit({
    data: String(o.data),
    people: String(o.people),
    out: String(o.out),
    valFraction: Number(o['val-fraction']),
    seed: Number(o.seed),
    perFold: o['per-fold'] as number | undefined,
  });
  console.log(
    `split: ${r.train} training people, ${r.val} validation people, ${r.pairs} pairs in 10 folds -> ${o.out}`,
  );
  return 0;
}
