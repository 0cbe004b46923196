/**
 * Elementwise ops: forward (a WGSL expression), backward (in differentiable ops, so that
 * gradients of gradients work) and the float64 CPU reference, side by side.
 *
 * Numerics at the edges (WGSL does not promise IEEE special cases, so the kernels avoid them):
 * - sigmoid and tanh are written so no inf/inf or inf-inf can occur for large |x|.
 * - pow with a negative base and an integer exponent gives the real result, as in PyTorch.
 * - exp overflows to +inf and log(0) is -inf, as in IEEE. Outside an op's domain (sqrt or log of
 *   x < 0, a negative base with a non-integer exponent) the value is unspecified, where
 *   PyTorch gives NaN: WGSL compilers may assume no NaN exists, so no kernel relies on one.
 */
import { record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { mapNd, type NdArray } from '../tensor/ndarray.js';
import { elementwise } from '../tensor/kernel.js';
import { sumTo } from './reduce.js';

// ---------------------------------------------------------------- unary

const SIGMOID = 'select(exp(a) / (1.0 + exp(a)), 1.0 / (1.0 + exp(-a)), a >= 0.0)';
const TANH = 'sign(a) * (1.0 - exp(-2.0 * abs(a))) / (1.0 + exp(-2.0 * abs(a)))';

export function neg(x: Tensor): Tensor {
  return record(elementwise('neg', '-a', [x]), 'neg', [x], (g) => [neg(g)]);
}

export function exp(x: Tensor): Tensor {
  const y = elementwise('exp', 'exp(a)', [x]);
  return record(y, 'exp', [x], (g) => [mul(g, y)]);
}

export function log(x: Tensor): Tensor {
  return record(elementwise('log', 'log(a)', [x]), 'log', [x], (g) => [div(g, x)]);
}

export function sqrt(x: Tensor): Tensor {
  const y = elementwise('sqrt', 'sqrt(a)', [x]);
  // d sqrt(x) = 1 / (2 sqrt(x))
  return record(y, 'sqrt', [x], (g) => [div(g, scale(y, 2))]);
}

export function rsqrt(x: Tensor): Tensor {
  const y = elementwise('rsqrt', 'inverseSqrt(a)', [x]);
  // d x^(-1/2) = -1/2 x^(-3/2) = -1/2 y^3
  return record(y, 'rsqrt', [x], (g) => [mul(g, scale(powScalar(y, 3), -0.5))]);
}

export function abs(x: Tensor): Tensor {
  return record(elementwise('abs', 'abs(a)', [x]), 'abs', [x], (g) => [mul(g, sign(x))]);
}

/** sign(x) in {-1, 0, 1}; its gradient is zero. */
export function sign(x: Tensor): Tensor {
  return elementwise('sign', 'sign(a)', [x]);
}

export function relu(x: Tensor): Tensor {
  return record(elementwise('relu', 'max(a, 0.0)', [x]), 'relu', [x], (g) => [mul(g, step(x))]);
}

/** 1 where x > 0, else 0 (the derivative of relu; zero gradient). */
export function step(x: Tensor): Tensor {
  return elementwise('step', 'select(0.0, 1.0, a > 0.0)', [x]);
}

/** max(x, 0) + slope * min(x, 0), times gain (StyleGAN2 uses slope 0.2, gain sqrt 2). */
export function leakyRelu(x: Tensor, slope = 0.01, gain = 1): Tensor {
  const y = elementwise('leaky_relu', 'select(a * alpha, a, a > 0.0) * beta', [x], slope, gain);
  return record(y, 'leaky_relu', [x], (g) => [
    mul(g, elementwise('leaky_relu_slope', 'select(alpha, 1.0, a > 0.0) * beta', [x], slope, gain)),
  ]);
}

export function sigmoid(x: Tensor): Tensor {
  const y = elementwise('sigmoid', SIGMOID, [x]);
  return record(y, 'sigmoid', [x], (g) => [mul(g, mul(y, oneMinus(y)))]);
}

export function tanh(x: Tensor): Tensor {
  const y = elementwise('tanh', TANH, [x]);
  return record(y, 'tanh', [x], (g) => [mul(g, oneMinus(square(y)))]);
}

export function square(x: Tensor): Tensor {
  return record(elementwise('square', 'a * a', [x]), 'square', [x], (g) => [mul(g, scale(x, 2))]);
}

/** clamp(x, lo, hi); the gradient passes where lo <= x <= hi. */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  if (lo > hi) throw new RangeError(`clamp: lo ${lo} > hi ${hi}`);
  const y = elementwise('clamp', 'clamp(a, alpha, beta)', [x], lo, hi);
  return record(y, 'clamp', [x], (g) => [
    mul(g, elementwise('clamp_mask', 'select(0.0, 1.0, a >= alpha && a <= beta)', [x], lo, hi)),
  ]);
}

