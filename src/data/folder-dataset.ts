/**
 * A folder-per-identity dataset description: `<identity>/<file>` paths, relative to a root,
 * with class indices. Pure: file access is injected (`exists`), so this runs in a browser too.
 *
 * Class indices: 0..K-1 in order of first appearance (for LFW: the people file's order), so a
 * people file always gives the same labels.
 */
import { imagePath, parsePeople } from './lfw-pairs.js';

export interface DatasetItem {
  identity: string;
  /** Class index, 0..classes.length-1. */
  label: number;
  /** Relative to the dataset's image root, `/`-separated: `Name/Name_0001.jpg`. */
  path: string;
}

export interface FolderDataset {
  items: DatasetItem[];
  /** classes[label] = identity. */
  classes: string[];
}

/** From relative paths `<identity>/<file>` (identity = first path segment). */
export function folderDatasetFromPaths(paths: readonly string[]): FolderDataset {
  const classIndex = new Map<string, number>();
  const classes: string[] = [];
  const items: DatasetItem[] = [];
  const seen = new Set<string>();
  for (const raw of paths) {
    const path = raw.replace(/\\/g, '/');
    const parts = path.split('/');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '' || parts[0] === '.' || parts[0] === '..') {
      throw new Error(`folder dataset: path "${raw}" is not <identity>/<file>`);
    }
    if (seen.has(path)) throw new Error(`folder dataset: path "${raw}" is listed twice`);
    seen.add(path);
    const identity = parts[0];
    let label = classIndex.get(identity);
    if (label === undefined) {
      label = classes.length;
      classIndex.set(identity, label);
      classes.push(identity);
    }
    items.push({ identity, label, path });
  }
  return { items, classes };
}

export interface LfwPeopleOptions {
  /** Keep only people with at least this many images (default 1: everyone). */
  minImages?: number;
  /** Image file extension (default 'jpg', as LFW). */
  extension?: string;
}

/**
 * From an LFW people file (View 1 or 2): every person's images 1..count, in file order. Each
 * image is checked with `exists(relativePath)`; a missing one is an error naming the file and
 * the people file's line.
 */
export function folderDatasetFromLfwPeople(
  text: string,
  source: string,
  exists: (relativePath: string) => boolean,
  options: LfwPeopleOptions = {},
): FolderDataset {
  const minImages = options.minImages ?? 1;
  const file = parsePeople(text, source);
  // parsePeople validated the layout: person lines are exactly the lines with 2 fields, in order.
  const lineNos: number[] = [];
  text.split('\n').forEach((l, i) => {
    if (l.trim().split(/[\t ]+/).length === 2) lineNos.push(i + 1);
  });
  if (lineNos.length !== file.people.length)
    throw new Error(`${source}: found ${lineNos.length} person lines, parsed ${file.people.length}`);
  const paths: string[] = [];
  file.people.forEach((p, k) => {
    if (p.count < minImages) return;
    for (let i = 1; i <= p.count; i++) {
      const rel = imagePath(p.name, i, options.extension);
      if (!exists(rel))
        throw new Error(
          `${source}:${lineNos[k]}: image ${rel} is missing (line says ${p.name} has ${p.count} images)`,
        );
      paths.push(rel);
    }
  });
  return folderDatasetFromPaths(paths);
}
