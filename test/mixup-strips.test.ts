/**
 * The mixup strips of the demo (src/eval/mixup-strips.ts): the strips' end points are their
 * parents, exactly. Identity mixup through an untrained tiny generator: phi = 1 renders A as an
 * unmixed request of A does, phi = 0 renders B's identity with A's other inputs, and the middle
 * differs from both; domain mixup in pixels: psi = 0 is the real image, psi = 1 the synthetic.
 */
import { describe, expect, it } from 'vitest';
import { renderImages, type SyntheticRequests } from '../src/eval/generator-samples.js';
import { domainMixupStrip, identityMixupRequests, mixWeights } from '../src/eval/mixup-strips.js';
import {
  FaceGenerator,
  GENERATOR_PRESETS,
  fitFactorNorm,
  type FactorRows,
} from '../src/models/generator/index.js';
import { Generator } from '../src/tensor/random.js';

describe('mixWeights', () => {
  it('gives 0, 1/steps, ..., 1 and refuses a bad count', () => {
    expect([...mixWeights(4)]).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(() => mixWeights(0)).toThrow(/steps must be an integer >= 1, got 0/);
    expect(() => mixWeights(2.5)).toThrow(/got 2.5/);
  });
});

describe('domainMixupStrip', () => {
  it('runs from the real image (psi 0) to the synthetic one (psi 1), rounding each blend', () => {
    const syn = Uint8Array.from([0, 255, 100, 7]);
    const real = Uint8Array.from([200, 0, 100, 8]);
    const strip = domainMixupStrip(syn, real, 2);
    expect([...strip.subarray(0, 4)]).toEqual([...real]);
    expect([...strip.subarray(8, 12)]).toEqual([...syn]);
    expect([...strip.subarray(4, 8)]).toEqual([100, 128, 100, 8]); // 127.5 and 7.5 round up
    expect(() => domainMixupStrip(syn, real.subarray(0, 3), 2)).toThrow(/4 values, the real one 3/);
  });
});

describe('identityMixupRequests', () => {
  const EXP = 4;
  let s = 3;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const fill = (len: number, scale: number) => Float32Array.from({ length: len }, () => scale * rnd());
  const rows: FactorRows = {
    count: 8,
    descriptor: fill(8 * 128, 0.1),
    expression: fill(8 * EXP, 1),
    pose: fill(8 * 3, 30),
    lighting: fill(8 * 6, 0.2),
  };
  const zDim = GENERATOR_PRESETS.tiny.zDim;
  const two: SyntheticRequests = {
    count: 2,
    descriptor: rows.descriptor.slice(0, 256),
    expression: rows.expression.slice(0, 2 * EXP),
    pose: rows.pose.slice(0, 6),
    lighting: rows.lighting.slice(0, 12),
    z: fill(2 * zDim, 1),
    identityOf: Int32Array.from([0, 1]),
    identities: rows.descriptor.slice(0, 256),
  };

  it('keeps all but the identity fixed and refuses a bad pair', () => {
    const req = identityMixupRequests(two, 0, 1, 4, zDim);
    expect(req.count).toBe(5);
    expect([...req.mix.phi]).toEqual([0, 0.25, 0.5, 0.75, 1]);
    for (let k = 0; k < 5; k++) {
      expect([...req.pose.subarray(3 * k, 3 * k + 3)]).toEqual([...two.pose.subarray(0, 3)]);
      expect([...req.z.subarray(zDim * k, zDim * (k + 1))]).toEqual([...two.z.subarray(0, zDim)]);
      expect([...req.mix.partner.subarray(128 * k, 128 * (k + 1))]).toEqual([
        ...two.descriptor.subarray(128, 256),
      ]);
    }
    expect(() => identityMixupRequests(two, 1, 1, 4, zDim)).toThrow(/two different ones/);
    expect(() => identityMixupRequests(two, 0, 2, 4, zDim)).toThrow(/images 0 and 2 of 2/);
  });

  it("renders A at phi 1 and B (with A's other inputs) at phi 0, through the generator", async () => {
    const G = new FaceGenerator(
      { ...GENERATOR_PRESETS.tiny, expDim: EXP, norm: fitFactorNorm(rows) },
      new Generator(1),
    );
    try {
      const strip = await renderImages(G, identityMixupRequests(two, 0, 1, 2, zDim), { noiseSeed: 5 });
      const plain = (descriptorOf: number) =>
        renderImages(
          G,
          {
            count: 1,
            descriptor: two.descriptor.slice(128 * descriptorOf, 128 * (descriptorOf + 1)),
            expression: two.expression.slice(0, EXP),
            pose: two.pose.slice(0, 3),
            lighting: two.lighting.slice(0, 6),
            z: two.z.slice(0, zDim),
          },
          { noiseSeed: 5 },
        );
      const size = strip.length / 3;
      const [a, b] = [await plain(0), await plain(1)];
      const maxDiff = (x: Uint8Array, y: Uint8Array) => Math.max(...x.map((v, i) => Math.abs(v - y[i])));
      // mixIdentity computes phi a + (1 - phi) b in f32: at 0 and 1 it is one parent exactly;
      // a pixel may still round differently by one level where the parent sits at .5
      expect(maxDiff(strip.subarray(2 * size), a)).toBeLessThanOrEqual(1);
      expect(maxDiff(strip.subarray(0, size), b)).toBeLessThanOrEqual(1);
      expect(maxDiff(a, b)).toBeGreaterThan(5); // the parents differ: the check above can fail
      const middle = strip.subarray(size, 2 * size);
      expect(maxDiff(middle, a)).toBeGreaterThan(0);
      expect(maxDiff(middle, b)).toBeGreaterThan(0);
    } finally {
      G.dispose();
    }
  });
});
