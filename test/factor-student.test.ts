/**
 * The factor student (models/factor-student.ts, its weights file and train/student-trainer.ts):
 * shapes and layout, raw <-> standardized round trips, the group-weighted loss against a CPU
 * computation, the pixel shift, a tiny distillation on synthetic data whose loss falls, a
 * bit-exact resume, the weights file round trip and its refusals.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { fitFactorNorm, type FactorRows } from '../src/models/generator/factors.js';
import {
  EQUAL_GROUPS,
  FactorStudent,
  factorLayout,
  factorLoss,
  freezeStudent,
  normConversion,
  predictFactorsIn,
  standardizedTargets,
  STUDENT_BACKBONES,
  unstandardize,
  type FactorStudentConfig,
} from '../src/models/factor-student.js';
import { loadFactorStudent, serializeFactorStudent } from '../src/models/factor-student-weights.js';
import { buildCheckpoint, parseCheckpoint } from '../src/io/checkpoint.js';
import { serializeSafetensors } from '../src/io/safetensors.js';
import { shiftedPixels, StudentTrainer, STUDENT_TRAIN_DEFAULTS } from '../src/train/student-trainer.js';

const DIMS = { descriptorDim: 4, expDim: 2, poseDim: 3 as const, lightDim: 2 };
const D = 4 + 2 + 3 + 2;

/** A uniform stream in [-1, 1) (LCG), reproducible. */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
}

/**
 * n synthetic 64x64 images driven by 3 hidden values c per image (a channel offset, a
 * horizontal and a vertical gradient, plus noise), and factors that are fixed linear mixes of
 * c (in raw units of different scales): a student can learn them from the pixels.
 */
function syntheticData(n: number, seed: number) {
  const rnd = uniform(seed);
  const R = 64,
    size = 3 * R * R;
  const pixels = new Uint8Array(n * size);
  const c = Array.from({ length: n }, () => [rnd(), rnd(), rnd()]);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < 3; ch++)
      for (let y = 0; y < R; y++)
        for (let x = 0; x < R; x++) {
          const v =
            128 +
            40 * c[i][0] * (ch === 0 ? 1 : -0.5) +
            40 * c[i][1] * ((x - 32) / 32) +
            40 * c[i][2] * ((y - 32) / 32);
          pixels[i * size + (ch * R + y) * R + x] = Math.max(0, Math.min(255, Math.round(v + 8 * rnd())));
        }
  const mix = Array.from({ length: D }, () => [rnd(), rnd(), rnd()]);
  const scales = [1, 1, 1, 1, 0.5, 0.5, 30, 30, 30, 0.1, 0.1]; // descriptor, expression, degrees, lighting
  const f = (j: number, i: number) =>
    scales[j] * (mix[j][0] * c[i][0] + mix[j][1] * c[i][1] + mix[j][2] * c[i][2]) + j;
  const col = (from: number, d: number) =>
    Float32Array.from({ length: n * d }, (_, k) => f(from + (k % d), Math.floor(k / d)));
  const factors: FactorRows = {
    count: n,
    descriptor: col(0, 4),
    expression: col(4, 2),
    pose: col(6, 3),
    lighting: col(9, 2),
  };
  const cache = { count: n, C: 3, H: R, W: R, labels: new Int32Array(n), pixels };
  return { cache, rows: Int32Array.from({ length: n }, (_, k) => k), factors };
}

function config(factors: FactorRows, backbone = STUDENT_BACKBONES.tiny): FactorStudentConfig {
  return { backbone, ...DIMS, norm: fitFactorNorm(factors) };
}

