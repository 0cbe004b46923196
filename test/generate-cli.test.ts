/**
 * `synface generate` (tools/generate.ts, src/eval/generate.ts, generator-requests.ts) on an
 * untrained tiny64 generator in a 17-image world (test/generator-fixture.ts): one image and a
 * grid written at the right size, the same bytes for the same seed and other pixels for another,
 * a named identity the same person in every grid that names it, and every bad request (a factor
 * outside the training range, a wrong number of code values, an unparsable value, weights of
 * another kind or architecture, missing weights) an error naming it with no file written.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeFactors } from '../src/face/factors-file.js';
import { generatorReference } from '../src/eval/generator-samples.js';
import { shippedRecognizerPath } from '../src/io/package-files.js';
import { factorRanges } from '../src/models/generator/factor-prior.js';
import {
  FaceGenerator,
  fitFactorNorm,
  GENERATOR_PRESETS,
  serializeGenerator,
} from '../src/models/generator/index.js';
import { Generator } from '../src/tensor/random.js';
import { generateCommand } from '../tools/generate.js';
import { makeGeneratorWorld, type GeneratorWorld } from './generator-fixture.js';

let w: GeneratorWorld;
let ranges: ReturnType<typeof factorRanges>;
let expDim = 0;
beforeAll(async () => {
  w = await makeGeneratorWorld('synface-generate-');
  const table = decodeFactors(readFileSync(w.factors), w.factors);
  const ref = generatorReference(table, new Set(['Ana_Guevara', 'Bill_Clinton']), w.factors);
  ranges = factorRanges(ref.train);
  expDim = ref.expressionModel.variances.length;
}, 120_000);

const run = (out: string, ...args: string[]) =>
  generateCommand([
    '--weights',
    w.weights,
    '--factors',
    w.factors,
    '--split',
    w.split,
    '--min-distance',
    '0.05', // two training people: their prior lies between them
    '--out',
    join(w.root, out),
    ...args,
  ]);
const png = (name: string) => PNG.sync.read(readFileSync(join(w.root, name)));

describe('synface generate', () => {
  it('writes one 64x64 face, the same bytes for the same seed, other pixels for another', async () => {
    await run('a.png', '--seed', '3');
    await run('b.png', '--seed', '3');
    await run('c.png', '--seed', '4');
    const a = png('a.png');
    expect([a.width, a.height]).toEqual([64, 64]);
    expect(readFileSync(join(w.root, 'b.png'))).toEqual(readFileSync(join(w.root, 'a.png')));
    expect(readFileSync(join(w.root, 'c.png'))).not.toEqual(readFileSync(join(w.root, 'a.png')));
  }, 60_000);

  it('a grid RxC is R rows of 64 px by C columns; a named identity is the same person in every grid', async () => {
    const mid = (j: number) => (ranges.pose.min[j] + ranges.pose.max[j]) / 2;
    const fixed = ['--yaw', String(mid(0)), '--pitch', String(mid(1))];
    await run('grid.png', '--grid', '2x3', '--identity', '7', '--seed', '1', ...fixed);
    const g = png('grid.png');
    expect([g.width, g.height]).toEqual([192, 128]);
    await run('one.png', '--identity', '7', '--seed', '1', ...fixed);
    const one = png('one.png');
    // the grid's first tile is the single image: identity 7, column 0's draw, row 0's z
    let maxDiff = 0;
    for (let y = 0; y < 64; y++)
      for (let x = 0; x < 64; x++)
        for (let c = 0; c < 3; c++)
          maxDiff = Math.max(
            maxDiff,
            Math.abs(g.data[(y * 192 + x) * 4 + c] - one.data[(y * 64 + x) * 4 + c]),
          );
    expect(maxDiff).toBeLessThanOrEqual(1); // batch of 6 vs 1: rounding at most
    // the second row is another identity
    let rowDiff = 0;
    for (let y = 0; y < 64; y++)
      for (let x = 0; x < 64; x++)
        rowDiff += Math.abs(g.data[(y * 192 + x) * 4] - g.data[((y + 64) * 192 + x) * 4]);
    expect(rowDiff).toBeGreaterThan(0);
  }, 60_000);

  it('explicit codes inside the ranges are accepted', async () => {
    const mid = (r: { min: number[]; max: number[] }) =>
      r.min.map((v, j) => ((v + r.max[j]) / 2).toFixed(4)).join(',');
    expect(
      await run('codes.png', '--expression', mid(ranges.expression), '--light', mid(ranges.lighting)),
    ).toBe(0);
    expect(existsSync(join(w.root, 'codes.png'))).toBe(true);
  }, 60_000);

  it.each([
    [
      ['--yaw', '500'],
      /--yaw 500 is outside the range measured on the training data \(-?[\d.]+ \.\. -?[\d.]+ degrees\)/,
    ],
    [['--pitch', '-400'], /--pitch -400 is outside the range/],
    [['--expression', '1,2'], /--expression has 2 value\(s\); the generator takes \d+/],
    [['--light', '1,0,0,0,0,0'], /--light value 1 is 1, outside the range measured on the training data/],
    [['--light', '0.5,x'], /--light needs comma-separated numbers or 'sample', got '0.5,x'/],
    [['--yaw', 'left'], /--yaw needs a number or 'sample', got 'left'/],
    [['--grid', '2by3'], /--grid needs ROWSxCOLUMNS/],
    [['--identity', 'bob'], /--identity needs 'sample' or a whole number/],
  ])('%j is refused, nothing written', async (args, message) => {
    await expect(run('bad.png', ...args)).rejects.toThrow(message);
    expect(existsSync(join(w.root, 'bad.png'))).toBe(false);
  });

  it('weights of another kind or architecture, or missing, are named; nothing written', async () => {
    await expect(run('bad.png', '--weights', shippedRecognizerPath())).rejects.toThrow(
      /not a generator weights file/,
    );
    const G = new FaceGenerator(
      {
        ...GENERATOR_PRESETS.tiny64,
        expDim: expDim + 1,
        norm: {
          ...fitFactorNorm({
            count: 2,
            descriptor: new Float32Array(256),
            expression: new Float32Array(2 * (expDim + 1)),
            pose: new Float32Array(6),
            lighting: new Float32Array(12),
          }),
        },
      },
      new Generator(0),
    );
    const other = join(w.root, 'other.safetensors');
    writeFileSync(other, await serializeGenerator(G));
    G.dispose();
    await expect(run('bad.png', '--weights', other)).rejects.toThrow(
      new RegExp(`takes ${expDim + 1} expression components, .* has ${expDim}`),
    );
    await expect(run('bad.png', '--weights', join(w.root, 'none.safetensors'))).rejects.toThrow(
      /none.safetensors does not exist \(no generator is shipped yet/,
    );
    expect(existsSync(join(w.root, 'bad.png'))).toBe(false);
  }, 60_000);
});
