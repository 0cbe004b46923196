/**
 * LFW protocol files (see LFW_README.txt, sections 3b-3d): pairs and people lists.
 *
 *   pairs, View 1 (pairsDevTrain.txt, pairsDevTest.txt):
 *     N
 *     Name    i    j              x N   same person, images i and j (1-based)
 *     NameA   i    NameB   j      x N   different people
 *   pairs, View 2 (pairs.txt):
 *     S    N                            S folds ("sets") of N same + N different lines each
 *     (N same lines, N different lines) x S
 *   people, View 1 (peopleDevTrain.txt): N, then N lines `Name  count`
 *   people, View 2 (people.txt): S, then S blocks of (N, then N lines `Name  count`)
 *
 * Fields are separated by tabs in the official files; runs of tabs or spaces are accepted.
 * A trailing empty line (and CRLF line ends) are accepted; any other empty line is an error.
 * Every error names the source, the 1-based line number and what is wrong. A person's name must
 * be one folder name (no path separator, not `.` or `..`: the images are read from `<root>/<name>/`),
 * and image numbers are at most 9999 (the file names' 4 digits).
 *
 * This file imports nothing from Node: text in, text out. Reading the file is the caller's job.
 */

/** One image of the dataset: `${name}/${name}_${index padded to 4}.jpg`. */
export interface LfwImageRef {
  name: string;
  /** 1-based image number. */
  index: number;
}

export interface LfwPair {
  a: LfwImageRef;
  b: LfwImageRef;
  same: boolean;
  /** 0-based fold from a View 2 file; -1 in a View 1 file (assign folds later, e.g. balancedFolds). */
  fold: number;
}

export interface LfwPairsFile {
  view: 1 | 2;
  /** Number of folds: S for View 2, 1 for View 1 (one block, fold ids -1). */
  folds: number;
  /** Same-person pairs per fold (= different-person pairs per fold). */
  perFold: number;
  /** In file order. */
  pairs: LfwPair[];
}

export interface LfwPerson {
  name: string;
  /** Number of images of this person. */
  count: number;
  /** 0-based fold from a View 2 people.txt; -1 in a View 1 file. */
  fold: number;
}

export interface LfwPeopleFile {
  view: 1 | 2;
  folds: number;
  people: LfwPerson[];
}

/** LFW's file names give an image's number in 4 digits: `Name_0001.jpg` .. `Name_9999.jpg`. */
export const MAX_IMAGE_INDEX = 9999;

/**
 * Why `name` cannot be a person's folder, or undefined when it can: one plain path segment, so
 * that `<root>/<name>/...` never leaves the data folder (`../../etc` would).
 */
export function personNameProblem(name: string): string | undefined {
  if (name === '' || name === '.' || name === '..') return `person name "${name}" is not a folder name`;
  if (/[/\\]/.test(name))
    return `person name "${name}" holds a path separator (a name is one folder, inside the data folder)`;
  if (/[\x00-\x1f]/.test(name)) return `person name ${JSON.stringify(name)} holds a control character`;
  return undefined;
}

/**
 * The image's path relative to the dataset's root: `Name/Name_0007.jpg` (or another extension).
 * The name must be one folder name (personNameProblem), so the path stays inside the root.
 */
export function imagePath(name: string, index: number, extension = 'jpg'): string {
  const problem = personNameProblem(name);
  if (problem) throw new Error(`imagePath: ${problem}`);
  if (!/^[a-z0-9]+$/i.test(extension))
    throw new Error(`imagePath: extension "${extension}" is not letters and digits`);
  if (!Number.isInteger(index) || index < 1 || index > MAX_IMAGE_INDEX)
    throw new Error(`imagePath: index ${index} of ${name} is not an integer in 1..${MAX_IMAGE_INDEX}`);
  return `${name}/${name}_${String(index).padStart(4, '0')}.${extension}`;
}

// ---------------------------------------------------------------- lines and fields

interface Line {
  no: number; // 1-based
  fields: string[];
}

/** Non-empty lines with their numbers; an empty line is allowed only at the end of the text. */
function splitLines(text: string, source: string): Line[] {
  const raw = text.split('\n');
  const lines: Line[] = [];
  let lastNonEmpty = -1;
  for (let i = 0; i < raw.length; i++) if (raw[i].trim() !== '') lastNonEmpty = i;
  for (let i = 0; i <= lastNonEmpty; i++) {
    const s = raw[i].replace(/\r$/, '').trim();
    if (s === '') throw new Error(`${source}:${i + 1}: empty line`);
    lines.push({ no: i + 1, fields: s.split(/[\t ]+/) });
  }
  return lines;
}

function fail(source: string, line: Line | number, what: string): never {
  const no = typeof line === 'number' ? line : line.no;
  throw new Error(`${source}:${no}: ${what}`);
}

