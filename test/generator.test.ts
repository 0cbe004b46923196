/**
 * The face generator (src/models/generator) and its trainer (src/train/generator-trainer.ts)
 * at a tiny size (16x16, a few channels): shapes, identity mixup, the weights file, and a
 * resumed run against an uninterrupted one.
 * Oracles: the definition of mixup (phi = 1 is identity a, bit for bit), an uninterrupted run
 * (bit-identical), a file round trip.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { buildCheckpoint, parseCheckpoint } from '../src/io/checkpoint.js';
import { parseSafetensors, serializeSafetensors } from '../src/io/safetensors.js';
import { readTensors } from '../src/tensor/tensor-data.js';
import type { ImageCache } from '../src/data/image-cache.js';
import {
  conditionDim,
  FaceDiscriminator,
  FaceGenerator,
  fitFactorNorm,
  fitIdentityPrior,
  GENERATOR_PRESETS,
  loadGenerator,
  mixIdentity,
  serializeGenerator,
  standardize,
  type FactorRows,
  type GeneratorConfig,
} from '../src/models/generator/index.js';
import {
  defaultTrainSettings,
  GeneratorTrainer,
  type GeneratorTrainConfig,
} from '../src/train/generator-trainer.js';

const EXP = 5;

/** n images of 16x16 (smooth colour patterns) and random factors for them. */
function syntheticData(n: number, R = 16): { cache: ImageCache; rows: Int32Array; factors: FactorRows } {
  let s = 987654321;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const pixels = new Uint8Array(n * 3 * R * R);
  for (let k = 0; k < n; k++)
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < R * R; p++)
        pixels[(k * 3 + c) * R * R + p] = Math.round(
          127 + 100 * Math.sin(0.2 * p + k + c) * Math.cos(0.1 * k * p),
        );
  const fill = (len: number, sc: number) => Float32Array.from({ length: len }, () => sc * rnd());
  const factors: FactorRows = {
    count: n,
    descriptor: fill(n * 128, 0.1),
    expression: fill(n * EXP, 1),
    pose: fill(n * 3, 30),
    lighting: fill(n * 6, 0.2),
  };
  return {
    cache: { count: n, C: 3, H: R, W: R, labels: new Int32Array(n), pixels },
    rows: Int32Array.from({ length: n }, (_, k) => k),
    factors,
  };
}

function tinyConfig(factors: FactorRows): GeneratorConfig {
  return { ...GENERATOR_PRESETS.tiny, expDim: EXP, norm: fitFactorNorm(factors) };
}

function inputs(G: FaceGenerator, factors: FactorRows, idx: number[], zGen: E.Generator) {
  const f = standardize(factors, G.config.norm, idx);
  const N = idx.length;
  return {
    identity: G.identityCode(E.tensor(f.descriptor, [N, 128])),
    expression: E.tensor(f.expression, [N, EXP]),
    pose: E.tensor(f.pose, [N, 3]),
    lighting: E.tensor(f.lighting, [N, 6]),
    z: E.randn([N, G.config.zDim], 0, 1, zGen),
  };
}

