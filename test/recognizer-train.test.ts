/**
 * The recognizer trainer on synthetic identities: learning, margin warm-up, exact resume, saving.
 * Oracle: separable synthetic data, an uninterrupted run (bit-identical), a file round trip.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { buildCheckpoint, parseCheckpoint } from '../src/io/checkpoint.js';
import { readTensors } from '../src/tensor/tensor-data.js';
import { parseSafetensors, serializeSafetensors } from '../src/io/safetensors.js';
import { evaluatePairs, embedRows } from '../src/eval/embed.js';
import { cosineSimilarity } from '../src/eval/verification.js';
import { Lambda } from '../src/nn/index.js';
import { IResNet } from '../src/models/iresnet.js';
import { loadRecognizer, serializeRecognizer } from '../src/models/recognizer-weights.js';
import { marginAt, RecognizerTrainer } from '../src/train/recognizer-trainer.js';
import { config, rows, syntheticCache } from './recognizer-fixture.js';

const base = config;

async function weights(t: RecognizerTrainer): Promise<Record<string, Float32Array>> {
  const d = await readTensors(t.model.stateDict());
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v.data as Float32Array]));
}

describe('RecognizerTrainer', () => {
  it('learns the synthetic identities; tensors and buffers stay flat', async () => {
    const t = new RecognizerTrainer(config, { cache: syntheticCache(), rows });
    expect(t.classes).toBe(4);
    expect(t.config.marginWarmupSteps).toBe(0);
    const device = E.getDevice();
    const losses: number[] = [];
    let before = { tensors: 0, inUse: 0 };
    for (let s = 0; s < config.steps; s++) {
      const loss = t.trainStep();
      losses.push(await loss.item());
      loss.dispose();
      if (s === 4) before = { tensors: E.liveTensors(), inUse: device.stats().inUse };
    }
    expect(E.liveTensors()).toBe(before.tensors);
    expect(device.stats().inUse).toBe(before.inUse);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-8))).toBeLessThan(0.6 * mean(losses.slice(0, 8)));
    t.dispose();
  });

  it('the margin warms up linearly from 0 to m', () => {
    const c = { ...config, marginWarmupSteps: 10 };
    expect([0, 5, 10, 20].map((s) => marginAt(c, s))).toEqual([0, 0.15, 0.3, 0.3]);
    expect(marginAt(config, 0)).toBe(0.3);
  });

  it('a run stopped, checkpointed and resumed ends with the same weights, bit for bit', async () => {
    const config = { ...base, marginWarmupSteps: 8 }; // the resumed part crosses the end of the warm-up
    const straight = new RecognizerTrainer(config, { cache: syntheticCache(), rows });
    for (let s = 0; s < 12; s++) straight.trainStep().dispose();
    const expected = await weights(straight);
    straight.dispose();

    const first = new RecognizerTrainer(config, { cache: syntheticCache(), rows });
    for (let s = 0; s < 5; s++) first.trainStep().dispose();
    const bytes = await buildCheckpoint(first.checkpointParts());
    first.dispose();
    const resumed = new RecognizerTrainer(config, { cache: syntheticCache(), rows });
    resumed.restore(parseCheckpoint(bytes, 'ckpt'), 'ckpt');
    expect(resumed.step).toBe(5);
    for (let s = 5; s < 12; s++) resumed.trainStep().dispose();
    const got = await weights(resumed);
    for (const k of Object.keys(expected)) expect(got[k], k).toEqual(expected[k]);

    const other = new RecognizerTrainer({ ...config, lr: 0.1 }, { cache: syntheticCache(), rows });
    expect(() => other.restore(parseCheckpoint(bytes, 'ckpt'), 'ckpt')).toThrow(
      /ckpt: the checkpoint was made with other settings \(lr: 0.05 there\)/,
    );
    other.dispose();
    resumed.dispose();
  });

  it('saves a backbone that loads back and embeds identically', async () => {
    const t = new RecognizerTrainer(config, { cache: syntheticCache(), rows });
    for (let s = 0; s < 3; s++) t.trainStep().dispose();
    t.model.eval();
    const cache = syntheticCache();
    const a = await embedRows(t.model.backbone, cache, [0, 3, 7], { input: [16, 16] });
    const bytes = await serializeRecognizer(
      t.model.backbone,
      { crop: [112, 112], out: [20, 20] },
      { note: 'test' },
    );
    const { backbone, file } = loadRecognizer(bytes, 'w.safetensors');
    expect(file.preprocess).toEqual({ crop: [112, 112], out: [20, 20] });
    expect(file.info).toEqual({ note: 'test' });
    const b = await embedRows(backbone, cache, [0, 3, 7], { input: [16, 16] });
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    expect(() => loadRecognizer(new Uint8Array(8), 'bad.safetensors')).toThrow(/bad.safetensors/);
    backbone.dispose();
    t.dispose();
  });
});

describe('evaluatePairs', () => {
  it('scores pairs by the cosine of the embeddings (plain and mirrored sums)', async () => {
    const cache = syntheticCache();
    const flat = new Lambda((x) => E.reshape(x, [x.shape[0], -1])); // embedding = the normalized pixels
    const norm = (r: number, flip: boolean) => {
      const { C, H, W } = cache;
      const v = new Float64Array(C * H * W);
      for (let c = 0; c < C; c++)
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++) {
            const at = (xx: number) => cache.pixels[((r * C + c) * H + y) * W + xx] / 127.5 - 1;
            v[(c * H + y) * W + x] = at(x) + (flip ? at(W - 1 - x) : 0);
          }
      return v;
    };
    const pairs = Array.from({ length: 20 }, (_, i) => ({
      a: { name: 'r', index: i },
      b: { name: 'r', index: (i * 7 + 3) % 20 },
      same: i % 2 === 0,
      fold: -1,
    }));
    for (const flip of [false, true]) {
      const { scores } = await evaluatePairs(flat, cache, pairs, (ref) => ref.index, {
        input: [20, 20],
        batch: 7,
        flip,
      });
      pairs.forEach((p, i) =>
        expect(scores[i]).toBeCloseTo(cosineSimilarity(norm(p.a.index, flip), norm(p.b.index, flip)), 5),
      );
    }
    await expect(evaluatePairs(flat, cache, pairs, () => 99, { input: [20, 20] })).rejects.toThrow(
      /row 99 is not in the cache's 0..19/,
    );
  });

  it('non-finite embeddings: an error naming the model, not "roc: score NaN" (issue 14, defect 7)', async () => {
    const cache = syntheticCache();
    // NaN weights: every embedding NaN; an overflow: one image's embedding infinite
    const nan = new Lambda((x) => E.scale(E.reshape(x, [x.shape[0], -1]), NaN));
    const pairs = Array.from({ length: 20 }, (_, i) => ({
      a: { name: 'r', index: i },
      b: { name: 'r', index: (i + 1) % 20 },
      same: i % 2 === 0,
      fold: -1,
    }));
    await expect(
      evaluatePairs(nan, cache, pairs, (ref) => ref.index, { input: [20, 20], model: 'w.safetensors' }),
    ).rejects.toThrow(
      /^w\.safetensors: the recognizer's embeddings are not finite \(NaN or infinite\) for 20 of 20 images/,
    );
  });
});

describe('loadRecognizer: bad files (issue 14, defect 7)', () => {
  it('names the file and the missing metadata field, or the tensor with NaN weights', async () => {
    const net = new IResNet(config.backbone);
    const good = parseSafetensors(await serializeRecognizer(net, { crop: [112, 112], out: [16, 16] }), 'w');
    net.dispose();
    const edit = (metadata: Record<string, string>, tensors = good.tensors) =>
      serializeSafetensors(tensors, { ...good.metadata, ...metadata });
    const { blocks: _, ...noBlocks } = config.backbone;
    expect(() => loadRecognizer(edit({ backbone: JSON.stringify(noBlocks) }), 'w.safetensors')).toThrow(
      /^w\.safetensors: metadata "backbone" lacks "blocks" \(IR blocks per stage/,
    );
    expect(() =>
      loadRecognizer(
        edit({ backbone: JSON.stringify({ ...config.backbone, widths: [4, 8] }) }),
        'w.safetensors',
      ),
    ).toThrow(/^w\.safetensors: metadata "backbone" has 4 "blocks" but 2 "widths"/);
    expect(() => loadRecognizer(edit({ preprocess: '{"crop":[112,112]}' }), 'w.safetensors')).toThrow(
      /^w\.safetensors: metadata "preprocess" lacks "out"/,
    );
    const name = Object.keys(good.tensors).find((k) => good.tensors[k].dtype === 'f32')!;
    const data = Float32Array.from(good.tensors[name].data);
    data[1] = NaN;
    data[2] = Infinity;
    const broken = { ...good.tensors, [name]: { ...good.tensors[name], data } };
    expect(() => loadRecognizer(edit({}, broken), 'w.safetensors')).toThrow(
      new RegExp(`^w\\.safetensors: tensor "${name.replace(/\./g, '\\.')}" holds 2 non-finite values`),
    );
    const { backbone } = loadRecognizer(edit({}), 'w.safetensors'); // the untouched file loads
    backbone.dispose();
  });
});
