/**
 * SynFace's recognizer training (src/train/recognizer-trainer.ts, synfaceStep): identity
 * mixup's soft labels and domain mixup with real images.
 * Oracles: soft labels that mix nothing train bit for bit as integer labels (synfaceLoss with
 * w_a = 1, w_b = 0, psi = 1 is the ArcFace cross-entropy); a domain-mixup run learns, keeps its
 * buffers flat, draws psi on the grid and resumes bit for bit; its batches (synfaceBatch) blend
 * x = psi x_S + (1 - psi) x_R (checked on the CPU), carry each row's soft label and 1 - phi, and
 * real labels offset past the synthetic classes.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { buildCheckpoint, parseCheckpoint } from '../src/io/checkpoint.js';
import type { SoftLabels } from '../src/data/synthetic-dataset.js';
import { readTensors } from '../src/tensor/tensor-data.js';
import { PSI_STEPS, RecognizerTrainer, type TrainingData } from '../src/train/recognizer-trainer.js';
import { config, rows, syntheticCache } from './recognizer-fixture.js';

async function weights(t: RecognizerTrainer): Promise<Record<string, Float32Array>> {
  const d = await readTensors(t.model.stateDict());
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v.data as Float32Array]));
}

/** The fixture's 4 identities (labels 10..13) as soft labels 0..3; `mix` mixes rows i with identity (a + 1) % 4 at phi 0.35. */
function softLabels(mix: (row: number) => boolean): SoftLabels {
  const cache = syntheticCache();
  const a = Int32Array.from(cache.labels, (l) => l - 10);
  return {
    a,
    b: a.map((id, r) => (mix(r) ? (id + 1) % 4 : id)),
    phi: Float32Array.from(a, (_, r) => (mix(r) ? 0.35 : 1)),
    classes: 4,
  };
}

/** Real images: the fixture's images again, as 2 real people (its identities 0 and 1). */
function realData(): NonNullable<TrainingData['real']> {
  const cache = syntheticCache();
  const realRows = rows.filter((r) => cache.labels[r] <= 11);
  const labels = Int32Array.from(cache.labels, (l) => (l <= 11 ? l - 10 : -1));
  return { cache, rows: realRows, labels, people: 2 };
}