describe('face generator', () => {
  const data = syntheticData(8);
  const config = tinyConfig(data.factors);

  it('maps factors to images of the configured size, and D maps images and factors to logits', async () => {
    const G = new FaceGenerator(config, new E.Generator(1));
    const D = new FaceDiscriminator(config, new E.Generator(2));
    const f = inputs(G, data.factors, [0, 1, 2, 3], new E.Generator(3));
    expect(f.identity.shape).toEqual([4, config.idDim]);
    const img = G.forward(f);
    expect(img.shape).toEqual([4, 3, 16, 16]);
    const logits = D.forward(img, E.randn([4, conditionDim(config)]));
    expect(logits.shape).toEqual([4, 1]);
    expect((await img.toArray()).every(Number.isFinite)).toBe(true);
    expect(() => G.forward({ ...f, pose: E.zeros([4, 2]) })).toThrow(
      /pose has shape \[4,2\], expected \[4, 3\]/,
    );
    expect(() => D.forward(img, null)).toThrow(/conditional/);
    G.dispose();
    D.dispose();
  });

  it('identity mixup: phi = 1 renders identity a and phi = 0 identity b, bit for bit', async () => {
    const G = new FaceGenerator(config, new E.Generator(4));
    const f = inputs(G, data.factors, [0, 1], new E.Generator(5));
    const b = inputs(G, data.factors, [2, 3], new E.Generator(5)).identity;
    const render = (identity: E.Tensor) =>
      G.withFixedNoise(new E.Generator(6), () => G.forward({ ...f, identity })).toArray();
    const a = await render(f.identity);
    expect(await render(mixIdentity(f.identity, b, 1))).toEqual(a);
    expect(await render(mixIdentity(f.identity, b, 0))).toEqual(await render(b));
    expect(await render(mixIdentity(f.identity, b, E.ones([2, 1])))).toEqual(a);
    const half = await render(mixIdentity(f.identity, b, 0.5));
    expect(half).not.toEqual(a);
    expect(() => mixIdentity(f.identity, b, 1.5)).toThrow(/phi 1.5/);
    G.dispose();
  });

  it('the base preset is the 64x64 generator, with 4 -> 64 px synthesis blocks', () => {
    const base = { ...GENERATOR_PRESETS.base, expDim: EXP, norm: config.norm };
    const G = new FaceGenerator(base, new E.Generator(7));
    const D = new FaceDiscriminator(base, new E.Generator(7));
    expect(G.synthesis.blocks.length).toBe(5);
    expect(G.parameterCount()).toBeGreaterThan(100_000);
    expect(D.parameterCount()).toBeGreaterThan(100_000);
    G.dispose();
    D.dispose();
  });

  it('weights round trip; another architecture or resolution and a foreign file are refused by name', async () => {
    const G = new FaceGenerator(config, new E.Generator(8));
    const bytes = await serializeGenerator(G, { kimg: 1 });
    const { generator, info } = loadGenerator(bytes, 'g.safetensors', { resolution: 16 });
    expect(info.kimg).toBe(1);
    const f = inputs(G, data.factors, [0, 1], new E.Generator(9));
    const ours = await G.withFixedNoise(new E.Generator(1), () => G.forward(f)).toArray();
    const theirs = await generator.withFixedNoise(new E.Generator(1), () => generator.forward(f)).toArray();
    expect(theirs).toEqual(ours);
    expect(() => loadGenerator(bytes, 'g.safetensors', { resolution: 64 })).toThrow(
      /g.safetensors: weights of another generator architecture: resolution 16 there, 64 here/,
    );
    const { tensors, metadata } = parseSafetensors(bytes, 'g');
    const widened = serializeSafetensors(tensors, {
      ...metadata,
      config: JSON.stringify({ ...config, widths: { 4: 8, 8: 8, 16: 8 } }),
    });
    expect(() => loadGenerator(widened, 'w.safetensors')).toThrow(/w.safetensors: the tensors do not fit/);
    expect(() => loadGenerator(serializeSafetensors(tensors, { format: 'x' }), 'x.safetensors')).toThrow(
      /x.safetensors: not a generator weights file/,
    );
    G.dispose();
    generator.dispose();
  });
});

