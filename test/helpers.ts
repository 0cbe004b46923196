/**
 * Test helpers: deterministic CPU inputs, GPU <-> NdArray, closeness checks, and the two
 * gradient checks every op goes through:
 *   checkGradient   first order: GPU backward vs central finite differences of the float64 CPU
 *                   reference, for L = sum(w * f(x)) with random weights w
 *   checkHessian    second order (createGraph): GPU grad-of-grad vs finite differences of the
 *                   CPU finite-difference gradient, as a Hessian-vector product
 */
import { expect } from 'vitest';
import { add as addT, grad, mul as mulT, scope, sum as sumAll, Tensor, tensor } from '../src/index.js';
import { nd, type NdArray } from '../src/tensor/ndarray.js';
import { philoxBlock, toUnit } from '../src/tensor/random.js';

let stream = 1;
/** Uniform values in [lo, hi) from a test-local Philox stream (same on every run). */
export function randomNd(shape: number[], lo = -1, hi = 1, seed = stream++): NdArray {
  const a = nd(shape);
  for (let i = 0; i < a.data.length; i++) {
    const r = philoxBlock(i >> 2, 1000 + seed)[i & 3];
    // round to float32 so the GPU and the CPU reference see the same inputs
    a.data[i] = Math.fround(lo + (hi - lo) * toUnit(r));
  }
  return a;
}

export function toGpu(a: NdArray, requiresGrad = false): Tensor {
  const t = tensor(Float32Array.from(a.data), a.shape);
  t.requiresGrad = requiresGrad;
  return t;
}

export async function toNd(t: Tensor): Promise<NdArray> {
  return { shape: [...t.shape], data: Float64Array.from(await t.toArray()) };
}

/** |got - want| <= atol + rtol |want| everywhere, with a message naming the worst element. */
export function expectClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  rtol = 1e-5,
  atol = 1e-5,
  what = 'values',
): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  let worst = -1,
    worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i],
      w = want[i];
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (w === g) continue; // also covers equal infinities
    const excess = Math.abs(g - w) - (atol + rtol * Math.abs(w));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `${what}: element ${worst} is ${got[worst]}, expected ${want[worst]} (rtol ${rtol}, atol ${atol})`,
    );
  }
}

export async function expectTensorClose(
  t: Tensor,
  want: NdArray,
  rtol = 1e-5,
  atol = 1e-5,
  what = 'output',
): Promise<void> {
  expect([...t.shape], `${what}: shape`).toEqual(want.shape);
  expectClose(await t.toArray(), want.data, rtol, atol, what);
}

type GpuFn = (...xs: Tensor[]) => Tensor;
type CpuFn = (...xs: NdArray[]) => NdArray;

function weightedSum(f: CpuFn, xs: NdArray[], w: NdArray): number {
  const y = f(...xs);
  let s = 0;
  for (let i = 0; i < y.data.length; i++) s += y.data[i] * w.data[i];
  return s;
}

/** Central finite differences of L(xs) = sum(w * f(xs)) wrt each input, in float64. */
export function finiteDifferenceGradient(f: CpuFn, xs: NdArray[], w: NdArray, eps = 1e-6): NdArray[] {
  return xs.map((x) => {
    const g = nd(x.shape);
    for (let i = 0; i < x.data.length; i++) {
      const v = x.data[i];
      x.data[i] = v + eps;
      const up = weightedSum(f, xs, w);
      x.data[i] = v - eps;
      const down = weightedSum(f, xs, w);
      x.data[i] = v;
      g.data[i] = (up - down) / (2 * eps);
    }
    return g;
  });
}

export interface GradCheckOptions {
  rtol?: number;
  atol?: number;
  /** Which inputs get gradients checked (default: all). */
  wrt?: number[];
  eps?: number;
}

/** Forward against the CPU reference, then backward against finite differences. */
export async function checkGradient(
  gpu: GpuFn,
  cpu: CpuFn,
  inputs: NdArray[],
  opts: GradCheckOptions = {},
): Promise<void> {
  const { rtol = 2e-3, atol = 2e-4, eps = 1e-6 } = opts;
  const wrt = opts.wrt ?? inputs.map((_, i) => i);
  const want = cpu(...inputs);
  const w = randomNd(want.shape, -1, 1);
  const expected = finiteDifferenceGradient(cpu, inputs, w, eps);
  const results = scope(() => {
    const xs = inputs.map((x, i) => toGpu(x, wrt.includes(i)));
    const y = gpu(...xs);
    const gs = grad(
      [y],
      wrt.map((i) => xs[i]),
      { gradOutputs: [toGpu(w)] },
    );
    return { y, gs };
  });
  await expectTensorClose(results.y, want, 1e-4, 1e-5, 'forward');
  for (const [k, i] of wrt.entries()) {
    const g = results.gs[k];
    expect(g, `gradient of input ${i}`).not.toBeNull();
    await expectTensorClose(g!, expected[i], rtol, atol, `gradient of input ${i}`);
  }
  results.y.dispose();
  results.gs.forEach((g) => g?.dispose());
}

/**
 * Second order: for L = sum(w * f(x)), checks d/dx [sum(v * dL/dx)] = H v against
 * (grad L(x + h v) - grad L(x - h v)) / 2h with finite-difference gradients (float64).
 */
export async function checkHessian(
  gpu: GpuFn,
  cpu: CpuFn,
  inputs: NdArray[],
  opts: GradCheckOptions = {},
): Promise<void> {
  const { rtol = 1e-2, atol = 1e-3 } = opts;
  const want = cpu(...inputs);
  const w = randomNd(want.shape, -1, 1);
  const v = inputs.map((x) => randomNd(x.shape, -1, 1));
  const h = 1e-4;
  const shifted = (sign: number) =>
    finiteDifferenceGradient(
      cpu,
      inputs.map((x, k) => ({ shape: x.shape, data: x.data.map((a, i) => a + sign * h * v[k].data[i]) })),
      w,
      1e-5,
    );
  const up = shifted(1),
    down = shifted(-1);
  const hv = up.map((u, k) => ({
    shape: u.shape,
    data: u.data.map((a, i) => (a - down[k].data[i]) / (2 * h)),
  }));
  const got = scope(() => {
    const xs = inputs.map((x) => toGpu(x, true));
    const y = gpu(...xs);
    const g1 = grad([y], xs, { gradOutputs: [toGpu(w)], createGraph: true });
    // s = sum_k sum(v_k * g1_k), a scalar whose gradient is H v
    let s: Tensor | null = null;
    g1.forEach((g, k) => {
      if (!g) return;
      const term = sumAll(mulT(g, toGpu(v[k])));
      s = s ? addT(s, term) : term;
    });
    return grad([s!], xs);
  });
  for (const [k, g] of got.entries()) {
    // null means "does not depend": the Hessian block is zero (e.g. piecewise-linear ops)
    if (g === null)
      expectClose(
        new Float64Array(hv[k].data.length),
        hv[k].data,
        rtol,
        atol,
        `H v for input ${k} (no dependence)`,
      );
    else await expectTensorClose(g, hv[k], rtol, atol, `H v for input ${k}`);
    g?.dispose();
  }
}
