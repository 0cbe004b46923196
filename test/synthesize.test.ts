/**
 * `synface synthesize` (tools/synthesize.ts, src/eval/synthesize.ts, synthetic-plan.ts) on an
 * untrained tiny64 generator in a 17-image world (test/generator-fixture.ts), 5 identities x 2
 * images with identity mixup, batches of 4 images (blocks of 2 identities: 3 blocks):
 * 3 shards, in separate folders merged afterwards or in one shared folder, equal the dataset
 * made in one go file by file, byte for byte; a run with parts deleted (an identity's record,
 * another's image and labels.jsonl) resumes to the same bytes rendering only what is missing;
 * labels.jsonl parses with the counts, files, phi grid and partners it should have; bad shards,
 * a missing generator and a folder of another dataset are errors that write nothing.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseLabels, PHI_STEPS } from '../src/data/synthetic-labels.js';
import { synthesizeDataset, type SynthesizeOptions } from '../src/eval/synthesize.js';
import { partnersOf } from '../src/eval/synthetic-plan.js';
import { synthesizeCommand } from '../tools/synthesize.js';
import { makeGeneratorWorld, type GeneratorWorld } from './generator-fixture.js';

let w: GeneratorWorld;
let one: string;
beforeAll(async () => {
  w = await makeGeneratorWorld('synface-synthesize-');
  one = join(w.root, 'one');
  expect(await run(one)).toBe(0);
}, 120_000);

const quiet = async <T>(fn: () => Promise<T>): Promise<T> => {
  const log = console.log;
  console.log = () => {};
  try {
    return await fn();
  } finally {
    console.log = log;
  }
};

const run = (out: string, ...extra: string[]) =>
  quiet(() =>
    synthesizeCommand([
      '--generator',
      w.weights,
      '--factors',
      w.factors,
      '--split',
      w.split,
      '--ids',
      '5',
      '--per-id',
      '2',
      '--mixup',
      '--seed',
      '7',
      '--batch',
      '4',
      '--out',
      out,
      ...extra,
    ]),
  );

/** Every file under dir: relative path -> bytes. */
function tree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

function expectSameTree(a: string, b: string): void {
  const ta = tree(a),
    tb = tree(b);
  expect([...tb.keys()]).toEqual([...ta.keys()]);
  for (const [k, v] of ta) expect(tb.get(k)!.equals(v), `${k} differs`).toBe(true);
}

