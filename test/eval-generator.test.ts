/**
 * `evaluateGenerator` (src/eval/evaluate-generator.ts) end to end on an untrained tiny64
 * generator in a 17-image world (test/generator-fixture.ts): 3 synthetic identities x 3 images
 * rendered, measured by the face analysis, judged against 8 held-out real images and the
 * shipped recognizer. An untrained generator makes no faces, so the numbers mean nothing; what
 * is checked is that every key is there, finite and in its range, that the counts are the
 * requested ones, that the same seed gives the same result, and the errors.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { evalGeneratorCommand, formatSummary } from '../tools/eval-generator.js';
import { evaluateGenerator, type EvalGeneratorOptions } from '../src/eval/evaluate-generator.js';
import { shippedRecognizerPath } from '../src/io/package-files.js';
import { decodeFactors } from '../src/face/factors-file.js';
import { loadFaceNets } from '../src/face/analyze-dataset.js';
import { frechetDistance, gaussianStats } from '../src/eval/frechet.js';
import { frechetSetup, generatorFrechet, identityConsistency } from '../src/eval/generator-metrics.js';
import {
  embedDescriptors,
  generatorReference,
  measureGenerated,
  renderImages,
} from '../src/eval/generator-samples.js';
import {
  FaceGenerator,
  GENERATOR_PRESETS,
  loadGenerator,
  serializeGenerator,
} from '../src/models/generator/index.js';
import { Generator } from '../src/tensor/random.js';
import { makeGeneratorWorld, type GeneratorWorld } from './generator-fixture.js';

let w: GeneratorWorld;
beforeAll(async () => {
  w = await makeGeneratorWorld('synface-eval-generator-');
}, 120_000);

const options = (extra: Partial<EvalGeneratorOptions> = {}): EvalGeneratorOptions => ({
  weights: w.weights,
  factors: w.factors,
  data: w.data,
  people: w.people,
  split: w.split,
  recognizer: shippedRecognizerPath(),
  ids: 3,
  perId: 3,
  seed: 5,
  batch: 9,
  kidSubsets: 5,
  minDistance: 0.05, // two training people: their prior lies between them
  cache: { cacheDir: w.cacheDir },
  ...extra,
});

describe('evaluateGenerator', () => {
  it('returns every metric, finite and in range, for 3 identities x 3 images; the same again for the same seed', async () => {
    const s = await evaluateGenerator(options());
    const fractions = [
      'same_identity_verified',
      'different_identity_rejected',
      'real_same_verified',
      'real_different_rejected',
      'requested_different_rejected',
      'usable_fraction',
    ] as const;
    for (const k of fractions) {
      expect(s[k], k).toBeGreaterThanOrEqual(0);
      expect(s[k], k).toBeLessThanOrEqual(1);
    }
    const cosines = [
      'recognizer_same_cosine',
      'recognizer_different_cosine',
      'recognizer_real_same_cosine',
    ] as const;
    for (const k of cosines) expect(Math.abs(s[k]), k).toBeLessThanOrEqual(1);
    // 3 x 3 images: 3 x 3 same pairs, 36 - 9 = 27 different pairs; 2 real same pairs
    expect([s.same_pairs, s.different_pairs, s.real_same_pairs, s.images]).toEqual([9, 27, 2, 9]);
    expect(s.real_different_pairs).toBe(2);
    expect(s.identity_spread).toBe(1);
    expect(s.fd_sample).toBe(4); // 8 held-out images: halves of 4, the generated cut to 4
    expect(s.real_images).toBe(8);
    for (const k of ['fd', 'fd_real_floor'] as const) expect(s[k], k).toBeGreaterThanOrEqual(-1e-9);
    expect(Number.isFinite(s.kid) && Number.isFinite(s.kid_real_floor)).toBe(true);
    expect(s.novelty_min).toBeLessThanOrEqual(s.novelty_median);
    expect(s.novelty_median).toBeLessThanOrEqual(s.novelty_max);
    expect(s.novelty_rejection_distance).toBeGreaterThan(0);
    // the real recognizer tells the real people's same pairs apart from chance
    expect(s.recognizer_real_same_cosine).toBeGreaterThan(0.2);
    // every number finite (8 of the 9 images are usable faces to the analysis, so the
    // correlations exist too), correlations in [-1, 1]
    for (const [k, v] of Object.entries(s)) {
      for (const x of Array.isArray(v) ? v : typeof v === 'number' ? [v] : [])
        expect(Number.isFinite(x), `${k} ${x}`).toBe(true);
      if (/_corr/.test(k))
        for (const x of [v].flat() as number[]) expect(Math.abs(x), k).toBeLessThanOrEqual(1 + 1e-9);
    }
    expect(s.expression_corr_per_component.length).toBeGreaterThanOrEqual(5);
    expect(s.lighting_corr_per_component.length).toBe(6);
    // the command with --json: one JSON object on stdout, the same numbers for the same seed
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      // prettier-ignore
      await evalGeneratorCommand(['--weights', w.weights, '--factors', w.factors, '--data', w.data,
        '--people', w.people, '--split', w.split, '--ids', '3', '--per-id', '3', '--seed', '5',
        '--batch', '9', '--min-distance', '0.05', '--kid-subsets', '5', '--json']);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
    expect(printed, printed.join('\n')).toHaveLength(1);
    const again = JSON.parse(printed[0]);
    const strip = (o: Record<string, unknown>) => ({ ...o, seconds: 0, images_per_s: 0 });
    expect(strip(again)).toEqual(strip(JSON.parse(JSON.stringify(s))));
    const table = formatSummary(s);
    for (const line of [
      /same identity verified \(dlib\)\s+\d+\.\d%/,
      /Frechet distance\s+[\d.]+\s+real vs real floor [\d.]+ \(4 vs 4\)/,
      /yaw\s+r -?[\d.]+/,
    ])
      expect(table).toMatch(line);
  }, 120_000);

  it('a missing weights file, a recognizer file, too few ids and a 16 px generator are named', async () => {
    await expect(evaluateGenerator(options({ weights: join(w.root, 'none.safetensors') }))).rejects.toThrow(
      /none.safetensors does not exist \(no generator is shipped yet/,
    );
    await expect(evaluateGenerator(options({ weights: shippedRecognizerPath() }))).rejects.toThrow(
      /not a generator weights file/,
    );
    await expect(evaluateGenerator(options({ ids: 1 }))).rejects.toThrow(
      /ids must be an integer >= 2, got 1/,
    );
    // a 16 px generator: the analysis and the recognizer take the data's 64x64 crops
    const table = decodeFactors(readFileSync(w.factors), w.factors);
    const G = new FaceGenerator(
      {
        ...GENERATOR_PRESETS.tiny,
        expDim: table.expression!.model.variances.length,
        norm: loadGenerator(readFileSync(w.weights), 'w').config.norm,
      },
      new Generator(0),
    );
    const small = join(w.root, 'tiny16.safetensors');
    writeFileSync(small, await serializeGenerator(G));
    G.dispose();
    await expect(evaluateGenerator(options({ weights: small }))).rejects.toThrow(
      /tiny16.safetensors: weights of another generator architecture: resolution 16 there, 64 here/,
    );
  });

  it("generatorFrechet (the training run's cheap FD): the FD of the dlib descriptors the full measurement gives", async () => {
    const table = decodeFactors(readFileSync(w.factors), w.factors);
    const ref = generatorReference(table, new Set(['Ana_Guevara', 'Bill_Clinton']), w.factors);
    const { generator: G, config } = loadGenerator(readFileSync(w.weights), w.weights);
    const { nets } = loadFaceNets('tiny', { expression: false });
    try {
      const { requests: req, realStats } = frechetSetup(ref, {
        images: 6,
        seed: 1,
        minDistance: 0.05,
        zDim: config.zDim,
      });
      expect(req.count).toBe(6);
      expect(realStats.count).toBe(8);
      const r = await generatorFrechet(G, nets.dlib, req, realStats, { batch: 4, noiseSeed: 9 });
      expect(r.images).toBe(6);
      const pixels = await renderImages(G, req, { batch: 6, noiseSeed: 9 });
      const m = await measureGenerated(
        nets,
        pixels,
        64,
        Int32Array.from([0, 0, 0, 1, 1, 1]),
        ref.expressionModel,
        6,
      );
      const d = await embedDescriptors(nets.dlib, pixels, 6, 64, 3);
      for (let i = 0; i < d.length; i++) expect(Math.abs(d[i] - m.descriptor[i])).toBeLessThan(1e-4);
      const fd = frechetDistance(gaussianStats(m.descriptor, 128), realStats);
      expect(r.fd).toBeGreaterThan(0);
      expect(Math.abs(r.fd - fd)).toBeLessThan(1e-3 * fd);
      // every pair of the 6 images is two people: the share of the 15 pairs dlib tells apart
      const apart = identityConsistency(m.descriptor, 128, [0, 1, 2, 3, 4, 5]);
      expect(apart.differentPairs).toBe(15);
      expect(r.differentRejected).toBe(apart.differentRejected);
    } finally {
      G.dispose();
      for (const n of Object.values(nets)) n?.dispose();
    }
  }, 60_000);
});
