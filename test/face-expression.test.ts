/**
 * The expression code (src/face/expression.ts): synthetic training shapes with known
 * deformation modes (mouth opening, brows raised, smile) of decreasing variance, identity
 * offsets per person, noise, and a random similarity each. Checked: PCA finds the modes; a
 * face deformed along one mode gets that mode's code back; moving, turning and scaling the
 * whole shape does not change the code; per-person centring removes a person's fixed shape;
 * the model survives safetensors; bad input is named. CPU only.
 */
import { describe, expect, it } from 'vitest';
import {
  EXPRESSION_DIM,
  EXPRESSION_POINTS,
  expressionCode,
  expressionModelFromTensors,
  expressionModelTensors,
  explainedFraction,
  fitExpressionModel,
} from '../src/face/expression.js';
import { symmetricEigen } from '../src/face/linalg.js';
import { parseSafetensors, serializeSafetensors } from '../src/io/safetensors.js';
import { face68In3d, gaussian, projectFace, rng } from './face-synthetic.js';

// the frontal synthetic face, outer eye corners at (-1/2, 0) and (1/2, 0)
const BASE = (() => {
  const p = projectFace(face68In3d(), { yaw: 0, pitch: 0, roll: 0 }, 1, [0, 0]);
  const [cx, iod] = [(p[72] + p[90]) / 2, p[90] - p[72]];
  const cy = p[73];
  return p.map((v, i) => (i % 2 ? v - cy : v - cx) / iod);
})();

/** A unit deformation (136) moving `moves` points by [dx, dy]. */
function mode(moves: [number, number, number][]): Float64Array {
  const e = new Float64Array(136);
  for (const [i, dx, dy] of moves) [e[2 * i], e[2 * i + 1]] = [dx, dy];
  const n = Math.hypot(...e);
  return e.map((v) => v / n);
}
const MOUTH_OPEN = mode([56, 57, 58, 65, 66, 67].map((i) => [i, 0, 1] as [number, number, number]));
const BROWS_UP = mode(
  [17, 18, 19, 20, 21, 22, 23, 24, 25, 26].map((i) => [i, 0, -1] as [number, number, number]),
);
const SMILE = mode([
  [48, -1, -1],
  [54, 1, -1],
  [60, -1, -1],
  [64, 1, -1],
]);
const WIDE_MOUTH = mode([
  [49, -1, 0],
  [59, -1, 0],
  [53, 1, 0],
  [55, 1, 0],
]); // an identity trait, fixed per person (on other points than SMILE: the modes are orthogonal)

/** shape = similarity(BASE + sum c_j mode_j + noise). */
function makeShape(coefs: [Float64Array, number][], u: () => number, noise = 0.002): Float64Array {
  const s = Float64Array.from(BASE);
  for (const [e, c] of coefs) for (let k = 0; k < 136; k++) s[k] += c * e[k];
  for (let k = 0; k < 136; k++) s[k] += noise * gaussian(u);
  return similarity(s, 20 + 80 * u(), (u() - 0.5) * 1.0, [200 * u(), 200 * u()]);
}

function similarity(s: Float64Array, scale: number, angle: number, t: [number, number]): Float64Array {
  const [c, si] = [scale * Math.cos(angle), scale * Math.sin(angle)];
  const out = new Float64Array(136);
  for (let i = 0; i < 68; i++) {
    out[2 * i] = c * s[2 * i] - si * s[2 * i + 1] + t[0];
    out[2 * i + 1] = si * s[2 * i] + c * s[2 * i + 1] + t[1];
  }
  return out;
}

/** The mode restricted to the 84 expression coordinates (what the basis vectors live in). */
const restrict = (e: Float64Array) =>
  Float64Array.from(EXPRESSION_POINTS.flatMap((i) => [e[2 * i], e[2 * i + 1]]));
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((s, v, i) => s + v * b[i], 0);
const row = (m: Float64Array, r: number) => m.subarray(r * EXPRESSION_DIM, (r + 1) * EXPRESSION_DIM);

function trainingSet(seed: number) {
  const u = rng(seed);
  const shapes: Float64Array[] = [];
  const people: number[] = [];
  const traits: number[] = [];
  for (let person = 0; person < 100; person++) {
    // how wide this person's mouth is: +-t in pairs of people, so the mean face has no trait
    const trait = person % 2 ? -traits[person - 1] : (traits[person] = 0.15 * gaussian(u));
    for (let img = 0; img < 5; img++) {
      shapes.push(
        makeShape(
          [
            [MOUTH_OPEN, 0.08 * gaussian(u)],
            [BROWS_UP, 0.04 * gaussian(u)],
            [SMILE, 0.02 * gaussian(u)],
            [WIDE_MOUTH, trait],
          ],
          u,
        ),
      );
      people.push(person);
    }
  }
  return { shapes, people };
}