describe('synthesize', () => {
  it('writes the dataset: 5 folders of 2 PNGs, labels.jsonl, a manifest', () => {
    const files = [...tree(one).keys()];
    expect(files.filter((f) => f.endsWith('.png'))).toHaveLength(10);
    expect(files).toContain('labels.jsonl');
    expect(files).toContain('manifest.json');
    expect(files.filter((f) => f.includes('.tmp-'))).toEqual([]);
    const m = JSON.parse(readFileSync(join(one, 'manifest.json'), 'utf8'));
    expect(m.seed).toBe(7);
    expect(m.counts).toEqual({ identities: 5, imagesPerIdentity: 2, images: 10 });
    expect(m.settings.mixup).toBe(true);
    expect(m.settings.blockIdentities).toBe(2);
    const png = PNG.sync.read(readFileSync(join(one, 'id_00003', '00001.png')));
    expect([png.width, png.height]).toEqual([64, 64]);
    // every image differs from every other (own z, noise, factors and mix)
    const pngs = files
      .filter((f) => f.endsWith('.png'))
      .map((f) => readFileSync(join(one, f)).toString('hex'));
    expect(new Set(pngs).size).toBe(10);
  });

  it('labels.jsonl: one line per image, the right files, phi on the grid, a partner other than the identity', () => {
    const labels = parseLabels(readFileSync(join(one, 'labels.jsonl'), 'utf8'), 'labels.jsonl', 5);
    expect(labels).toHaveLength(10);
    labels.forEach((l, n) => {
      expect(l.identity).toBe(Math.floor(n / 2));
      expect(l.file).toBe(`id_0000${l.identity}/0000${n % 2}.png`);
      expect(existsSync(join(one, l.file))).toBe(true);
      expect(l.mix).toBeDefined();
      expect(l.mix!.partner).not.toBe(l.identity);
      expect(Number.isInteger(Math.round(l.mix!.phi * PHI_STEPS))).toBe(true);
      expect(Math.abs(l.mix!.phi * PHI_STEPS - Math.round(l.mix!.phi * PHI_STEPS))).toBeLessThan(1e-9);
    });
    // the per-identity records concatenate to labels.jsonl
    const records = [0, 1, 2, 3, 4].map((i) =>
      readFileSync(join(one, `id_0000${i}`, 'labels.jsonl'), 'utf8'),
    );
    expect(records.join('')).toBe(readFileSync(join(one, 'labels.jsonl'), 'utf8'));
    // not a constant: the partners and phis vary across the 10 images
    expect(new Set(labels.map((l) => `${l.mix!.partner}:${l.mix!.phi}`)).size).toBeGreaterThan(3);
  });

  it('3 shards in separate folders, copied together and merged, equal the one-go dataset byte for byte', async () => {
    const parts = [0, 1, 2].map((i) => join(w.root, `part${i}`));
    for (const [i, p] of parts.entries()) expect(await run(p, '--shard', `${i}/3`)).toBe(0);
    // a shard alone is not the dataset: no labels.jsonl yet, and --merge says what is missing
    expect(existsSync(join(parts[0], 'labels.jsonl'))).toBe(false);
    const err = console.error;
    console.error = () => {};
    expect(await run(parts[0], '--merge')).toBe(1);
    console.error = err;
    const merged = join(w.root, 'merged');
    mkdirSync(merged);
    for (const p of parts) cpSync(p, merged, { recursive: true });
    expect(await run(merged, '--merge')).toBe(0);
    expectSameTree(one, merged);
  });

  it('3 shards in one shared folder, in any order, equal the one-go dataset', async () => {
    const shared = join(w.root, 'shared');
    for (const s of ['2/3', '0/3', '1/3']) expect(await run(shared, '--shard', s)).toBe(0);
    expectSameTree(one, shared);
  });

  it('resumes a partial dataset to the same bytes, rendering only the blocks with missing identities', async () => {
    const partial = join(w.root, 'partial');
    cpSync(one, partial, { recursive: true });
    rmSync(join(partial, 'id_00003', 'labels.jsonl')); // killed before identity 3's record
    rmSync(join(partial, 'id_00001', '00000.png')); // an image lost
    rmSync(join(partial, 'id_00003', '00001.png'));
    rmSync(join(partial, 'labels.jsonl'));
    const o: SynthesizeOptions = {
      weights: w.weights,
      factors: w.factors,
      split: w.split,
      out: partial,
      ids: 5,
      perId: 2,
      mixup: true,
      seed: 7,
      batch: 4,
    };
    const r = await synthesizeDataset(o);
    expect(r.rendered).toBe(4); // identities 1 and 3
    expect(r.skipped).toBe(3);
    expect(r.complete).toBe(true);
    expectSameTree(one, partial);
    // again: nothing to do
    expect((await synthesizeDataset(o)).rendered).toBe(0);
  });

  it('another seed gives other images', async () => {
    const other = join(w.root, 'seed8');
    const args = ['--generator', w.weights, '--factors', w.factors, '--split', w.split];
    expect(
      await quiet(() =>
        synthesizeCommand([
          ...args,
          '--ids',
          '5',
          '--per-id',
          '2',
          '--mixup',
          '--seed',
          '8',
          '--batch',
          '4',
          '--out',
          other,
        ]),
      ),
    ).toBe(0);
    expect(
      readFileSync(join(other, 'id_00000/00000.png')).equals(readFileSync(join(one, 'id_00000/00000.png'))),
    ).toBe(false);
  });

  it("an identity's mixup partners are distinct: with 6 identities of 5 images, each one's partners are the 5 others", () => {
    for (const seed of [0, 7])
      for (let i = 0; i < 6; i++) {
        const partners = [...partnersOf({ seed, ids: 6, perId: 5 }, i)];
        expect(partners.sort()).toEqual([0, 1, 2, 3, 4, 5].filter((p) => p !== i));
      }
    // each other identity is the first partner about equally often: 500 draws over 9 others,
    // ~55.6 each (binomial sd 7.0), all within 3.5 sd
    const counts = new Array(9).fill(0);
    for (let seed = 0; seed < 50; seed++)
      for (let i = 0; i < 10; i++)
        counts[(partnersOf({ seed, ids: 10, perId: 9 }, i)[0] - i - 1 + 10) % 10]++;
    for (const c of counts) expect(Math.abs(c - 500 / 9)).toBeLessThan(25);
    expect(() => partnersOf({ seed: 0, ids: 5, perId: 5 }, 0)).toThrow(
      /5 distinct partners among the other 4 identities/,
    );
  });

  it('bad shards, a missing generator, mixup of one identity, a folder of another dataset: errors, nothing written', async () => {
    const fresh = join(w.root, 'fresh');
    for (const s of ['3/3', '0/0', '1', 'a/b', '-1/3'])
      await expect(run(fresh, '--shard', s)).rejects.toThrow(/--shard needs i\/n/);
    await expect(
      quiet(() =>
        synthesizeCommand([
          '--generator',
          join(w.root, 'nope.safetensors'),
          '--factors',
          w.factors,
          '--split',
          w.split,
          '--ids',
          '5',
          '--per-id',
          '2',
          '--out',
          fresh,
        ]),
      ),
    ).rejects.toThrow(/weights .*nope\.safetensors does not exist/);
    await expect(
      quiet(() =>
        synthesizeCommand([
          '--generator',
          w.weights,
          '--factors',
          w.factors,
          '--split',
          w.split,
          '--ids',
          '1',
          '--per-id',
          '2',
          '--mixup',
          '--out',
          fresh,
        ]),
      ),
    ).rejects.toThrow(
      /each of an identity's 2 images its own partner among the other identities, so it needs more than 2 identities, got 1/,
    );
    expect(existsSync(fresh)).toBe(false);
    // the one-go folder with another seed: refused, untouched
    const before = tree(one);
    await expect(run(one, '--seed', '9')).rejects.toThrow(/holds another dataset .*seed/);
    const after = tree(one);
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [k, v] of before) expect(after.get(k)!.equals(v)).toBe(true);
  });
});
