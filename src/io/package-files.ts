/**
 * Where the package's own files are at run time (Node only): the shipped recognizer and
 * generator (weights/) and the embedded sample (data/lfw-sample).
 *
 * The same code runs from the repository (src/*.ts through tsx) and from an installed package
 * (node_modules/synface-gpu/dist/src/*.js), at different depths below the package root; so the
 * root is found by walking up from this module to the package.json named synface-gpu, never
 * from the current directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'synface-gpu';
let root: string | undefined;

/** The folder holding synface-gpu's package.json (the repository, or node_modules/synface-gpu). */
export function packageRoot(): string {
  if (root) return root;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === PACKAGE_NAME)
      return (root = dir);
    if (dirname(dir) === dir)
      throw new Error(`no package.json named ${PACKAGE_NAME} in ${start} or any folder above it`);
  }
}

/** The recognizer trained by this code and shipped with it (see weights/*.manifest.json). */
export const shippedRecognizerPath = (): string =>
  join(packageRoot(), 'weights', 'recognizer-small.safetensors');

/** The face generator trained by this code and shipped with it (absent until one is shipped). */
export const shippedGeneratorPath = (): string => join(packageRoot(), 'weights', 'generator.safetensors');

/** The embedded real sample: pre-aligned LFW faces, people and pairs files (see its README). */
export const embeddedSamplePath = (): string => join(packageRoot(), 'data', 'lfw-sample');
