/**
 * New identities (src/models/generator/identity-prior.ts): the fitted Gaussian reproduces the
 * training people's statistics, rejection keeps every sample away from every training person,
 * and a seed gives the same identities; personMeanRows gives each row its person's mean, people
 * interleaved in any order. No GPU.
 * Oracles: the moments of the data it was fitted to, brute-force distances.
 */
import { describe, expect, it } from 'vitest';
import { Generator } from '../src/tensor/random.js';
import {
  fitIdentityPrior,
  peopleNearestDistances,
  personMeanRows,
  sampleIdentities,
  widenPrior,
} from '../src/models/generator/identity-prior.js';

const DIM = 6;
const STD = [0.3, 0.1, 0.2, 0.05, 0.15, 0.25];

/** 60 people x 3 images: person centres ~ N(0.1 j, STD_j), images = centre + noise 0.01. */
function people() {
  let s = 42;
  const u = () => ((s = (s * 1103515245 + 12345) >>> 0) + 0.5) / 2 ** 32;
  const gauss = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  const P = 60,
    per = 3;
  const centres = Array.from({ length: P }, () => STD.map((sd, j) => 0.1 * j + sd * gauss()));
  const desc = new Float32Array(P * per * DIM);
  const person: number[] = [];
  for (let p = 0; p < P; p++)
    for (let k = 0; k < per; k++) {
      person.push(p);
      for (let j = 0; j < DIM; j++) desc[(p * per + k) * DIM + j] = centres[p][j] + 0.01 * gauss();
    }
  return { desc, person, centres };
}

describe('identity prior', () => {
  const { desc, person, centres } = people();
  const prior = fitIdentityPrior(desc, person, DIM);

  it("samples with the people's mean and spread", () => {
    const n = 4000;
    const x = sampleIdentities(prior, n, new Generator(1), 0);
    for (let j = 0; j < DIM; j++) {
      let m = 0,
        v = 0;
      for (let i = 0; i < n; i++) m += x[i * DIM + j] / n;
      for (let i = 0; i < n; i++) v += (x[i * DIM + j] - m) ** 2 / n;
      const cm = centres.reduce((a, c) => a + c[j], 0) / centres.length;
      const cv = centres.reduce((a, c) => a + (c[j] - cm) ** 2, 0) / centres.length;
      expect(Math.abs(m - cm)).toBeLessThan(0.1 * Math.sqrt(cv) + 0.01 * STD[j]);
      expect(Math.sqrt(v) / Math.sqrt(cv)).toBeGreaterThan(0.9);
      expect(Math.sqrt(v) / Math.sqrt(cv)).toBeLessThan(1.1);
    }
  });

  it('keeps every sample at least minDistance from every training person, and a seed repeats them', () => {
    const min = 0.15;
    const x = sampleIdentities(prior, 200, new Generator(7), min);
    let nearest = Infinity;
    for (let i = 0; i < 200; i++)
      for (const c of centres) {
        // against the person's mean over its images, as the prior measures it
        const p = centres.indexOf(c);
        let s = 0;
        for (let j = 0; j < DIM; j++) {
          let m = 0;
          for (let k = 0; k < 3; k++) m += desc[(p * 3 + k) * DIM + j] / 3;
          s += (x[i * DIM + j] - m) ** 2;
        }
        nearest = Math.min(nearest, Math.sqrt(s));
      }
    expect(nearest).toBeGreaterThanOrEqual(min - 1e-6);
    expect(sampleIdentities(prior, 200, new Generator(7), min)).toEqual(x);
    expect(sampleIdentities(prior, 200, new Generator(8), min)).not.toEqual(x);
  });

  it("gives the training people's nearest-neighbour distances, ascending", () => {
    const d = peopleNearestDistances(prior);
    expect(d.length).toBe(60);
    const means = centres.map((_, p) =>
      Array.from(
        { length: DIM },
        (_, j) => (desc[p * 3 * DIM + j] + desc[(p * 3 + 1) * DIM + j] + desc[(p * 3 + 2) * DIM + j]) / 3,
      ),
    );
    const brute = means
      .map((a, p) =>
        Math.min(...means.filter((_, q) => q !== p).map((b) => Math.hypot(...a.map((v, j) => v - b[j])))),
      )
      .sort((a, b) => a - b);
    brute.forEach((v, i) => expect(d[i]).toBeCloseTo(v, 5));
  });

  it("widenPrior scales every draw's offset from the mean by the spread, same stream", () => {
    const x = sampleIdentities(prior, 50, new Generator(3), 0);
    const wide = widenPrior(prior, 1.5);
    const y = sampleIdentities(wide, 50, new Generator(3), 0);
    for (let i = 0; i < 50; i++)
      for (let j = 0; j < DIM; j++) {
        const m = prior.mean[j];
        expect(y[i * DIM + j] - m).toBeCloseTo(1.5 * (x[i * DIM + j] - m), 5);
      }
    // the people (what rejection measures against) and the fitted prior itself are unchanged
    expect(wide.people).toBe(prior.people);
    expect(sampleIdentities(prior, 50, new Generator(3), 0)).toEqual(x);
    for (const bad of [0, -1, NaN, Infinity])
      expect(() => widenPrior(prior, bad)).toThrow(/widenPrior: spread .* is not a positive number/);
  });

  it("personMeanRows: each row its person's mean, whatever the order of the rows", () => {
    // rows of people 'b', 'a', 'b', 'c', 'a' (2-d): means a (2, 3), b (0, 1), c (5, 5)
    const d = Float32Array.from([1, 0, 1, 4, -1, 2, 5, 5, 3, 2]);
    const rows = personMeanRows(d, ['b', 'a', 'b', 'c', 'a'], 2);
    expect([...rows]).toEqual([0, 1, 2, 3, 0, 1, 5, 5, 2, 3]);
    // the prior's people are the same means
    const rebuilt = personMeanRows(desc, person, DIM);
    for (let r = 0; r < person.length; r++)
      expect([...rebuilt.subarray(r * DIM, (r + 1) * DIM)]).toEqual([
        ...prior.people.subarray(person[r] * DIM, (person[r] + 1) * DIM),
      ]);
    expect(() => personMeanRows(d, ['a', 'b'], 2)).toThrow(/personMeans: 10 values for 2 rows of 2/);
  });

  it('names an impossible distance and a prior of one person', () => {
    expect(() => sampleIdentities(prior, 3, new Generator(1), 100, 50)).toThrow(
      /0 of 3 identities after 50 draws: the prior rarely leaves distance 100/,
    );
    expect(() => fitIdentityPrior(desc.slice(0, 3 * DIM), [0, 0, 0], DIM)).toThrow(/1 person/);
  });
});
