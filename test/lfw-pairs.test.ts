/**
 * LFW pairs and people files: the real View 1 files, View 2 formats, malformed files.
 * Oracle: the counts in LFW's README, round trips through writePairs, the expected error messages.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { imagePath, parsePairs, parsePeople, writePairs } from '../src/data/lfw-pairs.js';

// CI copies shared/ beside the repo: <repo>/../shared. No guard: a missing file is a failure.
const DATA = resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/data/lfw-devtrain');
function readData(file: string): string {
  const path = join(DATA, file);
  if (!existsSync(path)) throw new Error(`LFW data file missing: ${path} (expected shared/ beside the repo)`);
  return readFileSync(path, 'utf8');
}

describe('real LFW View 1 files', () => {
  it('pairsDevTrain.txt: 1100 same + 1100 different, round trip', () => {
    const text = readData('pairsDevTrain.txt');
    const f = parsePairs(text, 'pairsDevTrain.txt');
    expect(f.view).toBe(1);
    expect(f.perFold).toBe(1100);
    expect(f.pairs.length).toBe(2200);
    expect(f.pairs.filter((p) => p.same).length).toBe(1100);
    expect(f.pairs.slice(0, 1100).every((p) => p.same && p.a.name === p.b.name && p.fold === -1)).toBe(true);
    expect(f.pairs.slice(1100).every((p) => !p.same && p.a.name !== p.b.name)).toBe(true);
    expect(f.pairs[0]).toEqual({
      a: { name: 'Aaron_Peirsol', index: 1 },
      b: { name: 'Aaron_Peirsol', index: 2 },
      same: true,
      fold: -1,
    });
    expect(f.pairs[1100]).toEqual({
      a: { name: 'AJ_Cook', index: 1 },
      b: { name: 'Marsha_Thomason', index: 1 },
      same: false,
      fold: -1,
    });
    expect(writePairs(f.pairs)).toBe(text);
  });

  it('peopleDevTrain.txt: 4038 people, consistent with the pairs and the images', () => {
    const f = parsePeople(readData('peopleDevTrain.txt'), 'peopleDevTrain.txt');
    expect(f.view).toBe(1);
    expect(f.people.length).toBe(4038);
    expect(f.people.reduce((s, p) => s + p.count, 0)).toBe(9525);
    const count = new Map(f.people.map((p) => [p.name, p.count]));
    const pairs = parsePairs(readData('pairsDevTrain.txt'), 'pairsDevTrain.txt').pairs;
    for (const p of pairs)
      for (const r of [p.a, p.b]) expect(r.index).toBeLessThanOrEqual(count.get(r.name)!);
    expect(existsSync(join(DATA, 'images', imagePath(pairs[0].a.name, pairs[0].a.index)))).toBe(true);
  });
});

describe('View 2 formats', () => {
  const pairsV2 = ['2\t1', 'A\t1\t2', 'A\t1\tB\t3', 'C\t2\t5', 'C\t4\tD\t1', ''].join('\n');
  it('pairs: folds from the file, round trip', () => {
    const f = parsePairs(pairsV2, 'p2');
    expect(f).toMatchObject({ view: 2, folds: 2, perFold: 1 });
    expect(f.pairs.map((p) => [p.same, p.fold])).toEqual([
      [true, 0],
      [false, 0],
      [true, 1],
      [false, 1],
    ]);
    expect(writePairs(f.pairs, 2)).toBe(pairsV2);
    // View 1 text out of View 2 pairs: all same first
    expect(parsePairs(writePairs(f.pairs), 'x').pairs.map((p) => p.a.name)).toEqual(['A', 'C', 'A', 'C']);
  });
  it('people: fold blocks', () => {
    const f = parsePeople('2\n2\nA\t3\nB\t1\n1\r\nC\t7\r\n', 'ppl');
    expect(f.view).toBe(2);
    expect(f.people).toEqual([
      { name: 'A', count: 3, fold: 0 },
      { name: 'B', count: 1, fold: 0 },
      { name: 'C', count: 7, fold: 1 },
    ]);
  });
  it('writePairs rejects unbalanced folds', () => {
    const f = parsePairs(pairsV2, 'p2');
    expect(() => writePairs(f.pairs.slice(0, 3), 2)).toThrow(/fold 1 has 1 same and 0 different/);
    expect(() => writePairs(f.pairs.slice(0, 3))).toThrow(/as many same as different/);
  });
});

describe('imagePath', () => {
  it('pads to 4 digits', () => {
    expect(imagePath('George_W_Bush', 10)).toBe('George_W_Bush/George_W_Bush_0010.jpg');
    expect(() => imagePath('X', 0)).toThrow();
  });
});

describe('malformed files: errors name source, line and the fault', () => {
  const bad = (text: string, re: RegExp, people = false) =>
    expect(() => (people ? parsePeople : parsePairs)(text, 'bad.txt')).toThrow(re);
  it('pairs', () => {
    bad(
      '2\nA\t1\t2\nB\t1\t2\nA\t1\tB\t2\n',
      /^bad\.txt:4: header \(line 1\) announces 4 pair lines.*file has 3/,
    );
    bad('1\nA\t1\t2\nA\t1\tB\t2\nC\t1\t2\n', /^bad\.txt:4: extra line/);
    bad('1\nA\t1\t2\t3\nA\t1\tB\t2\n', /^bad\.txt:2: same-person pair.*expected 3 fields, got 4/);
    bad('1\nA\t1\t2\nA\t1\tB\n', /^bad\.txt:3: different-person pair.*expected 4 fields, got 3/);
    bad('1\nA\tx\t2\nA\t1\tB\t2\n', /^bad\.txt:2: image index "x" \(field 2\) is not an integer/);
    bad('1\nA\t1\t2.5\nA\t1\tB\t2\n', /^bad\.txt:2: image index "2\.5" \(field 3\) is not an integer/);
    bad('1\nA\t1\t2\nA\t1\tB\t0\n', /^bad\.txt:3: image index 0 \(field 4\) is < 1/);
    bad('1\nA\t1\t2\nA\t1\tA\t2\n', /^bad\.txt:3: different-person pair names one person twice/);
    bad('1\nA\t1\t2\n\nA\t1\tB\t2\n', /^bad\.txt:3: empty line/);
    bad('1\t2\t3\n', /^bad\.txt:1: header/);
    bad('n\n', /^bad\.txt:1: pair count N "n"/);
    bad('', /^bad\.txt: empty pairs file/);
    bad(
      '2\t1\nA\t1\t2\nA\t1\tB\t2\nC\t1\tD\t2\nC\t1\tD\t2\n',
      /^bad\.txt:4: same-person pair.*expected 3 fields, got 4/,
    );
  });
  it('people', () => {
    bad('2\nA\t1\n', /^bad\.txt:2: header \(line 1\) announces 2 people, file has 1/, true);
    bad('1\nA\t1\nB\t2\n', /^bad\.txt:3: extra line/, true);
    bad('1\nA\t1\t2\n', /^bad\.txt:2: person.*expected 2 fields, got 3/, true);
    bad('1\nA\tmany\n', /^bad\.txt:2: image count "many"/, true);
    bad('1\nA\t0\n', /^bad\.txt:2: image count 0 \(field 2\) is < 1/, true);
    bad(
      '2\n1\nA\t1\n2\nB\t1\n1\nC\t1\n',
      /^bad\.txt:6: fold 2 \(line 4\) announces 2 people, found 1 before this count line/,
      true,
    );
    bad('2\n1\nA\t1\n', /^bad\.txt:3: header \(line 1\) announces 2 folds, file ends after 1/, true);
    bad('1\n1\nA\t1\nB\t1\n', /^bad\.txt:4: extra line: header \(line 1\) announces 1 folds/, true);
  });
  it('an image number above 9999 names the file and the line (issue 14, defect 7)', () => {
    bad(
      '1\nA\t1\t10000\nA\t1\tB\t2\n',
      /^bad\.txt:2: image index 10000 \(field 3\) is > 9999 \(image file names have 4 digits/,
    );
    bad('1\nA\t1\t2\nA\t12345\tB\t2\n', /^bad\.txt:3: image index 12345 \(field 2\) is > 9999/);
    bad('1\nA\t10000\n', /^bad\.txt:2: image count 10000 \(field 2\) is > 9999/, true);
  });
  it('a person name that would leave the data folder names the file and the line (issue 14, defect 9)', () => {
    bad(
      '1\n../../etc\t2\n',
      /^bad\.txt:2: person name "\.\.\/\.\.\/etc" holds a path separator .*\(field 1\)/,
      true,
    );
    bad('2\nA\t1\n..\t1\n', /^bad\.txt:3: person name "\.\." is not a folder name/, true);
    bad('1\n/etc\t1\n', /^bad\.txt:2: person name "\/etc" holds a path separator/, true);
    bad(
      '1\nA\t1\t2\nA\t1\t..\\..\\x\t2\n',
      /^bad\.txt:3: person name "\.\.\\\.\.\\x" holds a path separator .*\(field 3\)/,
    );
    bad('1\n..\t1\t2\nA\t1\tB\t2\n', /^bad\.txt:2: person name "\.\." is not a folder name \(field 1\)/);
    // Names with dots inside are names: J.C._Chasez
    expect(parsePeople('1\nJ.C._Chasez\t1\n', 'ok.txt').people[0].name).toBe('J.C._Chasez');
    // imagePath refuses them too, for callers that build names themselves.
    expect(() => imagePath('../x', 1)).toThrow(/imagePath: person name "\.\.\/x" holds a path separator/);
    expect(() => imagePath('x', 1, '../png')).toThrow(/extension/);
  });
});