/** A decimal integer (optional sign), checked to be >= min (and <= max, saying `why`). */
function int(
  source: string,
  line: Line,
  k: number,
  what: string,
  min: number,
  max?: { value: number; why: string },
): number {
  const s = line.fields[k];
  if (!/^[+-]?\d+$/.test(s)) fail(source, line, `${what} "${s}" (field ${k + 1}) is not an integer`);
  const v = Number(s);
  if (!Number.isSafeInteger(v)) fail(source, line, `${what} "${s}" (field ${k + 1}) is too large`);
  if (v < min) fail(source, line, `${what} ${v} (field ${k + 1}) is < ${min}`);
  if (max && v > max.value)
    fail(source, line, `${what} ${v} (field ${k + 1}) is > ${max.value} (${max.why})`);
  return v;
}

/** Image numbers and counts are at most MAX_IMAGE_INDEX: the file names have 4 digits. */
const INDEX_MAX = { value: MAX_IMAGE_INDEX, why: 'image file names have 4 digits, Name_0001 .. Name_9999' };

/** Field k as a person's name: one folder name (personNameProblem). */
function personName(source: string, line: Line, k: number): string {
  const name = line.fields[k];
  const problem = personNameProblem(name);
  if (problem) fail(source, line, `${problem} (field ${k + 1})`);
  return name;
}

function fieldCount(source: string, line: Line, want: number, what: string): void {
  if (line.fields.length !== want)
    fail(source, line, `${what}: expected ${want} fields, got ${line.fields.length}`);
}

// ---------------------------------------------------------------- pairs

function parsePairLine(source: string, line: Line, same: boolean, fold: number): LfwPair {
  if (same) {
    fieldCount(source, line, 3, 'same-person pair `Name i j`');
    const name = personName(source, line, 0);
    const i = int(source, line, 1, 'image index', 1, INDEX_MAX);
    const j = int(source, line, 2, 'image index', 1, INDEX_MAX);
    if (i === j) fail(source, line, `same-person pair names one image twice (${name} ${i})`);
    return { a: { name, index: i }, b: { name, index: j }, same, fold };
  }
  fieldCount(source, line, 4, 'different-person pair `NameA i NameB j`');
  const nameA = personName(source, line, 0);
  const nameB = personName(source, line, 2);
  const i = int(source, line, 1, 'image index', 1, INDEX_MAX);
  const j = int(source, line, 3, 'image index', 1, INDEX_MAX);
  if (nameA === nameB) fail(source, line, `different-person pair names one person twice (${nameA})`);
  return { a: { name: nameA, index: i }, b: { name: nameB, index: j }, same, fold };
}

/** Parses a View 1 or View 2 pairs file (told apart by the header's field count). */
export function parsePairs(text: string, source: string): LfwPairsFile {
  const lines = splitLines(text, source);
  if (lines.length === 0) throw new Error(`${source}: empty pairs file`);
  const head = lines[0];
  let view: 1 | 2, folds: number, perFold: number;
  if (head.fields.length === 1) {
    view = 1;
    folds = 1;
    perFold = int(source, head, 0, 'pair count N', 1);
  } else if (head.fields.length === 2) {
    view = 2;
    folds = int(source, head, 0, 'fold count', 1);
    perFold = int(source, head, 1, 'pairs per fold N', 1);
  } else {
    fail(
      source,
      head,
      `header: expected "N" (View 1) or "folds N" (View 2), got ${head.fields.length} fields`,
    );
  }
  const want = folds * 2 * perFold;
  const body = lines.length - 1;
  if (body < want)
    fail(
      source,
      lines[lines.length - 1],
      `header (line ${head.no}) announces ${want} pair lines (${folds} x (${perFold} same + ${perFold} different)), file has ${body}`,
    );
  if (body > want)
    fail(source, lines[want + 1], `extra line: header (line ${head.no}) announces ${want} pair lines`);
  const pairs: LfwPair[] = [];
  for (let k = 0; k < want; k++) {
    const f = Math.floor(k / (2 * perFold));
    const same = k % (2 * perFold) < perFold;
    pairs.push(parsePairLine(source, lines[k + 1], same, view === 1 ? -1 : f));
  }
  return { view, folds, perFold, pairs };
}

/**
 * Serializes pairs in the LFW format (tab-separated, trailing newline).
 *   folds undefined: View 1: `N`, then the same pairs in order, then the different pairs.
 *                    pair.fold is ignored.
 *   folds = S:       View 2: `S<TAB>N`, then per fold 0..S-1 its same then its different pairs,
 *                    each in order. Every fold must hold N same and N different pairs.
 */
