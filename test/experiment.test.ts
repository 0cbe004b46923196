/**
 * `synface experiment` (src/train/experiment.ts) at toy scale: an untrained tiny64 generator
 * (test/generator-fixture.ts) makes 4 identities x 2 images, with and without identity mixup;
 * the five arms and syn-dm train 2 steps each on the embedded sample (its split: 24 training people, 200
 * held-out pairs) with M = 3 real people. Checked: every arm's run and report, the datasets
 * (mixed or not), equal budgets, the results table's rows and differences computed from the
 * reports, the chart, a second call that trains nothing again, shipping, bad arms refused.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ARMS,
  compareArms,
  runExperiment,
  shipArms,
  type ExperimentOptions,
} from '../src/train/experiment.js';
import { experimentCommand } from '../tools/experiment.js';
import { makeGeneratorWorld, type GeneratorWorld } from './generator-fixture.js';
import { runCommand } from './run-command.js';

const SAMPLE = join(__dirname, '..', 'data', 'lfw-sample');
let w: GeneratorWorld;
let options: ExperimentOptions;

beforeAll(async () => {
  w = await makeGeneratorWorld('synface-experiment-');
  process.env.SYNFACE_CACHE = w.cacheDir;
  options = {
    generator: w.weights,
    factors: w.factors,
    data: SAMPLE,
    people: 'people.txt',
    split: SAMPLE,
    out: join(w.root, 'experiment'),
    ids: 4,
    perId: 2,
    identitySpread: 1.2,
    realPeople: 3,
    steps: 2,
    batch: 4,
    preset: 'small',
    arms: ARMS,
    seed: 1,
    synthBatch: 8,
    log: () => {},
  };
}, 300_000);

describe('synface experiment', () => {
  it('runs the five arms and syn-dm with equal budgets and writes the table, the chart and the shipped weights', async () => {
    const r = await runExperiment(options);
    expect(r.status).toBe('finished');
    expect(r.results.map((a) => a.arm)).toEqual([...ARMS]);
    const by = Object.fromEntries(r.results.map((a) => [a.arm, a.report]));
    for (const a of ARMS) {
      expect(by[a].steps, a).toBe(2);
      expect(by[a].batch, a).toBe(4);
      expect(by[a].val_pairs, a).toBe(200);
    }
    // the data of each arm: the sample's training people with >= 2 images, 3 of them, 4 synthetic identities (+ 3 real)
    expect(by['real-quarter'].people).toBe(3);
    expect(by['real-all'].people).toBeGreaterThan(3);
    expect([by.syn.people, by['syn-im'].people, by['syn-im-dm'].people, by['syn-dm'].people]).toEqual([
      4, 4, 7, 7,
    ]);
    const labels = (d: string) => readFileSync(join(options.out, 'data', d, 'labels.jsonl'), 'utf8');
    expect(labels('syn')).not.toMatch(/"mix"/);
    expect(labels('syn-im').match(/"mix"/g)).toHaveLength(8);

    const md = readFileSync(join(options.out, 'results.md'), 'utf8');
    for (const a of ARMS) expect(md).toMatch(new RegExp(`^\\| ${a} \\|`, 'm'));
    const c = compareArms(by['syn-im'], by.syn);
    expect(c.points).toBeCloseTo(100 * (by['syn-im'].val_accuracy! - by.syn.val_accuracy!), 9);
    expect(md).toContain(`- syn-im - syn: ${c.points >= 0 ? '+' : ''}${c.points.toFixed(2)} points`);
    expect(md).toMatch(/^- syn-dm - real-quarter: [+-][\d.]+ points/m);
    const json = JSON.parse(readFileSync(join(options.out, 'results.json'), 'utf8'));
    expect(json.arms['syn-im-dm'].val_accuracy).toBe(by['syn-im-dm'].val_accuracy);
    expect(readFileSync(join(options.out, 'results.png')).subarray(1, 4).toString()).toBe('PNG');

    // a second call finds every report and trains nothing
    const before = statSync(join(options.out, 'syn', 'recognizer.safetensors')).mtimeMs;
    const again = await runExperiment(options);
    expect(again.results.map((a) => a.report)).toEqual(r.results.map((a) => a.report));
    expect(statSync(join(options.out, 'syn', 'recognizer.safetensors')).mtimeMs).toBe(before);

    const shipped = shipArms(options, r.results, join(w.root, 'weights'));
    expect(shipped).toHaveLength(15); // 6 x (weights, manifest) and the table, its JSON, the chart
    for (const f of shipped) expect(existsSync(f), f).toBe(true);
    const m = JSON.parse(readFileSync(join(w.root, 'weights', 'syn-im-dm.manifest.json'), 'utf8'));
    expect(m.report.val_accuracy).toBe(by['syn-im-dm'].val_accuracy);
    const dataset = JSON.parse(readFileSync(join(options.out, 'data', 'syn-im', 'manifest.json'), 'utf8'));
    expect(m.settings.generator_sha256).toBe(dataset.generator.sha256);
    expect([m.settings.identitySpread, dataset.settings.identitySpread]).toEqual([1.2, 1.2]);
    expect(m.reproduce).toMatch(
      /^synface experiment .*--identity-spread 1.2 .*--steps 2 .* --arms syn-im-dm$/,
    );
    expect(readFileSync(join(w.root, 'weights', 'results.md'), 'utf8')).toBe(md);
  }, 600_000);

  it('refuses an unknown arm by name', async () => {
    await expect(
      runCommand(experimentCommand, ['--arms', 'syn,syn-xy', '--out', join(w.root, 'never')]),
    ).rejects.toThrow(/--arms syn-xy: not one of real-all, real-quarter, syn, syn-im, syn-im-dm, syn-dm/);
    expect(existsSync(join(w.root, 'never'))).toBe(false);
  });
});