/** alpha * x + beta in one kernel (scale, shift, 1 - x, ...). */
export function affine(x: Tensor, alpha: number, beta: number): Tensor {
  return record(elementwise('affine', 'a * alpha + beta', [x], alpha, beta), 'affine', [x], (g) => [
    scale(g, alpha),
  ]);
}

export const scale = (x: Tensor, s: number): Tensor => affine(x, s, 0);
export const addScalar = (x: Tensor, s: number): Tensor => affine(x, 1, s);
const oneMinus = (x: Tensor): Tensor => affine(x, -1, 1);

/** x^e for a constant exponent; negative bases with integer e give real results. */
export function powScalar(x: Tensor, e: number): Tensor {
  const y = elementwise('pow_scalar', POW, [x], e);
  return record(y, 'pow_scalar', [x], (g) => [mul(g, scale(powScalar(x, e - 1), e))]);
}

/** pow(a, b) that matches PyTorch for negative bases with integer exponents, and 0^0 = 1. */
const POW_OF = (a: string, b: string) =>
  `select(select(pow(abs(${a}), ${b}), -pow(abs(${a}), ${b}), ${a} < 0.0 && fract(${b} * 0.5) != 0.0 && fract(${b}) == 0.0), 1.0, ${b} == 0.0)`;
const POW = POW_OF('a', 'alpha');

// ---------------------------------------------------------------- binary (broadcasting)

export function add(a: Tensor, b: Tensor): Tensor {
  return record(elementwise('add', 'a + b', [a, b]), 'add', [a, b], (g) => [
    sumTo(g, a.shape),
    sumTo(g, b.shape),
  ]);
}

export function sub(a: Tensor, b: Tensor): Tensor {
  return record(elementwise('sub', 'a - b', [a, b]), 'sub', [a, b], (g) => [
    sumTo(g, a.shape),
    sumTo(neg(g), b.shape),
  ]);
}

export function mul(a: Tensor, b: Tensor): Tensor {
  return record(elementwise('mul', 'a * b', [a, b]), 'mul', [a, b], (g) => [
    a.requiresGrad ? sumTo(mul(g, b), a.shape) : null,
    b.requiresGrad ? sumTo(mul(g, a), b.shape) : null,
  ]);
}

export function div(a: Tensor, b: Tensor): Tensor {
  // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
  return record(elementwise('div', 'a / b', [a, b]), 'div', [a, b], (g) => [
    a.requiresGrad ? sumTo(div(g, b), a.shape) : null,
    b.requiresGrad ? sumTo(neg(div(mul(g, a), square(b))), b.shape) : null,
  ]);
}

export function pow(a: Tensor, b: Tensor): Tensor {
  const y = elementwise('pow', POW_OF('a', 'b'), [a, b]);
  // d a^b / da = b a^(b-1),  d a^b / db = a^b log a
  return record(y, 'pow', [a, b], (g) => [
    a.requiresGrad ? sumTo(mul(g, mul(b, pow(a, addScalar(b, -1)))), a.shape) : null,
    b.requiresGrad ? sumTo(mul(g, mul(y, log(a))), b.shape) : null,
  ]);
}

export function maximum(a: Tensor, b: Tensor): Tensor {
  // ties send the gradient to a, as a mask: a >= b
  return record(elementwise('maximum', 'max(a, b)', [a, b]), 'maximum', [a, b], (g) => {
    const m = greaterEqual(a, b);
    return [sumTo(mul(g, m), a.shape), sumTo(mul(g, affine(m, -1, 1)), b.shape)];
  });
}

