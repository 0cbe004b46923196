/**
 * The face generator (src/models/generator/) for the cross-environment suite (suite.ts): the
 * base preset, the one that ships (64x64, widths 128 .. 16, 0.8 M parameters), on fixed factor
 * inputs, so that a page renders the pixels Node renders. About 0.12 G multiply-adds per image:
 * the four images below take a few seconds on SwiftShader, so the smaller presets are not needed.
 *
 * Identical inputs on both sides, without any file:
 *  - weights: every parameter drawn from the CPU Philox stream of one seed (Generator.bitsCpu,
 *    integers, so exactly the same bits everywhere) and mapped to a uniform of the parameter's
 *    usual scale (unit variance for weights, 1/lrMul for the mapping, style biases near 1,
 *    non-zero noise strengths so the noise path counts). The GPU initializer is not used: its
 *    Box-Muller sin/cos differ between adapters (suite.ts's randn case), which would make the
 *    two generators differ before the test starts.
 *  - these weights go through serializeGenerator and loadGenerator (the way a trained generator
 *    reaches a page), and the file's CRC-32 must agree bit for bit;
 *  - descriptors, expression, pose, lighting and z from wave-like formulas; the per-layer noise
 *    maps from the CPU stream too (set as each layer's fixedNoise, what withFixedNoise does with
 *    GPU-drawn maps).
 * Cases: the identity codes of three descriptors (identityCode), the three images, and one
 * identity mixup at phi = 0.3 (mixIdentity of the first two codes before the mapping).
 *
 * Tolerance: run.ts's default, |page - node| <= 1e-4 + 1e-4 |node|. Measured 2026-12-03 with
 * `npm run test:browser -- --only generator`: max |diff| = 0, every value bit for bit equal
 * (SwiftShader in Chromium, lavapipe in Node). The outputs are up to about 9 in magnitude (sd
 * 2: random weights, not a trained [-1, 1]), so the bound is 1e-4 .. 1e-3, hundreds of f32 ulp
 * above what another adapter may legitimately change (FMA, the summation order of the convs'
 * reductions: a few ulp per layer over ten layers). It stays below what a real fault moves:
 * phi 0.3001 instead of 0.3 on the page alone moved the mixup image by up to 1.7e-3 and failed.
 */
import { Generator, keep, noGrad, scope, tensor, type Tensor } from '../../src/index.js';
import {
  FaceGenerator,
  GENERATOR_PRESETS,
  loadGenerator,
  mixIdentity,
  serializeGenerator,
  type GeneratorConfig,
} from '../../src/models/generator/index.js';
import { toUnit } from '../../src/tensor/random.js';
import type { TensorData } from '../../src/tensor/tensor-data.js';
import { crc32, wave } from './inputs.js';

export interface GeneratorCase {
  name: string;
  values: number[];
  shape: number[];
  /** True: bit for bit (the weights file); false: within run.ts's tolerance. */
  exact: boolean;
}

const EXP_DIM = 8;
const N = 3;

/** n uniforms on [-1, 1) from the CPU Philox stream: exact dyadic values, the same everywhere. */
function uniforms(gen: Generator, n: number): Float64Array {
  const bits = gen.bitsCpu(n);
  return Float64Array.from(bits, (b) => 2 * toUnit(b) - 1);
}

/** A parameter's values: a uniform (variance 1/3 of the half-width squared) of its usual scale. */
function parameterValues(name: string, u: Float64Array): Float32Array {
  const mapping = /^mapping\.fc\d+\./.test(name); // lrMul 0.01: stored 100x (stylegan-layers.ts)
  const [offset, half] = name.endsWith('noise_strength')
    ? [0, 0.2]
    : name.endsWith('affine.bias')
      ? [1, 0.2]
      : name.endsWith('.bias')
        ? [0, mapping ? 10 : 0.1]
        : [0, Math.sqrt(3) * (mapping ? 100 : 1)]; // weights and the constant input: variance 1
  return Float32Array.from(u, (v) => offset + half * v);
}

