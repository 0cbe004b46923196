/**
 * A small world for the generator's evaluation and generate tests: 17 images of 4 people of the
 * embedded sample in a temporary LFW-layout folder (2 training people, 2 held out by the split,
 * with a View 1 val-pairs.txt), their factors file made by analyze (tiny landmark network), and
 * an untrained tiny64 generator (expression size and factor standardization of this data) saved
 * as weights. About 5 s on lavapipe, most of it analyze.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeDataset } from '../src/face/analyze-dataset.js';
import { decodeFactors } from '../src/face/factors-file.js';
import { generatorReference } from '../src/eval/generator-samples.js';
import {
  FaceGenerator,
  GENERATOR_PRESETS,
  fitFactorNorm,
  serializeGenerator,
} from '../src/models/generator/index.js';
import { Generator } from '../src/tensor/random.js';
import { copySampleFolder } from './sample-folder.js';

const TRAIN: [string, number][] = [
  ['Antonio_Banderas', 5],
  ['Arnold_Schwarzenegger', 4],
];
const HELD_OUT: [string, number][] = [
  ['Ana_Guevara', 4],
  ['Bill_Clinton', 4],
];

export interface GeneratorWorld {
  root: string;
  data: string;
  people: string;
  split: string;
  factors: string;
  weights: string;
  cacheDir: string;
}

export async function makeGeneratorWorld(prefix: string): Promise<GeneratorWorld> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const data = join(root, 'data');
  const all = [...TRAIN, ...HELD_OUT];
  copySampleFolder(data, all);
  const split = join(root, 'split');
  mkdirSync(split);
  writeFileSync(
    join(split, 'val-people.txt'),
    `${HELD_OUT.length}\n${HELD_OUT.map((p) => p.join('\t')).join('\n')}\n`,
  );
  writeFileSync(
    join(split, 'val-pairs.txt'),
    '2\nAna_Guevara\t1\t2\nBill_Clinton\t1\t3\nAna_Guevara\t1\tBill_Clinton\t2\nAna_Guevara\t3\tBill_Clinton\t4\n',
  );
  const cacheDir = join(root, 'cache');
  const factors = join(root, 'factors.safetensors');
  await analyzeDataset({
    data,
    people: 'people.txt',
    out: factors,
    landmarks: 'tiny',
    batch: 8,
    cache: { cacheDir },
  });
  const table = decodeFactors(readFileSync(factors), factors);
  const ref = generatorReference(table, new Set(HELD_OUT.map((p) => p[0])), factors);
  const G = new FaceGenerator(
    {
      ...GENERATOR_PRESETS.tiny64,
      expDim: table.expression!.model.variances.length,
      norm: fitFactorNorm(ref.train),
    },
    new Generator(3),
  );
  const weights = join(root, 'generator.safetensors');
  writeFileSync(weights, await serializeGenerator(G, { note: 'untrained, for tests' }));
  G.dispose();
  return { root, data, people: 'people.txt', split, factors, weights, cacheDir };
}
