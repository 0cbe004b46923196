/**
 * Builds the embedded real sample, data/lfw-sample/: a few MB of pre-aligned LFW faces that
 * ship with the repository, so the main job and the tests run on a machine without the data.
 *
 *   npx tsx tools/make-sample.ts --split weights/split [--data ../shared/data/lfw-devtrain]
 *
 * From the split the shipped recognizer was trained with, it takes
 *   - held-out people (validation people, never seen by the shipped weights) with >= 3 images,
 *     up to 6 images each, and writes verification pairs among them in 10 person-disjoint
 *     folds (val-pairs.txt): the shipped weights are evaluated on these;
 *   - training people with >= 5 images, up to 8 each (train-people.txt): a short training run
 *     of the main job learns from these.
 * Images are the small preset's alignment (112x112 centre crop resized to 64x64), stored as
 * PNG in the LFW layout (images/<Name>/<Name>_NNNN.png), with dataset.json saying so.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJpeg } from '../src/data/jpeg.js';
import { imagePath, parsePeople, writePairs, type LfwPerson } from '../src/data/lfw-pairs.js';
import { toUint8CHW } from '../src/data/preprocess.js';
import { makePairs, shuffled, writePeople } from '../src/data/split.js';
import { encodePng } from '../src/plot/png-node.js';
import { Generator } from '../src/tensor/random.js';
import { RECOGNIZER_PRESETS } from '../src/train/presets.js';
import { parseArgs } from './args.js';

const o = parseArgs('make-sample', process.argv.slice(2), {
  split: {
    type: 'string',
    help: 'split folder (train-people.txt, val-people.txt)',
    default: 'weights/split',
  },
  data: { type: 'string', help: 'LFW folder', default: '../shared/data/lfw-devtrain' },
  out: { type: 'string', help: 'output folder', default: 'data/lfw-sample' },
  'val-people': { type: 'number', help: 'held-out people', default: 40 },
  'train-people': { type: 'number', help: 'training people', default: 24 },
  seed: { type: 'number', help: 'seed', default: 0 },
});
const split = String(o.split),
  data = String(o.data),
  out = String(o.out);
const preprocess = RECOGNIZER_PRESETS.small.preprocess;
const read = (f: string) => parsePeople(readFileSync(join(split, f), 'utf8'), join(split, f)).people;
const gen = new Generator(Number(o.seed));
const pick = (people: LfwPerson[], min: number, max: number, n: number) =>
  shuffled(
    people.filter((p) => p.count >= min),
    gen,
  )
    .slice(0, n)
    .map((p) => ({ ...p, count: Math.min(p.count, max) }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
const val = pick(read('val-people.txt'), 3, 6, Number(o['val-people']));
const train = pick(read('train-people.txt'), 5, 8, Number(o['train-people']));

rmSync(out, { recursive: true, force: true });
let bytes = 0,
  images = 0;
for (const p of [...val, ...train]) {
  mkdirSync(join(out, 'images', p.name), { recursive: true });
  for (let i = 1; i <= p.count; i++) {
    const src = join(data, 'images', imagePath(p.name, i));
    const [H, W] = preprocess.out;
    const chw = toUint8CHW(decodeJpeg(readFileSync(src), src), {
      crop: preprocess.crop,
      out: preprocess.out,
      channels: 3,
    });
    const rgba = new Uint8Array(H * W * 4);
    for (let k = 0; k < H * W; k++) {
      for (let c = 0; c < 3; c++) rgba[4 * k + c] = chw[c * H * W + k];
      rgba[4 * k + 3] = 255;
    }
    const png = encodePng({ width: W, height: H, rgba });
    writeFileSync(join(out, 'images', imagePath(p.name, i, 'png')), png);
    bytes += png.length;
    images++;
  }
}
const all = [...val, ...train].sort((a, b) => (a.name < b.name ? -1 : 1));
writeFileSync(join(out, 'people.txt'), writePeople(all));
writeFileSync(join(out, 'train-people.txt'), writePeople(train));
writeFileSync(join(out, 'val-people.txt'), writePeople(val));
writeFileSync(
  join(out, 'val-pairs.txt'),
  writePairs(makePairs(val, { perFold: 10, seed: Number(o.seed) + 1 }), 10),
);
writeFileSync(
  join(out, 'dataset.json'),
  JSON.stringify(
    { extension: 'png', aligned: preprocess, source: `${data} (LFW deep-funneled), split ${split}` },
    null,
    2,
  ) + '\n',
);
console.log(
  `sample: ${images} images (${(bytes / 1e6).toFixed(2)} MB of PNG) of ${val.length} held-out and ${train.length} training people -> ${out}`,
);