export async function generatorCases(): Promise<GeneratorCase[]> {
  const unitNorm = (d: number) => ({ mean: new Array<number>(d).fill(0), std: new Array<number>(d).fill(1) });
  const config: GeneratorConfig = {
    ...GENERATOR_PRESETS.base,
    expDim: EXP_DIM,
    norm: {
      descriptor: unitNorm(128),
      expression: unitNorm(EXP_DIM),
      pose: unitNorm(3),
      lighting: unitNorm(6),
    },
  };
  const cases: GeneratorCase[] = [];
  const gen = new Generator(20261203);

  // the weights, made on the CPU, written to a generator file and read back
  const built = new FaceGenerator(config, new Generator(0)); // only for the names and shapes
  let bytes: Uint8Array;
  try {
    const dict: Record<string, TensorData> = {};
    for (const [name, t] of Object.entries(built.stateDict()))
      dict[name] = { dtype: 'f32', shape: t.shape, data: parameterValues(name, uniforms(gen, t.size)) };
    built.loadStateDict(dict);
    bytes = await serializeGenerator(built, { suite: 'browser parity' });
  } finally {
    built.dispose();
  }
  cases.push({ name: 'generator base: weights file crc32', values: [crc32(bytes)], shape: [1], exact: true });
  const { generator: G } = loadGenerator(bytes, 'suite generator', { resolution: 64, wDim: 128 });

  // fixed noise, one map per noise layer, shared by the batch (as withFixedNoise)
  const layers = G.synthesis.noiseLayers();
  const maps = layers.map((m, i) => {
    const r = 4 * 2 ** Math.floor((i + 1) / 2);
    const u = uniforms(gen, r * r);
    return keep(
      tensor(
        Array.from(u, (v) => Math.sqrt(3) * v),
        [1, 1, r, r],
      ),
    );
  });
  layers.forEach((m, i) => (m.fixedNoise = maps[i]));

  const push = async (name: string, t: Tensor) => {
    const values = Array.from(await t.toArray());
    const shape = [...t.shape];
    t.dispose();
    if (!values.every(Number.isFinite)) throw new Error(`${name}: non-finite output`);
    cases.push({ name, values, shape, exact: false });
  };
  try {
    const desc = wave(N * 128, 40);
    const factors = {
      expression: wave(N * EXP_DIM, 41),
      pose: wave(N * 3, 42),
      lighting: wave(N * 6, 43),
      z: wave(N * config.zDim, 44),
    };
    const inputs = (rows: number[], identity: Tensor) => {
      const pick = (v: number[], d: number) => rows.flatMap((r) => v.slice(r * d, (r + 1) * d));
      return {
        identity,
        expression: tensor(pick(factors.expression, EXP_DIM), [rows.length, EXP_DIM]),
        pose: tensor(pick(factors.pose, 3), [rows.length, 3]),
        lighting: tensor(pick(factors.lighting, 6), [rows.length, 6]),
        z: tensor(pick(factors.z, config.zDim), [rows.length, config.zDim]),
      };
    };
    const { codes, images, mixed } = noGrad(() =>
      scope(() => {
        const codes = G.identityCode(tensor(desc, [N, 128]));
        const images = G.forward(inputs([0, 1, 2], codes));
        // identity mixup of persons 0 and 1 (phi = 0.3: 30 % of person 0), the other factors of image 0
        const a = G.identityCode(tensor(desc.slice(0, 128), [1, 128]));
        const b = G.identityCode(tensor(desc.slice(128, 256), [1, 128]));
        const mixed = G.forward(inputs([0], mixIdentity(a, b, 0.3)));
        return { codes, images, mixed };
      }),
    );
    await push('generator base: identityCode 3x64', codes);
    await push('generator base: 3 images 64x64', images);
    await push('generator base: identity mixup phi 0.3', mixed);
  } finally {
    layers.forEach((m) => (m.fixedNoise = null));
    maps.forEach((t) => t.dispose());
    G.dispose();
  }
  return cases;
}