describe('expression code: Procrustes residuals and PCA', () => {
  const { shapes, people } = trainingSet(3);
  const model = fitExpressionModel(shapes, { people });

  it('Jacobi eigendecomposition: S v = lambda v, orthonormal, decreasing', () => {
    const u = rng(9);
    const n = 12;
    const A = new Float64Array(n * n).map(() => u() - 0.5);
    const S = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) S[i * n + j] += A[k * n + i] * A[k * n + j];
    const { values, vectors } = symmetricEigen(S, n);
    for (let r = 0; r < n; r++) {
      const v = vectors.subarray(r * n, (r + 1) * n);
      for (let i = 0; i < n; i++) {
        let sv = 0;
        for (let j = 0; j < n; j++) sv += S[i * n + j] * v[j];
        expect(sv).toBeCloseTo(values[r] * v[i], 10);
      }
      expect(dot(v, v)).toBeCloseTo(1, 12);
      if (r) expect(values[r]).toBeLessThanOrEqual(values[r - 1]);
    }
  });

  it('finds the deformation modes in order of variance, and chooses k by explained variance', () => {
    const want = [MOUTH_OPEN, BROWS_UP, SMILE].map(restrict);
    want.forEach((e, j) => expect(Math.abs(dot(row(model.basis, j), e))).toBeGreaterThan(0.99));
    const k = model.variances.length;
    console.log(
      `expression PCA (synthetic): k = ${k}, explained ${(100 * explainedFraction(model)).toFixed(1)}%, ` +
        `std per component ${Array.from(model.variances, (v) => Math.sqrt(v).toFixed(4)).join(' ')}`,
    );
    expect(k).toBeGreaterThanOrEqual(5);
    expect(k).toBeLessThanOrEqual(10);
    expect(fitExpressionModel(shapes, { people, k: 3 }).variances.length).toBe(3);
  });

  it("a face deformed along one of the model's components gets that amount back, ~0 elsewhere", () => {
    const zero = new Float64Array(EXPRESSION_DIM); // the face's own neutral: the mean shape
    let worst = 0;
    for (let j = 0; j < model.variances.length; j++) {
      const face = Float64Array.from(model.meanShape);
      EXPRESSION_POINTS.forEach((p, i) => {
        face[2 * p] += 0.1 * model.basis[j * EXPRESSION_DIM + 2 * i];
        face[2 * p + 1] += 0.1 * model.basis[j * EXPRESSION_DIM + 2 * i + 1];
      });
      const code = expressionCode(similarity(face, 40, 0.3, [60, 70]), model, zero);
      code.forEach((c, i) => (worst = Math.max(worst, Math.abs(c - (i === j ? 0.1 : 0)))));
    }
    console.log(`expression: component amounts 0.1 recovered within ${worst.toExponential(2)}`);
    // not exact: the eye corners are both residual and alignment points (3.4e-3 seen)
    expect(worst).toBeLessThan(0.005);
  });

  it('a face deformed along a synthetic mode gets it on the matching component', () => {
    const zero = new Float64Array(EXPRESSION_DIM);
    for (const [j, e] of [MOUTH_OPEN, BROWS_UP, SMILE].entries()) {
      const code = expressionCode(makeShape([[e, 0.1]], rng(50 + j), 0), model, zero);
      const sign = Math.sign(dot(row(model.basis, j), restrict(e)));
      expect(Math.abs(sign * code[j] - 0.1)).toBeLessThan(0.01);
      code.forEach((c, i) => i !== j && expect(Math.abs(c)).toBeLessThan(0.01));
    }
  });

  it('moving, turning and scaling the whole shape does not change the code', () => {
    const face = makeShape(
      [
        [MOUTH_OPEN, 0.07],
        [SMILE, -0.04],
      ],
      rng(77),
    );
    const code = expressionCode(face, model);
    for (const [scale, angle, t] of [
      [3, 0.4, [10, -5]],
      [0.2, -0.9, [300, 40]],
      [1, Math.PI / 2, [0, 0]],
    ] as const) {
      const moved = similarity(face, scale, angle, [t[0], t[1]]);
      expressionCode(moved, model).forEach((c, i) => expect(c).toBeCloseTo(code[i], 9));
    }
  });

  it("per-person centring removes a person's fixed shape (not an expression)", () => {
    const wide = restrict(WIDE_MOUTH);
    const pooled = fitExpressionModel(shapes); // no people: the identity trait dominates
    expect(Math.abs(dot(row(pooled.basis, 0), wide))).toBeGreaterThan(0.9);
    for (let j = 0; j < model.variances.length; j++)
      expect(Math.abs(dot(row(model.basis, j), wide))).toBeLessThan(0.2);
  });

  it('survives safetensors (float32), and a damaged file names the tensor', () => {
    const { tensors, metadata } = expressionModelTensors(model);
    const back = parseSafetensors(serializeSafetensors(tensors, metadata), 'expr.safetensors');
    const loaded = expressionModelFromTensors(back.tensors, back.metadata, 'expr.safetensors');
    const face = makeShape([[BROWS_UP, 0.06]], rng(8));
    const [a, b] = [expressionCode(face, model), expressionCode(face, loaded)];
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 5));
    const { basis: _drop, ...rest } = back.tensors;
    expect(() => expressionModelFromTensors(rest, back.metadata, 'expr.safetensors')).toThrow(
      /expr.safetensors: expression model: tensor 'basis' is missing/,
    );
    expect(() => fitExpressionModel(shapes, { k: 0 })).toThrow(/k = 0 components/);
    expect(() => fitExpressionModel(shapes.slice(0, 1))).toThrow(/PCA needs at least 2/);
    const nan = Float64Array.from(shapes[0]);
    nan[2 * 50 + 1] = NaN;
    expect(() => expressionCode(nan, model)).toThrow(/point 50 has y = NaN/);
  });
});
