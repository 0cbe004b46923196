/**
 * `synface demo`, the main job: SynFace end to end on the embedded real sample (data/lfw-sample)
 * and the shipped generator, in a few minutes on a CPU adapter. Into `out`:
 *
 *   1. generator-grid.png   new people (rows) from the identity prior, each under expression,
 *                           pose and lighting drawn from the training measurements (columns)
 *   2. identity-mixup.png   one face whose identity moves from person B (phi 0) to A (phi 1)
 *      domain-mixup.png     that synthetic face blended with a real sample face, psi 0 .. 1
 *   3. syn/                 a small synthetic dataset with identity mixup (`synface synthesize`)
 *   4. syn-dm/, real/       two recognizers trained the same number of steps: on syn/ with
 *                           domain mixup against the sample's real training people, and on
 *                           those real people alone
 *   5. a table on the sample's 200 pairs of held-out people: both, the shipped recognizer, the
 *      shipped SynFace arms (weights/synface/, when shipped) and dlib's descriptor as reference.
 * With --generator missing (no generator shipped) steps 1-3 say so and the synthetic arm is left
 * out. Everything here is small: the numbers show the pipeline runs, not what SynFace achieves
 * at scale (that is `synface experiment`).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePng } from '../src/data/png.js';
import { parsePeople } from '../src/data/lfw-pairs.js';
import { evaluateDlib } from '../src/eval/evaluate-dlib.js';
import { evaluateRecognizer, type EvalSummary } from '../src/eval/evaluate-recognizer.js';
import { openGenerator, u8ToRgba } from '../src/eval/generate.js';
import { gridRequests, sampledGrid } from '../src/eval/generator-requests.js';
import { renderImages, syntheticRequests } from '../src/eval/generator-samples.js';
import { domainMixupStrip, identityMixupRequests } from '../src/eval/mixup-strips.js';
import { synthesizeDataset } from '../src/eval/synthesize.js';
import { tileImages } from '../src/plot/histogram.js';
import { writePng } from '../src/plot/png-node.js';
import { trainRecognizer } from '../src/train/recognizer-run.js';
import type { Progress } from '../src/train/runner.js';

export interface SynfaceDemoOptions {
  sample: string;
  /** The shipped recognizer. */
  recognizer: string;
  /** The shipped generator and the factors file it was trained on. */
  generator: string;
  factors: string;
  /** Folder of the shipped SynFace arms (<arm>.safetensors). */
  arms: string;
  out: string;
  steps: number;
  /** Synthetic identities x images each. */
  ids: number;
  perId: number;
  log: (line: string) => void;
  onProgress?: (p: Progress) => void;
}

/** Strip length: weights 0, 0.1, ..., 1. */
const STRIP_STEPS = 10;
const BATCH = 32;