export function minimum(a: Tensor, b: Tensor): Tensor {
  return record(elementwise('minimum', 'min(a, b)', [a, b]), 'minimum', [a, b], (g) => {
    const m = lessEqual(a, b);
    return [sumTo(mul(g, m), a.shape), sumTo(mul(g, affine(m, -1, 1)), b.shape)];
  });
}

// comparisons: 1.0 or 0.0, no gradient
export const greater = (a: Tensor, b: Tensor) => elementwise('greater', 'select(0.0, 1.0, a > b)', [a, b]);
export const greaterEqual = (a: Tensor, b: Tensor) =>
  elementwise('greater_equal', 'select(0.0, 1.0, a >= b)', [a, b]);
export const less = (a: Tensor, b: Tensor) => elementwise('less', 'select(0.0, 1.0, a < b)', [a, b]);
export const lessEqual = (a: Tensor, b: Tensor) =>
  elementwise('less_equal', 'select(0.0, 1.0, a <= b)', [a, b]);
export const equal = (a: Tensor, b: Tensor) => elementwise('equal', 'select(0.0, 1.0, a == b)', [a, b]);

/** cond != 0 ? a : b, broadcasting all three. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const y = elementwise('where', 'select(c, b, a != 0.0)', [cond, a, b]);
  return record(y, 'where', [cond, a, b], (g) => {
    const zero = elementwise('fill', 'alpha', [], 0, 0, []);
    return [
      null,
      a.requiresGrad ? sumTo(where(cond, g, zero), a.shape) : null,
      b.requiresGrad ? sumTo(where(cond, zero, g), b.shape) : null,
    ];
  });
}

/** A copy (new storage); the gradient passes through. */
export function copy(x: Tensor): Tensor {
  return record(elementwise('copy', 'a', [x]), 'copy', [x], (g) => [g]);
}

// ---------------------------------------------------------------- CPU reference (float64)

const sigmoid64 = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
const pow64 = (a: number, b: number) => (b === 0 ? 1 : Math.pow(a, b));

export const reference = {
  neg: (x: NdArray) => mapNd([x], (v) => -v),
  exp: (x: NdArray) => mapNd([x], Math.exp),
  log: (x: NdArray) => mapNd([x], Math.log),
  sqrt: (x: NdArray) => mapNd([x], Math.sqrt),
  rsqrt: (x: NdArray) => mapNd([x], (v) => 1 / Math.sqrt(v)),
  abs: (x: NdArray) => mapNd([x], Math.abs),
  relu: (x: NdArray) => mapNd([x], (v) => Math.max(v, 0)),
  leakyRelu: (x: NdArray, slope = 0.01, gain = 1) => mapNd([x], (v) => (v > 0 ? v : v * slope) * gain),
  sigmoid: (x: NdArray) => mapNd([x], sigmoid64),
  tanh: (x: NdArray) => mapNd([x], Math.tanh),
  square: (x: NdArray) => mapNd([x], (v) => v * v),
  clamp: (x: NdArray, lo: number, hi: number) => mapNd([x], (v) => Math.min(Math.max(v, lo), hi)),
  affine: (x: NdArray, alpha: number, beta: number) => mapNd([x], (v) => v * alpha + beta),
  powScalar: (x: NdArray, e: number) => mapNd([x], (v) => pow64(v, e)),
  add: (a: NdArray, b: NdArray) => mapNd([a, b], (x, y) => x + y, 'add'),
  sub: (a: NdArray, b: NdArray) => mapNd([a, b], (x, y) => x - y, 'sub'),
  mul: (a: NdArray, b: NdArray) => mapNd([a, b], (x, y) => x * y, 'mul'),
  div: (a: NdArray, b: NdArray) => mapNd([a, b], (x, y) => x / y, 'div'),
  pow: (a: NdArray, b: NdArray) => mapNd([a, b], pow64, 'pow'),
  maximum: (a: NdArray, b: NdArray) => mapNd([a, b], Math.max, 'maximum'),
  minimum: (a: NdArray, b: NdArray) => mapNd([a, b], Math.min, 'minimum'),
  where: (c: NdArray, a: NdArray, b: NdArray) => mapNd([c, a, b], (k, x, y) => (k !== 0 ? x : y), 'where'),
};
