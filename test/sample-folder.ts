/**
 * A small LFW-layout data folder made of the embedded sample's images (data/lfw-sample), for
 * the tests that analyze or train on real faces: images/<name>/<name>_000i.png for i = 1..n,
 * the sample's dataset.json, and a people.txt listing `people` (Node only).
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Copies the first n images of each [name, n] of `people` into the folder `data`. */
export function copySampleFolder(data: string, people: readonly [string, number][]): void {
  for (const [name, n] of people) {
    mkdirSync(join(data, 'images', name), { recursive: true });
    for (let i = 1; i <= n; i++) {
      const f = `${name}_${String(i).padStart(4, '0')}.png`;
      copyFileSync(join('data/lfw-sample/images', name, f), join(data, 'images', name, f));
    }
  }
  copyFileSync('data/lfw-sample/dataset.json', join(data, 'dataset.json'));
  writeFileSync(
    join(data, 'people.txt'),
    `${people.length}\n${people.map((p) => p.join('\t')).join('\n')}\n`,
  );
}
