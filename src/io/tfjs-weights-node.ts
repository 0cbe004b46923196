/**
 * The Node edge of tfjs-weights.ts: reads a `<name>-weights_manifest.json` and its shards from a
 * folder, by default the `model/` folder of the installed @vladmandic/face-api package (a
 * dependency used for its weight files only: its JavaScript is never imported). Nothing is
 * downloaded: a missing package is an error saying how to install it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { decodeWeights, parseManifest } from './tfjs-weights.js';
import type { TensorData } from '../tensor/tensor-data.js';

export const FACE_API_PACKAGE = '@vladmandic/face-api';

/** The `model/` folder of the installed face-api package. */
export function faceApiModelDir(): string {
  const require = createRequire(import.meta.url);
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${FACE_API_PACKAGE}/package.json`);
  } catch {
    throw new Error(
      `the package ${FACE_API_PACKAGE} (the face-api networks' weights) is not installed: run npm install`,
    );
  }
  return join(dirname(pkgJson), 'model');
}

/** Decodes `<dir>/<name>-weights_manifest.json` and its shards (dir: face-api's model/ folder by default). */
export function loadTfjsWeights(name: string, dir = faceApiModelDir()): Record<string, TensorData> {
  const manifestPath = join(dir, `${name}-weights_manifest.json`);
  if (!existsSync(manifestPath)) throw new Error(`${manifestPath}: no such weights manifest`);
  const groups = parseManifest(readFileSync(manifestPath, 'utf8'), manifestPath);
  return decodeWeights(
    groups,
    (path) => {
      const shard = join(dir, path);
      if (!existsSync(shard)) throw new Error(`${shard}: shard file listed in ${manifestPath} is missing`);
      return new Uint8Array(readFileSync(shard));
    },
    manifestPath,
  );
}