describe('RecognizerTrainer with SynFace data', () => {
  it('soft labels that mix nothing train exactly as integer labels (bit for bit)', async () => {
    const plain = new RecognizerTrainer(config, { cache: syntheticCache(), rows });
    const soft = new RecognizerTrainer(config, {
      cache: syntheticCache(),
      rows,
      soft: softLabels(() => false),
    });
    expect(soft.classes).toBe(4);
    for (let s = 0; s < 6; s++) {
      const [l1, l2] = [plain.trainStep(), soft.trainStep()];
      expect(await l2.item()).toBe(await l1.item());
      l1.dispose();
      l2.dispose();
    }
    const [w1, w2] = [await weights(plain), await weights(soft)];
    for (const k of Object.keys(w1)) expect(w2[k], k).toEqual(w1[k]);
    plain.dispose();
    soft.dispose();
  });

  it('identity and domain mixup: learns, buffers flat, psi on the grid, classes after the synthetic ones', async () => {
    const data = { cache: syntheticCache(), rows, soft: softLabels((r) => r % 3 === 0), real: realData() };
    const t = new RecognizerTrainer({ ...config, steps: 60 }, data);
    expect(t.classes).toBe(6);
    const device = E.getDevice();
    const losses: number[] = [];
    const psis = new Set<number>();
    let before = { tensors: 0, inUse: 0 };
    for (let s = 0; s < 60; s++) {
      const loss = t.trainStep();
      losses.push(await loss.item());
      loss.dispose();
      psis.add(t.lastPsi);
      expect(t.status().psi).toBe(t.lastPsi);
      if (s === 4) before = { tensors: E.liveTensors(), inUse: device.stats().inUse };
    }
    expect(E.liveTensors()).toBe(before.tensors);
    expect(device.stats().inUse).toBe(before.inUse);
    for (const p of psis)
      expect(
        Number.isInteger(Math.round(p * PSI_STEPS)) &&
          Math.abs(p * PSI_STEPS - Math.round(p * PSI_STEPS)) < 1e-9,
      ).toBe(true);
    expect(psis.size).toBeGreaterThan(10); // 60 draws from 21 values
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.7 * mean(losses.slice(0, 10)));
    t.dispose();
  });

  it('a domain-mixup run stopped, checkpointed and resumed ends with the same weights and psi draws', async () => {
    const data = () => ({
      cache: syntheticCache(),
      rows,
      soft: softLabels((r) => r % 3 === 0),
      real: realData(),
    });
    const straight = new RecognizerTrainer(config, data());
    const psiStraight: number[] = [];
    for (let s = 0; s < 10; s++) {
      straight.trainStep().dispose();
      psiStraight.push(straight.lastPsi);
    }
    const expected = await weights(straight);
    straight.dispose();

    const first = new RecognizerTrainer(config, data());
    for (let s = 0; s < 4; s++) first.trainStep().dispose();
    const bytes = await buildCheckpoint(first.checkpointParts());
    first.dispose();
    const ckpt = parseCheckpoint(bytes, 'ckpt');
    expect(Object.keys(ckpt.rng).sort()).toEqual(['augment', 'model', 'psi']);
    const resumed = new RecognizerTrainer(config, data());
    resumed.restore(ckpt, 'ckpt');
    const psiResumed: number[] = [];
    for (let s = 4; s < 10; s++) {
      resumed.trainStep().dispose();
      psiResumed.push(resumed.lastPsi);
    }
    expect(psiResumed).toEqual(psiStraight.slice(4));
    const got = await weights(resumed);
    for (const k of Object.keys(expected)) expect(got[k], k).toEqual(expected[k]);
    resumed.dispose();

    // a checkpoint without domain mixup cannot continue as one
    const plain = new RecognizerTrainer(config, { cache: syntheticCache(), rows });
    const plainBytes = await buildCheckpoint(plain.checkpointParts());
    plain.dispose();
    const dm = new RecognizerTrainer(config, data());
    expect(() => dm.restore(parseCheckpoint(plainBytes, 'plain.ckpt'), 'plain.ckpt')).toThrow(/plain\.ckpt/);
    dm.dispose();
  });

  it("synfaceBatch: x = psi x_S + (1 - psi) x_R, each row's soft label, real labels after the synthetic classes", async () => {
    const soft = softLabels((r) => r % 3 === 0);
    const real = realData();
    const t = new RecognizerTrainer(config, { cache: syntheticCache(), rows, soft, real });
    let inside = 0;
    for (let s = 0; s < 12; s++) {
      const batch = E.scope(() => t.synfaceBatch()); // its tensors are now ours to dispose
      const { xS, xR, x } = await readTensors({ xS: batch.xS, xR: batch.xR!, x: batch.x });
      const p = batch.psi;
      if (p > 0 && p < 1) inside++;
      for (let i = 0; i < x.data.length; i++)
        expect(Math.abs(x.data[i] - (p * xS.data[i] + (1 - p) * xR.data[i]))).toBeLessThan(1e-6);
      for (let i = 0; i < batch.a.length; i++) {
        expect(batch.wB[i]).toBeCloseTo(1 - batch.wA[i], 7);
        // the row's soft label: a mixed row (phi 0.35) has its partner as b
        expect(batch.wA[i] === 1 ? batch.b[i] === batch.a[i] : batch.b[i] === (batch.a[i] + 1) % 4).toBe(
          true,
        );
        expect([4, 5]).toContain(batch.r![i]);
      }
      for (const u of new Set([batch.xS, batch.xR!, batch.x])) u.dispose();
    }
    expect(inside).toBeGreaterThan(0);
    t.dispose();
  });
});
