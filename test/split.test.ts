/**
 * The validation split by people, verification pairs, and the epoch sampler.
 * Oracle: the properties they promise (disjoint, stratified, balanced folds, reproducible) and round trips.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSplit, type SplitOptions } from '../src/data/split-files.js';
import { parsePairs, parsePeople, type LfwPerson } from '../src/data/lfw-pairs.js';
import { makePairs, splitPeople, writePeople } from '../src/data/split.js';
import { writePairs } from '../src/data/lfw-pairs.js';
import { EpochSampler } from '../src/train/sampler.js';

/** 200 people: every third with 1 image, the others with 2..9. */
const people: LfwPerson[] = Array.from({ length: 200 }, (_, i) => ({
  name: `P${i}`,
  count: i % 3 === 0 ? 1 : 2 + (i % 8),
  fold: -1,
}));

describe('splitPeople', () => {
  it('holds out disjoint people, stratified by >= 2 images, reproducibly', () => {
    const s = splitPeople(people, 0.2, 7);
    const train = new Set(s.train.map((p) => p.name)),
      val = new Set(s.val.map((p) => p.name));
    expect(train.size + val.size).toBe(200);
    for (const n of val) expect(train.has(n)).toBe(false);
    const multi = people.filter((p) => p.count >= 2).length,
      single = 200 - multi;
    expect(s.val.filter((p) => p.count >= 2).length).toBe(Math.round(multi * 0.2));
    expect(s.val.filter((p) => p.count < 2).length).toBe(Math.round(single * 0.2));
    expect(splitPeople(people, 0.2, 7)).toEqual(s);
    expect(splitPeople(people, 0.2, 8).val).not.toEqual(s.val);
    // file order is kept
    expect(s.val.map((p) => Number(p.name.slice(1)))).toEqual(
      [...s.val.map((p) => Number(p.name.slice(1)))].sort((a, b) => a - b),
    );
  });

  it('rejects bad fractions and duplicate people', () => {
    expect(() => splitPeople(people, 0, 1)).toThrow(/valFraction/);
    expect(() => splitPeople([...people, people[4]], 0.2, 1)).toThrow(/P4 is listed twice/);
  });
});

describe('makePairs', () => {
  it('gives person-disjoint folds of distinct, valid same and different pairs, in LFW View 2 form', () => {
    const pairs = makePairs(people, { perFold: 12, seed: 3 });
    expect(pairs.length).toBe(10 * 24);
    const count = new Map(people.map((p) => [p.name, p.count]));
    const foldOf = new Map<string, number>();
    const keys = new Set<string>();
    for (const p of pairs) {
      for (const r of [p.a, p.b]) {
        expect(r.index).toBeGreaterThanOrEqual(1);
        expect(r.index).toBeLessThanOrEqual(count.get(r.name)!);
        if (foldOf.has(r.name)) expect(foldOf.get(r.name)).toBe(p.fold); // a person lives in one fold
        foldOf.set(r.name, p.fold);
      }
      expect(p.same).toBe(p.a.name === p.b.name);
      if (p.same) expect(p.a.index).not.toBe(p.b.index);
      const k = [`${p.a.name}/${p.a.index}`, `${p.b.name}/${p.b.index}`].sort().join('|');
      expect(keys.has(k)).toBe(false);
      keys.add(k);
    }
    for (let f = 0; f < 10; f++) {
      expect(pairs.filter((p) => p.fold === f && p.same).length).toBe(12);
      expect(pairs.filter((p) => p.fold === f && !p.same).length).toBe(12);
    }
    const parsed = parsePairs(writePairs(pairs, 10), 'pairs');
    expect(parsed.view).toBe(2);
    expect(parsed.pairs).toEqual(pairs);
  });

  it('says which fold is short of same-person pairs', () => {
    expect(() => makePairs(people.slice(0, 30), { perFold: 50, seed: 1 })).toThrow(
      /fold \d+ has \d+ people with >= 2 images and \d+ distinct same-person pairs, 50 needed/,
    );
  });

  it('writes people files that parse back', () => {
    expect(parsePeople(writePeople(people.slice(0, 5)), 'people').people).toEqual(people.slice(0, 5));
  });
});

describe('EpochSampler', () => {
  const rows = Int32Array.from({ length: 23 }, (_, i) => 100 + i);

  it('visits each row at most once per epoch in full batches, a new order each epoch', () => {
    const s = new EpochSampler(rows, 5, 9);
    expect(s.batchesPerEpoch).toBe(4);
    const epochs: number[][] = [[], []];
    for (let e = 0; e < 2; e++) for (let b = 0; b < 4; b++) epochs[e].push(...s.next());
    for (const seen of epochs) {
      expect(seen.length).toBe(20);
      expect(new Set(seen).size).toBe(20);
      for (const r of seen) expect(rows.includes(r)).toBe(true);
    }
    expect(epochs[0]).not.toEqual(epochs[1]);
    expect(s.epochsDone).toBe(2);
  });

  it('resumes from its state with the same batches', () => {
    const a = new EpochSampler(rows, 5, 9);
    for (let i = 0; i < 6; i++) a.next();
    const state = a.getState();
    const rest = Array.from({ length: 7 }, () => Array.from(a.next()));
    const b = new EpochSampler(rows, 5, 9);
    b.setState(state);
    expect(Array.from({ length: 7 }, () => Array.from(b.next()))).toEqual(rest);
    expect(() => b.setState({ epoch: 0, cursor: 9 })).toThrow(/bad state/);
    expect(() => new EpochSampler(rows, 30, 1)).toThrow(/fewer than one batch/);
  });
});

describe('writeSplit', () => {
  it('a dataset too small for 10 folds: the error says what to change (issue 14, defect 7)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'synface-split-'));
    try {
      writeFileSync(join(dir, 'people.txt'), writePeople(people.slice(0, 20)));
      const split = (extra: Partial<SplitOptions>) => () =>
        writeSplit({
          data: dir,
          people: 'people.txt',
          out: join(dir, 'out'),
          valFraction: 0.15,
          seed: 0,
          ...extra,
        });
      // 3 validation people for 10 folds: some fold has none with >= 2 images
      expect(split({})).toThrow(
        /^makePairs: fold \d+ has .*\. The split holds out 3 of the 20 people of .*people\.txt \(--val-fraction 0\.15; \d+ of them with >= 2 images\), too few for 10 person-disjoint folds .*--per-fold.*--val-fraction.*more people/,
      );
      expect(split({ perFold: 5, valFraction: 0.9 })).toThrow(
        /folds of 5 same-person and 5 different-person pairs/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