export async function runSynfaceDemo(o: SynfaceDemoOptions): Promise<Record<string, EvalSummary>> {
  const { log, sample } = o;
  if (!existsSync(join(sample, 'dataset.json')))
    throw new Error(`synface demo: the embedded sample ${sample} is missing (dataset.json)`);
  mkdirSync(o.out, { recursive: true });
  const hasGenerator = existsSync(o.generator);
  if (hasGenerator) await generatorFigures(o);
  else log(`\n${o.generator} is missing (no generator shipped): the synthetic steps are skipped`);

  const common = {
    preset: 'small' as const,
    valData: sample,
    valPairs: join(sample, 'val-pairs.txt'),
    valFraction: 0.15,
    overwrite: true,
    steps: o.steps,
    batch: BATCH,
    valEvery: o.steps,
    ckptEvery: Math.max(20, o.steps),
    logEvery: 5,
    command: 'synface demo',
    log,
    onProgress: o.onProgress,
  };
  const trainPeople = parsePeople(
    readFileSync(join(sample, 'train-people.txt'), 'utf8'),
    join(sample, 'train-people.txt'),
  ).people.length;
  const runs: Record<string, string> = {};
  if (hasGenerator) {
    log(`\n== 3/5  a synthetic dataset: ${o.ids} new people x ${o.perId} images, with identity mixup`);
    const syn = join(o.out, 'syn');
    const t0 = performance.now();
    const made = await synthesizeDataset({
      weights: o.generator,
      factors: o.factors,
      split: 'weights/split',
      out: syn,
      ids: o.ids,
      perId: o.perId,
      mixup: true,
      seed: 0,
      batch: 16,
    });
    log(
      `   ${made.rendered} images rendered in ${((performance.now() - t0) / 1000).toFixed(0)} s (${syn}: PNG per identity, labels.jsonl, manifest.json)`,
    );
    log(
      `\n== 4/5  training on them with domain mixup against the sample's ${trainPeople} real training people (${o.steps} steps of ${BATCH})`,
    );
    await trainRecognizer({
      ...common,
      layout: 'synthetic',
      data: syn,
      people: 'people.txt',
      out: join(o.out, 'syn-dm'),
      real: { data: sample, people: 'people.txt', split: sample, count: trainPeople },
    });
    runs[`Syn+IM+DM, trained here (${o.steps} steps)`] = join(o.out, 'syn-dm', 'recognizer.safetensors');
  }
  log(`\n   and on the ${trainPeople} real people alone, the same steps`);
  await trainRecognizer({
    ...common,
    layout: 'lfw',
    data: sample,
    people: 'people.txt',
    split: sample,
    out: join(o.out, 'real'),
  });
  runs[`Real(${trainPeople}), trained here (${o.steps} steps)`] = join(
    o.out,
    'real',
    'recognizer.safetensors',
  );
  return verificationTable(o, runs);
}

/** Steps 1 and 2: the grid and the two mixup strips. */
async function generatorFigures(o: SynfaceDemoOptions): Promise<void> {
  const { log } = o;
  const { G, config, ref, prior, minDistance } = openGenerator(
    { weights: o.generator, factors: o.factors, split: 'weights/split' },
    'synface demo',
  );
  try {
    const R = config.resolution,
      size = 3 * R * R;
    const tiles = (pixels: Uint8Array, n: number) =>
      Array.from({ length: n }, (_, i) => u8ToRgba(pixels, i * size, R));
    const info = generatorInfo(o.generator);
    log(`\n== 1/5  the shipped generator (${o.generator}${info}): new people under drawn factors`);
    const grid = sampledGrid(4, 6);
    const t0 = performance.now();
    const pixels = await renderImages(G, gridRequests(grid, ref.train, prior, minDistance, config), {
      noiseSeed: 3,
    });
    const perFace = (performance.now() - t0) / (grid.rows * grid.columns);
    writePng(
      join(o.out, 'generator-grid.png'),
      tileImages(tiles(pixels, grid.rows * grid.columns), grid.columns),
    );
    log(
      `   ${join(o.out, 'generator-grid.png')}: rows are people, columns expression/pose/lighting draws (${perFace.toFixed(0)} ms a face)`,
    );

    log(`\n== 2/5  the two mixups`);
    const two = syntheticRequests(ref.train, prior, {
      ids: 2,
      perId: 1,
      seed: 1,
      minDistance,
      zDim: config.zDim,
    });
    const strip = await renderImages(G, identityMixupRequests(two, 0, 1, STRIP_STEPS, config.zDim), {
      noiseSeed: 3,
    });
    writePng(join(o.out, 'identity-mixup.png'), tileImages(tiles(strip, STRIP_STEPS + 1), STRIP_STEPS + 1));
    log(
      `   ${join(o.out, 'identity-mixup.png')}: identity B -> A at phi 0, 0.1, ..., 1 (soft label A: phi, B: 1 - phi); all else fixed`,
    );
    const real = realFace(o.sample, R);
    const synthetic = strip.subarray(STRIP_STEPS * size, (STRIP_STEPS + 1) * size);
    const blend = domainMixupStrip(synthetic, real.pixels, STRIP_STEPS);
    writePng(join(o.out, 'domain-mixup.png'), tileImages(tiles(blend, STRIP_STEPS + 1), STRIP_STEPS + 1));
    log(
      `   ${join(o.out, 'domain-mixup.png')}: ${real.name} (psi 0) -> synthetic A (psi 1), in pixels, as the training blends`,
    );
  } finally {
    G.dispose();
  }
}

