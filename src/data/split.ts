/**
 * A validation split by people, and verification pairs among the validation people written in
 * LFW's View 2 form, so that the same evaluator reads the held-out pairs and LFW's own.
 *
 * - Disjoint people, not just disjoint images: a validation person has no image in training.
 * - The split is stratified: the same fraction of people with >= 2 images (the ones that give
 *   same-person pairs) and of people with one image is held out.
 * - Folds are person-disjoint as in LFW's View 2: every validation person belongs to one fold,
 *   and each fold's pairs use only its people, so a threshold picked on 9 folds has never seen
 *   the 10th fold's faces.
 * Every draw comes from a seeded Generator (Philox, on the CPU): the same seed gives the same
 * files on every machine. No Node imports.
 */
import { Generator } from '../tensor/random.js';
import type { LfwPair, LfwPerson } from './lfw-pairs.js';

/** A uniform integer in [0, n) from one 32-bit draw (bias < n / 2^32, negligible here). */
function below(gen: Generator, n: number): number {
  return Math.floor((gen.bitsCpu(1)[0] / 4294967296) * n);
}

/** Fisher-Yates shuffle (a copy). */
export function shuffled<T>(items: readonly T[], gen: Generator): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = below(gen, i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export interface PeopleSplit {
  train: LfwPerson[];
  val: LfwPerson[];
}

/** Holds out `valFraction` of the people (stratified by >= 2 images); both lists keep file order. */
export function splitPeople(people: readonly LfwPerson[], valFraction: number, seed: number): PeopleSplit {
  if (!(valFraction > 0 && valFraction < 1))
    throw new RangeError(`splitPeople: valFraction must be in (0, 1), got ${valFraction}`);
  const names = new Set<string>();
  for (const p of people) {
    if (names.has(p.name)) throw new Error(`splitPeople: ${p.name} is listed twice`);
    names.add(p.name);
  }
  const gen = new Generator(seed);
  const held = new Set<string>();
  for (const group of [people.filter((p) => p.count >= 2), people.filter((p) => p.count < 2)]) {
    const take = Math.round(group.length * valFraction);
    for (const p of shuffled(group, gen).slice(0, take)) held.add(p.name);
  }
  return { train: people.filter((p) => !held.has(p.name)), val: people.filter((p) => held.has(p.name)) };
}

export interface PairOptions {
  /** Folds (LFW: 10). */
  folds?: number;
  /** Same-person pairs per fold (= different-person pairs per fold). */
  perFold: number;
  seed: number;
}

const key = (a: string, i: number, b: string, j: number) =>
  a < b || (a === b && i < j) ? `${a}\t${i}\t${b}\t${j}` : `${b}\t${j}\t${a}\t${i}`;

/**
 * Verification pairs among `people`: per fold, `perFold` same-person pairs (distinct image
 * pairs, spread round-robin over the fold's people with >= 2 images) and `perFold` different-
 * person pairs (random people and images), no pair twice. Throws if a fold cannot supply them.
 */
export function makePairs(people: readonly LfwPerson[], options: PairOptions): LfwPair[] {
  const folds = options.folds ?? 10;
  const { perFold } = options;
  if (!(Number.isInteger(folds) && folds >= 1))
    throw new RangeError(`makePairs: folds ${folds} is not an integer >= 1`);
  if (!(Number.isInteger(perFold) && perFold >= 1))
    throw new RangeError(`makePairs: perFold ${perFold} is not an integer >= 1`);
  const gen = new Generator(options.seed);
  // deal people to folds: multi-image people first, so each fold gets its share of them
  const order = [
    ...shuffled(
      people.filter((p) => p.count >= 2),
      gen,
    ),
    ...shuffled(
      people.filter((p) => p.count < 2),
      gen,
    ),
  ];
  const byFold: LfwPerson[][] = Array.from({ length: folds }, () => []);
  order.forEach((p, i) => byFold[i % folds].push(p));
  const pairs: LfwPair[] = [];
  byFold.forEach((members, fold) => {
    const multi = members.filter((p) => p.count >= 2);
    const capacity = multi.reduce((s, p) => s + (p.count * (p.count - 1)) / 2, 0);
    if (capacity < perFold)
      throw new Error(
        `makePairs: fold ${fold} has ${multi.length} people with >= 2 images and ${capacity} distinct same-person pairs, ${perFold} needed`,
      );
    if (members.length < 2)
      throw new Error(`makePairs: fold ${fold} has ${members.length} people, different-person pairs need 2`);
    const seen = new Set<string>();
    const used = new Map<string, number>(); // same-person pairs taken per person
    const same: LfwPair[] = [];
    for (let r = 0; same.length < perFold; r = (r + 1) % multi.length) {
      const p = multi[r];
      const taken = used.get(p.name) ?? 0;
      if (taken >= (p.count * (p.count - 1)) / 2) continue; // this person's pairs are exhausted
      used.set(p.name, taken + 1);
      for (;;) {
        const i = 1 + below(gen, p.count);
        const j = 1 + below(gen, p.count);
        const k = key(p.name, i, p.name, j);
        if (i === j || seen.has(k)) continue;
        seen.add(k);
        same.push({
          a: { name: p.name, index: Math.min(i, j) },
          b: { name: p.name, index: Math.max(i, j) },
          same: true,
          fold,
        });
        break;
      }
    }
    const diff: LfwPair[] = [];
    while (diff.length < perFold) {
      const a = members[below(gen, members.length)];
      const b = members[below(gen, members.length)];
      if (a === b) continue;
      const i = 1 + below(gen, a.count);
      const j = 1 + below(gen, b.count);
      const k = key(a.name, i, b.name, j);
      if (seen.has(k)) continue;
      seen.add(k);
      diff.push({ a: { name: a.name, index: i }, b: { name: b.name, index: j }, same: false, fold });
    }
    pairs.push(...same, ...diff);
  });
  return pairs;
}

/** People in LFW's View 1 people-file form: `N`, then `Name<TAB>count` lines. */
export function writePeople(people: readonly LfwPerson[]): string {
  return [String(people.length), ...people.map((p) => `${p.name}\t${p.count}`)].join('\n') + '\n';
}

/** The seed of subsetPeople's shuffle. */
const PEOPLE_SUBSET_SEED = 7;

/**
 * `count` of `people`, chosen by a shuffle with a fixed seed (not the run's): Real(M) and the
 * domain mixup of Syn+IM+DM(M) get the same M people whatever their seeds, so the arms differ
 * only in what the comparison is about. Returned in the people's own order.
 */
export function subsetPeople(people: readonly LfwPerson[], count: number, what: string): LfwPerson[] {
  if (!(Number.isInteger(count) && count >= 1))
    throw new RangeError(`${what}: ${count} people is not a positive integer`);
  if (count > people.length)
    throw new RangeError(`${what}: ${count} people asked for, only ${people.length} are eligible`);
  const chosen = new Set(shuffled(people, new Generator(PEOPLE_SUBSET_SEED)).slice(0, count));
  return people.filter((p) => chosen.has(p));
}