describe('generator trainer', () => {
  const real = syntheticData(12);
  const people = Int32Array.from({ length: 12 }, (_, k) => k % 6);
  const data = { ...real, identityPrior: fitIdentityPrior(real.factors.descriptor, people, 128) };
  const train = (steps: number): GeneratorTrainConfig => ({
    model: tinyConfig(data.factors),
    batch: 4,
    steps,
    ...defaultTrainSettings(16, 4),
    r1Every: 2,
    emaRampup: 1,
    seed: 3,
  });

  async function state(t: GeneratorTrainer) {
    const tensors = await readTensors(t.nets.stateDict());
    const opt = await readTensors(t.optimizer.stateDict().tensors);
    return {
      tensors,
      opt,
      step: t.step,
      rng: [t.modelGen.state(), t.latentGen.state()],
      sampler: t.sampler.getState(),
    };
  }

  async function losses(t: GeneratorTrainer, n: number): Promise<Record<string, number>[]> {
    const out: Record<string, number>[] = [];
    for (let i = 0; i < n; i++) {
      const l = t.trainStep();
      out.push(
        Object.fromEntries(await Promise.all(Object.entries(l).map(async ([k, v]) => [k, await v.item()]))),
      );
      Object.values(l).forEach((v) => v.dispose());
    }
    return out;
  }

  it('a run stopped after 2 steps and resumed from its checkpoint equals a 4-step run bit for bit', async () => {
    const whole = new GeneratorTrainer(train(4), data);
    const wholeLosses = await losses(whole, 4);
    const first = new GeneratorTrainer(train(4), data);
    const firstLosses = await losses(first, 2);
    const bytes = await buildCheckpoint(first.checkpointParts({ note: 'test' }));
    first.dispose();
    const second = new GeneratorTrainer(train(4), data);
    second.restore(parseCheckpoint(bytes, 'ckpt'), 'ckpt');
    const secondLosses = await losses(second, 2);
    expect([...firstLosses, ...secondLosses]).toEqual(wholeLosses);
    expect(await state(second)).toEqual(await state(whole));
    for (const l of wholeLosses) {
      expect(Object.keys(l).sort()).toEqual(['loss_d', 'loss_g', 'r1', 'recon']);
      for (const v of Object.values(l)) expect(Number.isFinite(v)).toBe(true);
    }
    expect(wholeLosses[0].r1).toBeGreaterThan(0); // R1 at step 0 and 2
    expect(wholeLosses[1].r1).toBe(wholeLosses[0].r1);
    expect(wholeLosses[2].r1).not.toBe(wholeLosses[0].r1);
    // G_ema moved away from its start (G's initial weights) and is not G
    const ema = await whole.nets.Gema.synthesis.constInput.toArray();
    expect(ema).not.toEqual(await whole.nets.G.synthesis.constInput.toArray());
    whole.dispose();
    second.dispose();
  });

  it('holds no tensor from one step to the next (plain and R1 steps)', async () => {
    const t = new GeneratorTrainer(train(8), data);
    await losses(t, 2); // Adam's moments exist after the first step of each network
    const live = E.liveTensors();
    await losses(t, 3); // steps 2 (R1), 3, 4 (R1)
    expect(E.liveTensors()).toBe(live);
    t.dispose();
  });

  it('refuses a checkpoint made with other settings, naming them; resumes an export without optimizer state', async () => {
    const t = new GeneratorTrainer(train(4), data);
    await losses(t, 1);
    const full = await buildCheckpoint(t.checkpointParts({}));
    const exported = await buildCheckpoint(t.checkpointParts({}, false));
    expect(exported.length).toBeLessThan(full.length);
    const other = new GeneratorTrainer({ ...train(4), emaHalfLifeImages: 500 }, data);
    expect(() => other.restore(parseCheckpoint(full, 'c'), 'c')).toThrow(
      /c: the checkpoint was made with other settings \(emaHalfLifeImages: 10000 there\)/,
    );
    // a run extended, a loss reweighted: a curriculum step, accepted and reported
    const longer = new GeneratorTrainer({ ...train(40), lrD: 0.001, newIdentityFraction: 0 }, data);
    expect(longer.restore(parseCheckpoint(full, 'c'), 'c')).toEqual({
      lrD: { was: 0.0025, now: 0.001 },
      newIdentityFraction: { was: 0.25, now: 0 },
    });
    expect(longer.step).toBe(1);
    await losses(longer, 1);
    longer.dispose();
    const again = new GeneratorTrainer(train(4), data);
    again.restore(parseCheckpoint(exported, 'e'), 'e');
    expect(again.step).toBe(1);
    expect(await readTensors(again.nets.stateDict())).toEqual(await readTensors(t.nets.stateDict()));
    await losses(again, 1);
    for (const x of [t, other, again]) x.dispose();
  });

  it('recombined fakes only: no reconstruction; the recombination is part of the resumable state', async () => {
    expect(() => new GeneratorTrainer({ ...train(4), newIdentityFraction: 0.75 }, data)).toThrow(
      /comboFraction 0.5 and newIdentityFraction 0.75 must satisfy 0 <= new <= combo <= 1/,
    );
    expect(() => new GeneratorTrainer(train(4), real)).toThrow(
      /newIdentityFraction 0.25 needs the data's identityPrior/,
    );
    const t = new GeneratorTrainer({ ...train(4), comboFraction: 1 }, data);
    const [l] = await losses(t, 1);
    expect(Object.keys(l).sort()).toEqual(['loss_d', 'loss_g', 'r1']);
    expect(t.comboGen.state().offset).toBeGreaterThan(0);
    t.dispose();
  });

  it('DiffAugment: a run stopped and resumed equals an uninterrupted one; older checkpoints without its generator resume', async () => {
    const aug = { ...train(3), diffAugment: true };
    const whole = new GeneratorTrainer(aug, data);
    const wholeLosses = await losses(whole, 3);
    const first = new GeneratorTrainer(aug, data);
    const firstLosses = await losses(first, 1);
    const ckpt = parseCheckpoint(await buildCheckpoint(first.checkpointParts({})), 'c');
    const second = new GeneratorTrainer(aug, data);
    second.restore(ckpt, 'c');
    expect([...firstLosses, ...(await losses(second, 2))]).toEqual(wholeLosses);
    expect(second.augmentGen.state()).toEqual(whole.augmentGen.state());
    expect(second.augmentGen.state().offset).toBeGreaterThan(0);
    // without augmentation the same run differs
    const plain = new GeneratorTrainer(train(3), data);
    expect(await losses(plain, 1)).not.toEqual(wholeLosses.slice(0, 1));
    // a checkpoint made before the augmentation's generator existed
    delete (ckpt.rng as Record<string, unknown>).augment;
    const old = new GeneratorTrainer(aug, data);
    old.restore(ckpt, 'old');
    expect(old.step).toBe(1);
    for (const t of [whole, first, second, plain, old]) t.dispose();
  });

  it('the factor loss: each group is the mean squared error of what the predictor reads back', async () => {
    const F = 128 + EXP + 3 + 6;
    // a fixed linear reader of the 1x1-pooled image: P(x) = mean_rgb(x) * a + b (a, b per factor)
    const a = E.tensor(
      Float32Array.from({ length: F }, (_, j) => Math.sin(j)),
      [1, F],
    );
    const b = E.tensor(
      Float32Array.from({ length: F }, (_, j) => 0.1 * Math.cos(j)),
      [1, F],
    );
    const predictor = {
      predict: (x: E.Tensor) => E.add(E.matmul(E.reshape(E.mean(x, [1, 2, 3]), [x.shape[0], 1]), a), b),
    };
    expect(() => new GeneratorTrainer({ ...train(4), factorWeight: 1 }, data)).toThrow(
      /factorWeight 1 needs the data's factorPredictor/,
    );
    const t = new GeneratorTrainer({ ...train(4), factorWeight: 1 }, { ...data, factorPredictor: predictor });
    const [l] = await losses(t, 1);
    expect(Object.keys(l).sort()).toEqual([
      'f_exp',
      'f_id',
      'f_light',
      'f_pose',
      'loss_d',
      'loss_g',
      'r1',
      'recon',
    ]);
    // the loss moves G: the same step without it ends elsewhere
    const without = new GeneratorTrainer(train(4), { ...data, factorPredictor: predictor });
    await losses(without, 1);
    expect(await without.G.synthesis.constInput.toArray()).not.toEqual(
      await t.G.synthesis.constInput.toArray(),
    );
    without.dispose();
    // each group's value on a known input, against the CPU
    const fakes = E.tensor(
      Float32Array.from({ length: 2 * 3 * 16 * 16 }, (_, i) => Math.sin(i)),
      [2, 3, 16, 16],
    );
    const asked = E.tensor(
      Float32Array.from({ length: 2 * F }, (_, i) => Math.cos(i)),
      [2, F],
    );
    const groups = (
      t as unknown as { factorErrors: (x: E.Tensor, c: E.Tensor) => Record<string, E.Tensor> }
    ).factorErrors(fakes, asked);
    const pred = await predictor.predict(fakes).toArray(),
      want = await asked.toArray();
    const groupMse = (from: number, d: number) => {
      let s = 0;
      for (let n = 0; n < 2; n++)
        for (let j = from; j < from + d; j++) s += (pred[n * F + j] - want[n * F + j]) ** 2;
      return s / (2 * d);
    };
    expect(await groups.f_id.item()).toBeCloseTo(groupMse(0, 128), 5);
    expect(await groups.f_exp.item()).toBeCloseTo(groupMse(128, EXP), 5);
    expect(await groups.f_pose.item()).toBeCloseTo(groupMse(128 + EXP, 3), 5);
    expect(await groups.f_light.item()).toBeCloseTo(groupMse(131 + EXP, 6), 5);
    t.dispose();
  });
});