export function writePairs(pairs: readonly LfwPair[], folds?: number): string {
  const line = (p: LfwPair) =>
    p.same
      ? `${p.a.name}\t${p.a.index}\t${p.b.index}`
      : `${p.a.name}\t${p.a.index}\t${p.b.name}\t${p.b.index}`;
  for (const p of pairs) {
    if (p.same && p.a.name !== p.b.name)
      throw new Error(`writePairs: same-person pair names two people (${p.a.name}, ${p.b.name})`);
    for (const r of [p.a, p.b])
      if (!Number.isInteger(r.index) || r.index < 1)
        throw new Error(`writePairs: image index ${r.index} of ${r.name} is not an integer >= 1`);
    for (const r of [p.a, p.b])
      if (!/^\S+$/.test(r.name))
        throw new Error(`writePairs: name "${r.name}" is empty or holds white space`);
  }
  if (folds === undefined) {
    const same = pairs.filter((p) => p.same);
    const diff = pairs.filter((p) => !p.same);
    if (same.length !== diff.length)
      throw new Error(
        `writePairs: View 1 needs as many same as different pairs, got ${same.length} and ${diff.length}`,
      );
    return [String(same.length), ...same.map(line), ...diff.map(line)].join('\n') + '\n';
  }
  if (!Number.isInteger(folds) || folds < 1)
    throw new Error(`writePairs: folds ${folds} is not an integer >= 1`);
  const same: LfwPair[][] = Array.from({ length: folds }, () => []);
  const diff: LfwPair[][] = Array.from({ length: folds }, () => []);
  for (const p of pairs) {
    if (!Number.isInteger(p.fold) || p.fold < 0 || p.fold >= folds)
      throw new Error(`writePairs: pair fold ${p.fold} is not in 0..${folds - 1}`);
    (p.same ? same : diff)[p.fold].push(p);
  }
  const n = same[0].length;
  for (let f = 0; f < folds; f++) {
    if (same[f].length !== n || diff[f].length !== n)
      throw new Error(
        `writePairs: fold ${f} has ${same[f].length} same and ${diff[f].length} different pairs, fold 0 has ${n} same`,
      );
  }
  const out = [`${folds}\t${n}`];
  for (let f = 0; f < folds; f++) out.push(...same[f].map(line), ...diff[f].map(line));
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------- people

function parsePersonLine(source: string, line: Line, fold: number): LfwPerson {
  fieldCount(source, line, 2, 'person `Name count`');
  return {
    name: personName(source, line, 0),
    count: int(source, line, 1, 'image count', 1, INDEX_MAX),
    fold,
  };
}

/**
 * Parses a people file. View 1: `N` then N person lines. View 2: `S` then S blocks of `N` and
 * N person lines. Told apart by the second line: one field (a block's count) means View 2.
 */
export function parsePeople(text: string, source: string): LfwPeopleFile {
  const lines = splitLines(text, source);
  if (lines.length === 0) throw new Error(`${source}: empty people file`);
  const head = lines[0];
  fieldCount(source, head, 1, 'header `N` (View 1) or `folds` (View 2)');
  const headValue = int(source, head, 0, 'header count', 0);
  const view2 = lines.length > 1 && lines[1].fields.length === 1;
  const people: LfwPerson[] = [];
  if (!view2) {
    const body = lines.length - 1;
    if (body < headValue)
      fail(
        source,
        lines[lines.length - 1],
        `header (line ${head.no}) announces ${headValue} people, file has ${body}`,
      );
    if (body > headValue)
      fail(
        source,
        lines[headValue + 1],
        `extra line: header (line ${head.no}) announces ${headValue} people`,
      );
    for (let k = 1; k <= headValue; k++) people.push(parsePersonLine(source, lines[k], -1));
    return { view: 1, folds: 1, people };
  }
  let k = 1;
  for (let f = 0; f < headValue; f++) {
    if (k >= lines.length)
      fail(
        source,
        lines[lines.length - 1],
        `header (line ${head.no}) announces ${headValue} folds, file ends after ${f}`,
      );
    const countLine = lines[k++];
    fieldCount(source, countLine, 1, `fold ${f + 1} count \`N\``);
    const n = int(source, countLine, 0, `fold ${f + 1} people count`, 0);
    for (let i = 0; i < n; i++) {
      if (k >= lines.length)
        fail(
          source,
          lines[lines.length - 1],
          `fold ${f + 1} (line ${countLine.no}) announces ${n} people, file ends after ${i}`,
        );
      const line = lines[k++];
      if (line.fields.length === 1)
        fail(
          source,
          line,
          `fold ${f + 1} (line ${countLine.no}) announces ${n} people, found ${i} before this count line`,
        );
      people.push(parsePersonLine(source, line, f));
    }
  }
  if (k < lines.length)
    fail(source, lines[k], `extra line: header (line ${head.no}) announces ${headValue} folds`);
  return { view: 2, folds: headValue, people };
}
