/**
 * Loads PyTorch golden fixtures (test/fixtures/*.json, made by tools/fixtures/make_fixtures.py;
 * format in test/fixtures/README.md) and checks an engine op against one case:
 *
 *   const fx = loadFixture('conv2d.json');
 *   for (const c of fx.cases) it(c.name, () => checkFixtureCase(c, (x) => ({ y: conv2d(x.x, x.weight, x.bias, c.params) })));
 *
 * `run` gets every input as a GPU tensor (labels as i32; float inputs that have a fixture
 * gradient with requiresGrad) and returns the outputs by name. The check compares each output,
 * then backpropagates the fixture's weights (L = sum_o sum(w_o * out_o)) and compares the
 * gradient of each input; with a "state" entry (BN running stats) it compares the input tensor
 * of that name after the call (ops update running stats in place), or what `opts.state` returns.
 * Node only (reads files): tests, never the engine.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { grad, scope, tensor, type Tensor } from '../src/index.js';
import type { NdArray } from '../src/tensor/ndarray.js';
import { expectClose } from './helpers.js';

export interface FixtureTensor {
  shape: number[];
  data: number[];
  dtype?: 'i32';
}

export interface FixtureCase {
  name: string;
  params: Record<string, any>;
  inputs: Record<string, FixtureTensor>;
  outputs: Record<string, FixtureTensor>;
  weights: Record<string, FixtureTensor>;
  grads: Record<string, FixtureTensor>;
  state?: Record<string, FixtureTensor>;
}

export interface Fixture {
  op: string;
  torch: string;
  command: string;
  note: string;
  cases: FixtureCase[];
}

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

export function loadFixture(file: string): Fixture {
  return JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Fixture;
}

/** The case of that name (throws, listing the names, if there is none). */
export function fixtureCase(f: Fixture, name: string): FixtureCase {
  const c = f.cases.find((k) => k.name === name);
  if (!c)
    throw new Error(`fixture ${f.op}: no case '${name}' (have ${f.cases.map((k) => k.name).join(', ')})`);
  return c;
}

export function fixtureNd(t: FixtureTensor): NdArray {
  return { shape: [...t.shape], data: Float64Array.from(t.data) };
}

/** A GPU tensor of the fixture's values: i32 for integer inputs. */
export function fixtureTensor(t: FixtureTensor, requiresGrad = false): Tensor {
  const x = tensor(
    t.dtype === 'i32' ? Int32Array.from(t.data) : Float32Array.from(t.data),
    t.shape,
    t.dtype ?? 'f32',
  );
  x.requiresGrad = requiresGrad && t.dtype !== 'i32';
  return x;
}

/** Every input of a case on the GPU, by name. */
export function fixtureInputs(c: FixtureCase, withGrad = true): Record<string, Tensor> {
  return Object.fromEntries(
    Object.entries(c.inputs).map(([k, t]) => [k, fixtureTensor(t, withGrad && k in c.grads)]),
  );
}

export interface FixtureTolerance {
  rtol?: number;
  atol?: number;
  gradRtol?: number;
  gradAtol?: number;
  /** Gradients to compare (default: all of the fixture's). */
  grads?: string[];
  /** Where the state after the call lives, if not in the input tensors of the same names. */
  state?: (inputs: Record<string, Tensor>, outputs: Record<string, Tensor>) => Record<string, Tensor>;
}

export async function checkFixtureCase(
  c: FixtureCase,
  run: (inputs: Record<string, Tensor>) => Record<string, Tensor>,
  tol: FixtureTolerance = {},
): Promise<void> {
  const { rtol = 1e-4, atol = 1e-5, gradRtol = 1e-3, gradAtol = 1e-4 } = tol;
  const gradNames = tol.grads ?? Object.keys(c.grads);
  const names = Object.keys(c.outputs);
  const res = scope(() => {
    const xs = fixtureInputs(c);
    const ys = run(xs);
    for (const n of names) expect(ys[n], `${c.name}: output '${n}'`).toBeDefined();
    const gs = grad(
      names.map((n) => ys[n]),
      gradNames.map((n) => xs[n]),
      { gradOutputs: names.map((n) => fixtureTensor(c.weights[n])) },
    );
    const state = c.state
      ? tol.state
        ? tol.state(xs, ys)
        : Object.fromEntries(Object.keys(c.state).map((k) => [k, xs[k]]))
      : {};
    return { ys, gs, state };
  });
  try {
    for (const n of names) {
      expect([...res.ys[n].shape], `${c.name}: shape of output '${n}'`).toEqual(c.outputs[n].shape);
      expectClose(await res.ys[n].toArray(), c.outputs[n].data, rtol, atol, `${c.name}: output '${n}'`);
    }
    for (const [k, n] of gradNames.entries()) {
      const g = res.gs[k];
      expect(g, `${c.name}: gradient of '${n}'`).not.toBeNull();
      expectClose(await g!.toArray(), c.grads[n].data, gradRtol, gradAtol, `${c.name}: gradient of '${n}'`);
    }
    for (const [n, want] of Object.entries(c.state ?? {})) {
      expectClose(await res.state[n].toArray(), want.data, rtol, atol, `${c.name}: state '${n}'`);
    }
  } finally {
    Object.values(res.ys).forEach((t) => t.dispose());
    res.gs.forEach((g) => g?.dispose());
    Object.values(res.state).forEach((t) => t.dispose());
  }
}
