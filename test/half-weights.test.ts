/**
 * Weights files in half precision: the generator written with { half: true }, and the shipped
 * recognizer and factor student rewritten in F16, load through their ordinary loaders.
 * Oracles: the f32 weights rounded to f16 by src/io/half.ts (itself checked against numpy in
 * test/half.test.ts): a half file must give exactly those, and the generator exactly their images.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { fromF16, toF16 } from '../src/io/half.js';
import { parseSafetensors, serializeSafetensors } from '../src/io/safetensors.js';
import {
  FaceGenerator,
  fitFactorNorm,
  GENERATOR_PRESETS,
  loadGenerator,
  serializeGenerator,
  type FactorRows,
} from '../src/models/generator/index.js';
import { loadRecognizer } from '../src/models/recognizer-weights.js';
import { loadFactorStudent } from '../src/models/factor-student-weights.js';
import type { Module } from '../src/nn/module.js';
import { readTensors, type TensorData } from '../src/tensor/tensor-data.js';

const rounded = (t: TensorData) => (t.dtype === 'f32' ? fromF16(toF16(t.data as Float32Array)) : t.data);

/** Every tensor of the module equals the file's f32 tensor rounded to f16 (integers exact). */
async function expectRoundedFrom(module: Module, f32: Record<string, TensorData>) {
  const now = await readTensors(module.stateDict());
  expect(Object.keys(now).sort()).toEqual(Object.keys(f32).sort());
  for (const [name, t] of Object.entries(f32)) expect(now[name].data, name).toEqual(rounded(t));
}

describe('generator weights in half precision', () => {
  it('half the data bytes; loads as the f16-rounded weights, giving exactly their images', async () => {
    const n = 6;
    const rnd = new E.Generator(5);
    const fill = async (len: number) => {
      const t = E.randn([len], 0, 1, rnd);
      const values = (await t.toArray()) as Float32Array;
      t.dispose();
      return values;
    };
    const factors: FactorRows = {
      count: n,
      descriptor: await fill(n * 128),
      expression: await fill(n * 4),
      pose: await fill(n * 3),
      lighting: await fill(n * 6),
    };
    const G = new FaceGenerator(
      { ...GENERATOR_PRESETS.tiny, expDim: 4, norm: fitFactorNorm(factors) },
      new E.Generator(1),
    );
    const full = await serializeGenerator(G, { note: 'f32' });
    const half = await serializeGenerator(G, { note: 'f16' }, { half: true });
    // the data after the 8-byte length and the header (which holds the config) halves exactly
    const dataBytes = (b: Uint8Array) =>
      b.length - 8 - Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
    expect(2 * dataBytes(half)).toBe(dataBytes(full));
    expect(new Set(Object.values(parseSafetensors(half).stored))).toEqual(new Set(['F16']));

    const f32 = parseSafetensors(full).tensors;
    const a = loadGenerator(half, 'half.safetensors');
    expect(a.info).toEqual({ note: 'f16' });
    await expectRoundedFrom(a.generator, f32);
    // the f32 generator with its weights rounded in place: the same images, bit for bit
    const b = loadGenerator(full, 'full.safetensors').generator;
    b.loadStateDict(Object.fromEntries(Object.entries(f32).map(([k, t]) => [k, { ...t, data: rounded(t) }])));
    const images = async (g: FaceGenerator) => {
      const y = E.scope(() => {
        const inputs = {
          identity: g.identityCode(E.randn([4, 128], 0, 1, new E.Generator(2))),
          expression: E.randn([4, 4], 0, 1, new E.Generator(3)),
          pose: E.randn([4, 3], 0, 1, new E.Generator(4)),
          lighting: E.randn([4, 6], 0, 1, new E.Generator(5)),
          z: E.randn([4, g.config.zDim], 0, 1, new E.Generator(6)),
        };
        return g.withFixedNoise(new E.Generator(7), () => g.forward(inputs));
      });
      const values = (await y.toArray()) as Float32Array;
      y.dispose();
      return values;
    };
    const fromHalf = await images(a.generator);
    expect(fromHalf).toEqual(await images(b));
    // and close to the exact weights' images
    const exact = await images(G.eval());
    const diff = Math.max(...fromHalf.map((v, i) => Math.abs(v - exact[i])));
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThan(0.02);
    for (const g of [G, a.generator, b]) g.dispose();
  });
});

describe('the shipped weights rewritten in F16 load through their loaders', () => {
  const asHalf = (path: string) => {
    const st = parseSafetensors(readFileSync(path), path);
    return { f32: st.tensors, half: serializeSafetensors(st.tensors, st.metadata, { float: 'F16' }) };
  };

  it('recognizer', async () => {
    const { f32, half } = asHalf('weights/recognizer-small.safetensors');
    const { backbone } = loadRecognizer(half, 'recognizer-f16.safetensors');
    await expectRoundedFrom(backbone, f32);
    backbone.dispose();
  });

  it('factor student', async () => {
    const { f32, half } = asHalf('weights/factor-student.safetensors');
    const { student } = loadFactorStudent(half, 'student-f16.safetensors');
    await expectRoundedFrom(student, f32);
    student.dispose();
  });
});