describe('factor student', () => {
  it('maps (N, 3, 64, 64) to (N, D) laid out as [descriptor | expression | pose | lighting]', async () => {
    const { factors } = syntheticData(4, 1);
    const layout = factorLayout(DIMS);
    expect(layout.dim).toBe(D);
    expect(layout.slices).toEqual({
      descriptor: [0, 4],
      expression: [4, 6],
      pose: [6, 9],
      lighting: [9, 11],
    });
    const student = new FactorStudent(config(factors), new E.Generator(1));
    const y = E.scope(() => student.forward(E.randn([3, 3, 64, 64], 0, 0.5, new E.Generator(2))));
    expect(y.shape).toEqual([3, D]);
    expect(Array.from(await y.toArray()).every(Number.isFinite)).toBe(true);
    expect(() => student.forward(E.zeros([2, 3, 32, 32]))).toThrow(
      /expected images of shape \[N, 3, 64, 64\]/,
    );
    // as a frozen critic: outputs converted to another norm, gradients reach the images only
    freezeStudent(student);
    const other = fitFactorNorm(syntheticData(4, 9).factors);
    const conv = normConversion(student.config.norm, other);
    const x = E.randn([2, 3, 64, 64], 0, 0.5, new E.Generator(7));
    x.requiresGrad = true;
    const [own, converted] = E.scope(() => {
      const own = student.forward(x),
        converted = predictFactorsIn(student, x, conv);
      E.backward(E.sum(converted));
      return [own, converted];
    });
    const a = await own.toArray(),
      b = await converted.toArray();
    for (let i = 0; i < a.length; i++)
      expect(b[i]).toBeCloseTo(a[i] * conv.scale[i % D] + conv.shift[i % D], 4);
    expect(x.grad?.shape).toEqual([2, 3, 64, 64]);
    expect(student.parameters().every((p) => p.grad === null)).toBe(true);
    [y, own, converted, x.grad!, x].forEach((t) => t.dispose());
    student.dispose();
    expect(() => new FactorStudent({ ...config(factors), expDim: 3 })).toThrow(
      /norm.expression needs .* 3 values/,
    );
  });

  it('standardized targets unstandardize to the raw rows; normConversion maps one standardization to another', () => {
    const { factors } = syntheticData(10, 3);
    const norm = fitFactorNorm(factors);
    const idx = [7, 2, 2, 9];
    const t = standardizedTargets(factors, norm, idx);
    expect(t.length).toBe(idx.length * D);
    const raw = unstandardize(t, norm);
    expect(raw.count).toBe(idx.length);
    for (const [k, d] of [
      ['descriptor', 4],
      ['expression', 2],
      ['pose', 3],
      ['lighting', 2],
    ] as const)
      idx.forEach((r, n) => {
        for (let j = 0; j < d; j++) expect(raw[k][n * d + j]).toBeCloseTo(factors[k][r * d + j], 3);
      });
    // a second norm (another subset of rows): converting the first standardization gives the second's
    const other = fitFactorNorm({
      count: 5,
      descriptor: factors.descriptor.slice(0, 20),
      expression: factors.expression.slice(0, 10),
      pose: factors.pose.slice(0, 15),
      lighting: factors.lighting.slice(0, 10),
    });
    const t2 = standardizedTargets(factors, other, idx);
    const { scale, shift } = normConversion(norm, other);
    for (let n = 0; n < idx.length; n++)
      for (let j = 0; j < D; j++) expect(t[n * D + j] * scale[j] + shift[j]).toBeCloseTo(t2[n * D + j], 4);
    const same = normConversion(norm, norm);
    expect(Array.from(same.scale)).toEqual(new Array(D).fill(1));
    expect(Array.from(same.shift)).toEqual(new Array(D).fill(0));
    expect(() => unstandardize(new Float32Array(D + 1), norm)).toThrow(/not rows of the norm's 11/);
  });

  it('factorLoss weighs each group by its mean, not by its size (CPU reference)', async () => {
    const layout = factorLayout(DIMS);
    const rnd = uniform(5);
    const N = 3;
    const p = Float32Array.from({ length: N * D }, rnd),
      q = Float32Array.from({ length: N * D }, rnd);
    const weights = { descriptor: 1, expression: 2, pose: 0.5, lighting: 1 };
    const groupMean = (a: number, b: number) => {
      let s = 0;
      for (let n = 0; n < N; n++) for (let j = a; j < b; j++) s += (p[n * D + j] - q[n * D + j]) ** 2;
      return s / (N * (b - a));
    };
    const want = {
      descriptor: groupMean(0, 4),
      expression: groupMean(4, 6),
      pose: groupMean(6, 9),
      lighting: groupMean(9, 11),
    };
    const total = (want.descriptor + 2 * want.expression + 0.5 * want.pose + want.lighting) / 4.5;
    const got = E.scope(() => {
      const { total, groups } = factorLoss(E.tensor(p, [N, D]), E.tensor(q, [N, D]), layout, weights);
      return [total, groups.descriptor, groups.expression, groups.pose, groups.lighting];
    });
    const values = await Promise.all(got.map((t) => t.item()));
    got.forEach((t) => t.dispose());
    expect(values[0]).toBeCloseTo(total, 5);
    expect(values.slice(1)).toEqual(
      [want.descriptor, want.expression, want.pose, want.lighting].map((v) => expect.closeTo(v, 5)),
    );
    expect(() => factorLoss(E.zeros([N, D - 1]), E.zeros([N, D - 1]), layout)).toThrow(
      /must both be \[N, 11\]/,
    );
  });

  it('shiftedPixels moves the image and repeats the border, in the generator format', () => {
    const H = 3,
      W = 4;
    const pixels = Uint8Array.from({ length: 3 * H * W }, (_, i) => i * 7);
    const cache = { count: 1, C: 3, H, W, labels: new Int32Array(1), pixels };
    const out = shiftedPixels(cache, [0], [1], [-1]);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const sy = Math.min(H - 1, y + 1),
            sx = Math.max(0, x - 1);
          expect(out[(c * H + y) * W + x]).toBeCloseTo(pixels[(c * H + sy) * W + sx] / 127.5 - 1, 6);
        }
    expect(() => shiftedPixels(cache, [1], [0], [0])).toThrow(/row 1 is not in 0..0/);
  });

  it('a tiny distillation on synthetic data: the loss falls; a resumed run repeats the uninterrupted one', async () => {
    const data = syntheticData(48, 11);
    const train = {
      model: config(data.factors),
      batch: 8,
      steps: 60,
      ...STUDENT_TRAIN_DEFAULTS,
      lr: 5e-3,
      warmupSteps: 5,
      seed: 3,
    };
    const trainer = new StudentTrainer(train, data);
    const losses: number[] = [];
    let ckpt: Uint8Array | null = null;
    let afterResume: number[] = [];
    for (let s = 0; s < train.steps; s++) {
      const out = trainer.trainStep();
      losses.push(await out.loss.item());
      Object.values(out).forEach((t) => t.dispose());
      if (trainer.step === 20) ckpt = await buildCheckpoint(trainer.checkpointParts({}));
    }
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5,
      last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(first).toBeGreaterThan(0.5); // about 1 for a network that knows nothing
    expect(last).toBeLessThan(0.5 * first);
    trainer.dispose();

    const resumed = new StudentTrainer(train, data);
    resumed.restore(parseCheckpoint(ckpt!, 'ckpt'), 'ckpt');
    expect(resumed.step).toBe(20);
    for (let s = 0; s < 3; s++) {
      const out = resumed.trainStep();
      afterResume.push(await out.loss.item());
      Object.values(out).forEach((t) => t.dispose());
    }
    expect(afterResume).toEqual(losses.slice(20, 23));
    resumed.dispose();
    const other = new StudentTrainer({ ...train, jitter: 1 }, data);
    expect(() => other.restore(parseCheckpoint(ckpt!, 'ckpt'), 'ckpt')).toThrow(
      /other settings \(jitter: 2 there\)/,
    );
    other.dispose();
  }, 60_000);

  it('the weights file round trip gives identical outputs; other files and architectures are refused', async () => {
    const { factors } = syntheticData(6, 21);
    const student = new FactorStudent(config(factors), new E.Generator(4));
    student.eval();
    const x = E.randn([2, 3, 64, 64], 0, 0.5, new E.Generator(6));
    const bytes = await serializeFactorStudent(student, { note: 'test' });
    const {
      student: loaded,
      config: c,
      info,
    } = loadFactorStudent(bytes, 'student.safetensors', {
      backbone: STUDENT_BACKBONES.tiny,
      expDim: 2,
    });
    expect(info).toEqual({ note: 'test' });
    expect(c.norm).toEqual(student.config.norm);
    const [a, b] = E.scope(() => [student.forward(x), loaded.forward(x)]);
    expect(Array.from(await b.toArray())).toEqual(Array.from(await a.toArray()));
    [a, b, x].forEach((t) => t.dispose());
    loaded.dispose();
    student.dispose();

    expect(() =>
      loadFactorStudent(bytes, 'student.safetensors', { backbone: STUDENT_BACKBONES.base }),
    ).toThrow(/student.safetensors: weights of another factor student architecture: backbone .* there/);
    expect(() => loadFactorStudent(bytes, 'student.safetensors', { expDim: 8 })).toThrow(
      /expDim 2 there, 8 here/,
    );
    const foreign = serializeSafetensors({}, { format: 'synface-generator/1' });
    expect(() => loadFactorStudent(foreign, 'g.safetensors')).toThrow(
      /g.safetensors: not a factor student weights file \(format "synface-generator\/1"/,
    );
  }, 30_000);
});
