/**
 * The in-browser demo's core (src/web/face-demo.ts) in Node, on the shipped files: factors
 * outside the training ranges refused by name; identity mixup at phi 1 and 0 rendering exactly
 * the two parents; domain mixup at psi 1 and 0 giving exactly the synthetic and the real input;
 * the verification's threshold read from the recognizer's manifest; a few training steps with
 * finite losses. The page runs this very code (test/browser/web-e2e.ts checks the parity).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceDemo, type FaceParams } from '../src/web/face-demo.js';

const root = join(import.meta.dirname, '..');
let demo: FaceDemo;
let base: FaceParams;

beforeAll(async () => {
  demo = await FaceDemo.open(async (path) => new Uint8Array(readFileSync(join(root, path))));
  const m = demo.ranges.median;
  base = { identity: 7, seed: 1, yaw: m.yaw, pitch: m.pitch, expression: m.expression, light: m.light };
}, 120_000);
afterAll(() => demo?.dispose());

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

describe('web demo core', () => {
  it('reads the ranges, the threshold and the sample', () => {
    const r = demo.ranges;
    expect(r.yaw[0]).toBeLessThan(r.median.yaw);
    expect(r.yaw[1]).toBeGreaterThan(r.median.yaw);
    expect(r.expression.min.length).toBe(demo.setup.config.expDim);
    expect(r.light.min.length).toBe(6);
    const manifest = JSON.parse(readFileSync(join(root, 'weights/recognizer-small.manifest.json'), 'utf8'));
    expect(demo.threshold).toBe(manifest.validation.threshold);
    expect(demo.sample.length).toBe(329);
    expect(demo.sample.some((s) => s.heldOut) && demo.sample.some((s) => !s.heldOut)).toBe(true);
  });

  it('refuses factors outside the training ranges, by name', async () => {
    const r = demo.ranges;
    await expect(demo.generate({ ...base, yaw: r.yaw[1] + 0.5 })).rejects.toThrow(
      /--yaw .* outside the range/,
    );
    await expect(demo.generate({ ...base, pitch: r.pitch[0] - 0.5 })).rejects.toThrow(/--pitch/);
    const e = [...base.expression];
    e[0] = r.expression.max[0] + 0.01;
    await expect(demo.generate({ ...base, expression: e })).rejects.toThrow(/--expression value 1/);
    await expect(demo.generate({ ...base, light: [0.5] })).rejects.toThrow(/--light has 1 value/);
    await expect(demo.generate({ ...base, mix: { identity: 8, phi: 1.1 } })).rejects.toThrow(/phi 1.1/);
  });

  it('renders the same face for the same factors, another for another yaw', async () => {
    const a = await demo.generate(base);
    const b = await demo.generate(base);
    expect(maxDiff(a.raw!, b.raw!)).toBe(0);
    const c = await demo.generate({ ...base, yaw: base.yaw + 15 });
    expect(maxDiff(a.raw!, c.raw!)).toBeGreaterThan(1e-3);
  });

  it('identity mixup at phi 1 and 0 renders exactly the two parents', async () => {
    const a = await demo.generate(base);
    const b = await demo.generate({ ...base, identity: 8 });
    const at1 = await demo.generate({ ...base, mix: { identity: 8, phi: 1 } });
    const at0 = await demo.generate({ ...base, mix: { identity: 8, phi: 0 } });
    const half = await demo.generate({ ...base, mix: { identity: 8, phi: 0.5 } });
    expect(maxDiff(at1.raw!, a.raw!)).toBe(0);
    expect(maxDiff(at0.raw!, b.raw!)).toBe(0);
    expect(maxDiff(half.raw!, a.raw!)).toBeGreaterThan(1e-3);
    expect(maxDiff(half.raw!, b.raw!)).toBeGreaterThan(1e-3);
  });

  it('domain mixup at psi 1 and 0 gives exactly the synthetic and the real input', async () => {
    const s = await demo.generate(base);
    const r = await demo.realFace(0);
    expect(maxDiff((await demo.domainMix(s, r, 1)).normalized, s.normalized)).toBe(0);
    expect(maxDiff((await demo.domainMix(s, r, 0)).normalized, r.normalized)).toBe(0);
    const half = await demo.domainMix(s, r, 0.5);
    for (const i of [0, 1000, 5000])
      expect(half.normalized[i]).toBeCloseTo(0.5 * s.normalized[i] + 0.5 * r.normalized[i], 6);
    await expect(demo.domainMix(s, r, -0.1)).rejects.toThrow(/psi -0.1/);
  });

  it('verifies: a face with itself is the same person at the manifest threshold', async () => {
    const a = await demo.realFace(0);
    const v = await demo.verify(a, a);
    expect(v.cosine).toBeCloseTo(1, 5);
    expect(v.same).toBe(true);
    expect(v.threshold).toBe(demo.threshold);
  });

  it('trains a few steps on the sample with a finite loss per step', async () => {
    const seen: number[] = [];
    const { losses, trainer } = await demo.train({ steps: 2, batch: 8, onStep: (s) => void seen.push(s) });
    try {
      expect(seen).toEqual([1, 2]);
      expect(losses.every(Number.isFinite)).toBe(true);
      demo.useRecognizer(trainer.model.backbone);
      const a = await demo.realFace(0);
      expect((await demo.verify(a, a)).cosine).toBeCloseTo(1, 5);
    } finally {
      demo.useRecognizer(null);
      trainer.dispose();
    }
  }, 120_000);
});