/** ", 23.5 kimg" from a generator file's metadata, or "" when it does not say. */
function generatorInfo(path: string): string {
  const manifest = path.replace(/\.safetensors$/, '.manifest.json');
  if (!existsSync(manifest)) return '';
  const m = JSON.parse(readFileSync(manifest, 'utf8')) as { kimg?: number };
  return typeof m.kimg === 'number' ? `, trained ${m.kimg.toFixed(1)} kimg` : '';
}

/** The sample's first training person's first image, as u8 CHW of R x R. */
function realFace(sample: string, R: number): { name: string; pixels: Uint8Array } {
  const people = parsePeople(
    readFileSync(join(sample, 'train-people.txt'), 'utf8'),
    'train-people.txt',
  ).people;
  const name = people[0].name;
  const file = readdirSync(join(sample, 'images', name)).sort()[0];
  const path = join(sample, 'images', name, file);
  const img = decodePng(new Uint8Array(readFileSync(path)), path);
  if (img.width !== R || img.height !== R)
    throw new Error(`synface demo: ${path} is ${img.width}x${img.height}, the generator makes ${R}x${R}`);
  const pixels = new Uint8Array(3 * R * R);
  for (let p = 0; p < R * R; p++)
    for (let c = 0; c < 3; c++)
      pixels[c * R * R + p] = img.data[p * img.channels + Math.min(c, img.channels - 1)];
  return { name, pixels };
}

/** Step 5: every model on the sample's held-out pairs, one table. */
async function verificationTable(
  o: SynfaceDemoOptions,
  trained: Record<string, string>,
): Promise<Record<string, EvalSummary>> {
  const { log, sample } = o;
  const pairs = join(sample, 'val-pairs.txt');
  const quiet = () => {};
  const models: Record<string, string> = { ...trained, 'shipped recognizer (real LFW)': o.recognizer };
  const arms = ['real-all', 'real-quarter', 'syn', 'syn-im', 'syn-im-dm'];
  const shippedArms = arms.filter((arm) => existsSync(join(o.arms, `${arm}.safetensors`)));
  for (const arm of shippedArms) models[`shipped SynFace arm ${arm}`] = join(o.arms, `${arm}.safetensors`);
  log(`\n== 5/5  verification of the sample's held-out people (${pairs})`);
  const results: Record<string, EvalSummary> = {};
  for (const [name, weights] of Object.entries(models))
    results[name] = (await evaluateRecognizer({ weights, data: sample, pairs, say: quiet })).summary;
  results["dlib's descriptor (reference)"] = (
    await evaluateDlib({ data: sample, pairs, say: quiet })
  ).summary;
  const cell = (s: EvalSummary) =>
    `${`${(100 * s.accuracy).toFixed(1)}% +- ${(100 * s.accuracy_std).toFixed(1)}`.padEnd(15)} | ${s.auc.toFixed(3)} | ${`${(100 * s['tar_at_far_1e-2']).toFixed(1)}%`.padEnd(12)}`;
  log(`\n| model${' '.repeat(40)} | accuracy        | AUC   | TAR@FAR=1e-2 |`);
  log(`|${'-'.repeat(46)}|-----------------|-------|--------------|`);
  for (const [name, s] of Object.entries(results)) log(`| ${name.padEnd(44)} | ${cell(s)} |`);
  log(`| chance${' '.repeat(38)} | 50.0%           | 0.500 | 1.0%         |`);
  const missing = arms.filter((arm) => !shippedArms.includes(arm));
  if (missing.length > 0)
    log(`\nSynFace arms not shipped yet (${o.arms}/<arm>.safetensors): ${missing.join(', ')}.`);
  log(
    `\n200 pairs and ${o.steps} steps are a demonstration, not a measurement of SynFace: \`synface experiment\` runs the paper's comparison.`,
  );
  log(`Files: ${o.out}/ (generator-grid.png, identity-mixup.png, domain-mixup.png, syn/, syn-dm/, real/)`);
  return results;
}
