/**
 * Losses: cross-entropy (hard and soft targets), the ArcFace additive angular margin,
 * SynFace's mixed-label margin loss, and the GAN logistic losses; plus the integer-indexed
 * helpers they need (oneHot, pick, gatherRows). Forward, backward and the float64 CPU
 * reference side by side, as every op file (docs/CONTRIBUTING-OPS.md).
 *
 * Labels. An op taking labels accepts an i32 Tensor of shape (B), or a CPU array
 * (Int32Array / number[]). A CPU array is checked here (integers in [0, K), else a RangeError
 * naming the op, the index and the value) and uploaded. A GPU tensor cannot be checked
 * without a readback (a stall), so it is not: the kernels never read out of bounds, and an
 * out-of-range label makes that row of `crossEntropy`, `pick` and `gatherRows` NaN (so the loss
 * shows it), gives an all-zero `oneHot` row, and no margin in `arcfaceLogits`.
 * `await checkLabels(t, K)` reads a label tensor back and throws on a bad value.
 *
 * What this is not: a fused SynFace kernel (synfaceLoss is composed of the ops below: three
 * margin kernels, three cross-entropies; fine for K up to ~10^4), nor label smoothing.
 */
import { record } from '../autograd/tape.js';
import { getDevice } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/create.js';
import { nd, type NdArray } from '../tensor/ndarray.js';
import { flatGrid } from '../../shaders/common.js';
import {
  arcMarginWgsl,
  crossEntropyBackwardWgsl,
  crossEntropyForwardWgsl,
  gatherRowsWgsl,
  oneHotWgsl,
} from '../../shaders/loss.js';
import { add, mul, neg, scale, sigmoid, sub } from './elementwise.js';
import { elementwise, requireF32 } from '../tensor/kernel.js';
import { matmul } from './matmul.js';
import { mean, softmax, logSoftmax, sum } from './reduce.js';
import { reshape } from './shape.js';

export type Labels = Tensor | Int32Array | readonly number[];

/** The quiet NaN written for an out-of-range index (passed as a uniform, never a WGSL constant). */
const NAN_BITS = 0x7fc00000;

// ---------------------------------------------------------------- labels

function requireMatrix(op: string, x: Tensor, what = 'input'): [number, number] {
  requireF32(op, x);
  if (x.rank !== 2) throw new RangeError(`${op}: ${what} must be (B, K), got shape [${x.shape}]`);
  return [x.shape[0], x.shape[1]];
}

/** Labels as an i32 GPU tensor of shape (B); CPU arrays are range-checked and uploaded. */
export function labelTensor(op: string, labels: Labels, B: number, K: number): Tensor {
  if (labels instanceof Tensor) {
    if (labels.dtype !== 'i32')
      throw new TypeError(
        `${op}: labels must be an i32 tensor, got ${labels.dtype} of shape [${labels.shape}]`,
      );
    if (labels.rank !== 1 || labels.shape[0] !== B)
      throw new RangeError(`${op}: labels of shape [${labels.shape}] for a batch of ${B} (expected [${B}])`);
    return labels;
  }
  if (labels.length !== B) throw new RangeError(`${op}: ${labels.length} labels for a batch of ${B}`);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (!Number.isInteger(v) || v < 0 || v >= K)
      throw new RangeError(`${op}: label ${v} at index ${i} is out of range [0, ${K})`);
  }
  return tensor(Int32Array.from(labels), [B], 'i32');
}

/** Reads a label tensor back and throws if any value is outside [0, K) (a debugging aid: it waits for the GPU). */
export async function checkLabels(labels: Tensor, K: number, op = 'checkLabels'): Promise<void> {
  if (labels.dtype !== 'i32') throw new TypeError(`${op}: labels must be an i32 tensor, got ${labels.dtype}`);
  const v = await labels.toArray();
  for (let i = 0; i < v.length; i++) {
    if (v[i] < 0 || v[i] >= K)
      throw new RangeError(`${op}: label ${v[i]} at index ${i} is out of range [0, ${K})`);
  }
}

function indexParams(B: number, K: number, D: number): Uint8Array {
  return new Params().u32(B).u32(K).u32(D).u32(NAN_BITS).bytes();
}

// ---------------------------------------------------------------- index helpers

/** (B, K): 1 at (b, labels[b]), 0 elsewhere. No gradient. */
export function oneHot(labels: Labels, K: number): Tensor {
  if (!Number.isInteger(K) || K < 1) throw new RangeError(`oneHot: K must be a positive integer, got ${K}`);
  const B = labels instanceof Tensor ? labels.shape[0] : labels.length;
  const lab = labelTensor('oneHot', labels, B, K);
  const out = Tensor.empty([B, K]);
  if (out.size > 0)
    getDevice().dispatch(
      { key: 'loss:one_hot', code: oneHotWgsl },
      indexParams(B, K, 1),
      [lab.binding(), out.binding()],
      flatGrid(out.size),
    );
  if (lab !== labels) lab.dispose();
  return out;
}

/** out[b] = x[b, labels[b]] for x (B, K). The gradient scatters back into the label column. */
export function pick(x: Tensor, labels: Labels): Tensor {
  const [B, K] = requireMatrix('pick', x);
  const lab = labelTensor('pick', labels, B, K);
  const out = Tensor.empty([B]);
  if (B > 0)
    getDevice().dispatch(
      { key: 'loss:pick', code: () => gatherRowsWgsl(true) },
      indexParams(B, K, 1),
      [x.binding(), lab.binding(), out.binding()],
      flatGrid(B),
    );
  return record(out, 'pick', [x], (g) => [mul(oneHot(lab, K), reshape(g, [B, 1]))]);
}

/** out[b, :] = x[idx[b], :] for x (N, D): an embedding lookup. The gradient is oneHot(idx)^T g. */
export function gatherRows(x: Tensor, idx: Labels): Tensor {
  const [N, D] = requireMatrix('gatherRows', x, 'table');
  const B = idx instanceof Tensor ? idx.shape[0] : idx.length;
  const ix = labelTensor('gatherRows', idx, B, N);
  const out = Tensor.empty([B, D]);
  if (out.size > 0)
    getDevice().dispatch(
      { key: 'loss:gather_rows', code: () => gatherRowsWgsl(false) },
      indexParams(B, N, D),
      [x.binding(), ix.binding(), out.binding()],
      flatGrid(out.size),
    );
  // duplicates in idx add up: matmul with the transposed one-hot matrix does exactly that
  return record(out, 'gather_rows', [x], (g) => [matmul(oneHot(ix, N), g, { transA: true })]);
}

// ---------------------------------------------------------------- cross-entropy

export type Reduction = 'mean' | 'sum' | 'none';

function reduce(x: Tensor, reduction: Reduction, op: string): Tensor {
  if (reduction === 'none') return x;
  if (reduction === 'sum') return sum(x);
  if (reduction === 'mean') return mean(x);
  throw new RangeError(`${op}: unknown reduction '${reduction}'`);
}

/**
 * dx = g[b] (softmax(x) - onehot(labels)), the gradient of the per-row NLL, as an op of its own
 * (one fused kernel) whose backward is written in differentiable ops, so second order works:
 *   d/dx <U, dx> = g p (U - sum_k U p),   d/dg <U, dx> = sum_k U (p - y)
 */
function crossEntropyGrad(x: Tensor, lab: Tensor, lse: Tensor, g: Tensor): Tensor {
  const [B, K] = x.shape;
  const dx = Tensor.empty([B, K]);
  if (dx.size > 0) {
    getDevice().dispatch(
      { key: 'loss:ce_backward', code: crossEntropyBackwardWgsl },
      indexParams(B, K, 1),
      [x.binding(), lab.binding(), lse.binding(), g.binding(), dx.binding()],
      flatGrid(dx.size),
    );
  }
  return record(dx, 'cross_entropy_grad', [x, g], (u) => {
    const p = softmax(x, 1);
    return [
      x.requiresGrad ? mul(reshape(g, [B, 1]), mul(p, sub(u, sum(mul(u, p), 1, true)))) : null,
      g.requiresGrad ? sum(mul(u, sub(p, oneHot(lab, K))), 1) : null,
    ];
  });
}

/**
 * Cross-entropy of logits (B, K) against integer labels (B): -log softmax(x)[b, labels[b]],
 * averaged over the batch by default ('sum', or 'none' for the per-row losses (B)).
 * One fused kernel (stable log-sum-exp and the label pick); the backward is one fused kernel.
 */
export function crossEntropy(logits: Tensor, labels: Labels, reduction: Reduction = 'mean'): Tensor {
  const [B, K] = requireMatrix('crossEntropy', logits, 'logits');
  if (K < 1) throw new RangeError(`crossEntropy: logits of shape [${logits.shape}] have no classes`);
  const lab = labelTensor('crossEntropy', labels, B, K);
  const nll = Tensor.empty([B]);
  const lse = Tensor.empty([B]);
  if (B > 0) {
    getDevice().dispatch(
      { key: 'loss:ce_forward', code: crossEntropyForwardWgsl },
      indexParams(B, K, 1),
      [logits.binding(), lab.binding(), nll.binding(), lse.binding()],
      flatGrid(B),
    );
  }
  const rows = record(nll, 'cross_entropy', [logits], (g) => [crossEntropyGrad(logits, lab, lse, g)]);
  if (!rows.node) {
    // no backward will need them
    lse.dispose();
    if (lab !== labels) lab.dispose();
  }
  return reduce(rows, reduction, 'crossEntropy');
}

/**
 * Cross-entropy against soft (or weighted) targets (B, K): -sum_k t[b,k] log softmax(x)[b,k],
 * averaged over the batch by default. Targets need not sum to one; they get a gradient too.
 */
export function softCrossEntropy(logits: Tensor, targets: Tensor, reduction: Reduction = 'mean'): Tensor {
  requireMatrix('softCrossEntropy', logits, 'logits');
  requireMatrix('softCrossEntropy', targets, 'targets');
  if (logits.shape.join() !== targets.shape.join()) {
    throw new RangeError(`softCrossEntropy: logits [${logits.shape}] and targets [${targets.shape}] differ`);
  }
  return reduce(neg(sum(mul(targets, logSoftmax(logits, 1)), 1)), reduction, 'softCrossEntropy');
}

// ---------------------------------------------------------------- ArcFace

export interface ArcfaceOptions {
  /** Scale (insightface 64, SynFace 30). */
  s?: number;
  /** Additive angular margin in radians. */
  m?: number;
  /** Margin only where cos > 0 (and plain cos elsewhere) instead of the th/mm rule. */
  easyMargin?: boolean;
}

/**
 * The lower bound on sin(theta) used in the derivatives: d sin/d cos = -cos/sin is infinite at
 * cos = +-1. Any float32 cos strictly inside (-1, 1) has sin >= 3.4e-4, so only |cos| >= 1
 * (e.g. a dot product of unit vectors that rounds to 1) is affected: there the target logit's
 * derivative is s (cos m + sin m / 1e-4), about 4.8e3 s for m = 0.5, instead of infinity.
 */
export const ARC_SIN_EPS = 1e-4;

function arcConstants(op: string, o: ArcfaceOptions) {
  const s = o.s ?? 64,
    m = o.m ?? 0.5,
    easy = !!o.easyMargin;
  if (!(s > 0) || !Number.isFinite(s))
    throw new RangeError(`${op}: scale s must be a positive number, got ${s}`);
  if (!(m >= 0 && m < Math.PI / 2)) throw new RangeError(`${op}: margin m must be in [0, pi/2), got ${m}`);
  // insightface's th and mm: below th = cos(pi - m), theta + m would pass pi and cos(theta + m)
  // would turn back up; there the logit is continued as cos - mm, mm = m sin(pi - m), instead.
  return {
    s,
    m,
    easy,
    cosm: Math.cos(m),
    sinm: Math.sin(m),
    th: Math.cos(Math.PI - m),
    mm: Math.sin(Math.PI - m) * m,
  };
}

/** The order-th derivative (0: the value) of the per-element margin function; see shaders/loss.ts. */
function arcMarginKernel(
  cos: Tensor,
  lab: Tensor,
  c: ReturnType<typeof arcConstants>,
  order: 0 | 1 | 2,
): Tensor {
  const [B, K] = cos.shape;
  const out = Tensor.empty([B, K]);
  if (out.size > 0) {
    const params = new Params()
      .u32(B)
      .u32(K)
      .f32(c.s)
      .f32(c.cosm)
      .f32(c.sinm)
      .f32(c.th)
      .f32(c.mm)
      .f32(ARC_SIN_EPS)
      .bytes();
    getDevice().dispatch(
      { key: `loss:arc_margin:${order}:${c.easy ? 'easy' : 'th'}`, code: () => arcMarginWgsl(order, c.easy) },
      params,
      [cos.binding(), lab.binding(), out.binding()],
      flatGrid(out.size),
    );
  }
  return out;
}

/** d out / d cos (elementwise): an op whose own gradient is the second derivative (no third). */
function arcMarginDerivative(cos: Tensor, lab: Tensor, c: ReturnType<typeof arcConstants>): Tensor {
  const d1 = arcMarginKernel(cos, lab, c, 1);
  return record(d1, 'arcface_margin_derivative', [cos], (g) => [mul(g, arcMarginKernel(cos, lab, c, 2))]);
}

/**
 * ArcFace logits from cosines (B, K): s cos everywhere, and at the label column s cos(theta + m)
 * in insightface's safe form (ArcMarginProduct in SynFace's lib/models/metrics.py, and
 * insightface's recognition/arcface_torch/losses.py):
 *   cos(theta + m) = cos cos(m) - sin sin(m),  sin = sqrt(clamp(1 - cos^2, 0, 1))
 *   where cos <= th = cos(pi - m): cos - m sin(pi - m) instead (keeps the logit monotonic).
 * The gradient wrt cos is exact (with sin clamped at ARC_SIN_EPS in it), second order too.
 */
export function arcfaceLogits(cosine: Tensor, labels: Labels, opts: ArcfaceOptions = {}): Tensor {
  const [B, K] = requireMatrix('arcfaceLogits', cosine, 'cosine');
  const c = arcConstants('arcfaceLogits', opts);
  const lab = labelTensor('arcfaceLogits', labels, B, K);
  const out = arcMarginKernel(cosine, lab, c, 0);
  const y = record(out, 'arcface_logits', [cosine], (g) => [mul(g, arcMarginDerivative(cosine, lab, c))]);
  if (!y.node && lab !== labels) lab.dispose();
  return y;
}

// ---------------------------------------------------------------- SynFace

export interface SynfaceLossOptions {
  /** First parent identity of each synthetic image (B), and its weight w_a = phi (B). */
  a: Labels;
  wA: Tensor | ArrayLike<number>;
  /** Second parent identity (B) and its weight w_b = 1 - phi (B). */
  b: Labels;
  wB: Tensor | ArrayLike<number>;
  /** Label of the real image mixed in (B), already offset by the number of synthetic classes. Needed unless psi = 1. */
  r?: Labels;
  /** Domain-mixup weight of the synthetic image, one per batch (x = psi x_S + (1 - psi) x_R). */
  psi: number;
  s?: number;
  m?: number;
  easyMargin?: boolean;
}

function weightTensor(op: string, w: Tensor | ArrayLike<number>, B: number, what: string): Tensor {
  const t = w instanceof Tensor ? w : tensor(Float32Array.from(w), [w.length]);
  requireF32(op, t);
  if (t.rank !== 1 || t.shape[0] !== B)
    throw new RangeError(`${op}: ${what} of shape [${t.shape}] for a batch of ${B} (expected [${B}])`);
  return t;
}

interface SynfaceParts {
  A: Tensor;
  Bl: Tensor;
  R: Tensor | null;
  lab: { a: Tensor; b: Tensor; r: Tensor | null };
  wA: Tensor;
  wB: Tensor;
  psi: number;
}

function synfaceParts(cosine: Tensor, o: SynfaceLossOptions): SynfaceParts {
  const op = 'synfaceLoss';
  const [B, K] = requireMatrix(op, cosine, 'cosine');
  const psi = o.psi;
  if (!(psi >= 0 && psi <= 1)) throw new RangeError(`${op}: psi must be in [0, 1], got ${psi}`);
  if (o.r === undefined && psi !== 1)
    throw new RangeError(`${op}: real labels r are needed when psi = ${psi} < 1`);
  const arc = { s: o.s ?? 30, m: o.m ?? 0.5, easyMargin: o.easyMargin };
  const lab = {
    a: labelTensor(op, o.a, B, K),
    b: labelTensor(op, o.b, B, K),
    r: o.r === undefined ? null : labelTensor(op, o.r, B, K),
  };
  const wA = weightTensor(op, o.wA, B, 'wA'),
    wB = weightTensor(op, o.wB, B, 'wB');
  // with psi = 1 the real branch has weight 0 and is skipped (r may then be omitted)
  return {
    A: arcfaceLogits(cosine, lab.a, arc),
    Bl: arcfaceLogits(cosine, lab.b, arc),
    R: lab.r && psi < 1 ? arcfaceLogits(cosine, lab.r, arc) : null,
    lab,
    wA,
    wB,
    psi,
  };
}

function mixLogits(p: SynfaceParts): Tensor {
  const B = p.wA.shape[0];
  // out = psi (w_a A + w_b B) + (1 - psi) R
  let out = add(mul(p.A, reshape(p.wA, [B, 1])), mul(p.Bl, reshape(p.wB, [B, 1])));
  if (p.psi < 1) out = add(scale(out, p.psi), scale(p.R!, 1 - p.psi));
  return out;
}

/**
 * SynFace's mixed-label logits (B, K) (see synfaceLoss):
 *   out = psi (w_a Arc(f, a) + w_b Arc(f, b)) + (1 - psi) Arc(f, r)
 */
export function synfaceLogits(cosine: Tensor, o: SynfaceLossOptions): Tensor {
  return mixLogits(synfaceParts(cosine, o));
}

/**
 * SynFace's loss with identity mixup (soft labels (a, w_a), (b, w_b)) and domain mixup
 * (psi, real label r), exactly as the official training step, `train()` in
 * lib/core/functions.py of github.com/haibo-qiu/SynFace (with ArcMarginProduct of
 * lib/models/metrics.py as Arc, and CrossEntropyLoss(reduction='none') as CE, from train.py):
 *   A = Arc(f, a), B = Arc(f, b), R = Arc(f, r)                          (B, K) each
 *   out = psi (w_a A + w_b B) + (1 - psi) R                              w_a, w_b per row
 *   loss = psi (mean_i(w_a,i CE_i(out, a)) + mean_i(w_b,i CE_i(out, b))) + (1 - psi) mean_i(CE_i(out, r))
 * Arc(f, k) is arcfaceLogits with labels k (SynFace's defaults s = 30, m = 0.5).
 * Returns the scalar loss and the logits `out`.
 */
export function synfaceLoss(cosine: Tensor, o: SynfaceLossOptions): { loss: Tensor; logits: Tensor } {
  const p = synfaceParts(cosine, o);
  const logits = mixLogits(p);
  let loss = add(
    mean(mul(p.wA, crossEntropy(logits, p.lab.a, 'none'))),
    mean(mul(p.wB, crossEntropy(logits, p.lab.b, 'none'))),
  );
  if (p.psi < 1) loss = add(scale(loss, p.psi), scale(crossEntropy(logits, p.lab.r!, 'mean'), 1 - p.psi));
  return { loss, logits };
}

// ---------------------------------------------------------------- GAN losses

/**
 * softplus(x) = log(1 + e^x), stably: max(x, 0) + log1p(e^-|x|). WGSL has no log1p: for
 * u = e^-|x| < 0.01 a 5-term series (relative error < 1e-9), else log(1 + u) (relative error
 * below 1e-5 there). The gradient is sigmoid(x), itself differentiable (second order works).
 */
const SOFTPLUS =
  'max(a, 0.0) + select(log(1.0 + exp(-abs(a))), exp(-abs(a)) * (1.0 - exp(-abs(a)) * (0.5 - exp(-abs(a)) * (0.33333334 - exp(-abs(a)) * (0.25 - exp(-abs(a)) * 0.2)))), exp(-abs(a)) < 0.01)';

export function softplus(x: Tensor): Tensor {
  return record(elementwise('softplus', SOFTPLUS, [x]), 'softplus', [x], (g) => [mul(g, sigmoid(x))]);
}

/** StyleGAN2's non-saturating generator loss: mean(softplus(-D(G(z)))). */
export function ganLossG(fakeLogits: Tensor): Tensor {
  return mean(softplus(neg(fakeLogits)));
}

/** StyleGAN2's logistic discriminator loss: mean(softplus(D(G(z)))) + mean(softplus(-D(x))). */
export function ganLossD(realLogits: Tensor, fakeLogits: Tensor): Tensor {
  return add(mean(softplus(fakeLogits)), mean(softplus(neg(realLogits))));
}

// ---------------------------------------------------------------- CPU reference (float64)

const softplus64 = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
const rowsOf = (x: NdArray) => [x.shape[0], x.shape[1]];
const labelsOf = (l: ArrayLike<number>) => Array.from(l);

function arcValue64(c: number, k: ReturnType<typeof arcConstants>): number {
  const sn = Math.sqrt(Math.min(Math.max((1 - c) * (1 + c), 0), 1));
  const phi = c * k.cosm - sn * k.sinm;
  if (k.easy) return c > 0 ? phi : c;
  return c > k.th ? phi : c - k.mm;
}

function reduce64(v: number[], reduction: Reduction): NdArray {
  if (reduction === 'none') return nd([v.length], v);
  const s = v.reduce((a, b) => a + b, 0);
  return nd([], [reduction === 'sum' ? s : s / v.length]);
}

/** log(sum_k exp(x[b, k])) of row b, shifted by the row's max for stability. */
function rowLogSumExp64(x: NdArray, b: number, K: number): number {
  let m = -Infinity;
  for (let k = 0; k < K; k++) m = Math.max(m, x.data[b * K + k]);
  let s = 0;
  for (let k = 0; k < K; k++) s += Math.exp(x.data[b * K + k] - m);
  return m + Math.log(s);
}

function nll64(x: NdArray, labels: number[]): number[] {
  const [B, K] = rowsOf(x);
  const out: number[] = [];
  for (let b = 0; b < B; b++) out.push(rowLogSumExp64(x, b, K) - x.data[b * K + labels[b]]);
  return out;
}

export interface SynfaceReferenceOptions {
  a: ArrayLike<number>;
  b: ArrayLike<number>;
  r?: ArrayLike<number>;
  psi: number;
  s?: number;
  m?: number;
  easyMargin?: boolean;
}

export const reference = {
  oneHot(labels: ArrayLike<number>, K: number): NdArray {
    const out = nd([labels.length, K]);
    for (let b = 0; b < labels.length; b++)
      if (labels[b] >= 0 && labels[b] < K) out.data[b * K + labels[b]] = 1;
    return out;
  },
  pick(x: NdArray, labels: ArrayLike<number>): NdArray {
    const [B, K] = rowsOf(x);
    return nd(
      [B],
      labelsOf(labels).map((l, b) => x.data[b * K + l]),
    );
  },
  gatherRows(x: NdArray, idx: ArrayLike<number>): NdArray {
    const D = x.shape[1];
    const out = nd([idx.length, D]);
    for (let b = 0; b < idx.length; b++)
      for (let d = 0; d < D; d++) out.data[b * D + d] = x.data[idx[b] * D + d];
    return out;
  },
  crossEntropy(x: NdArray, labels: ArrayLike<number>, reduction: Reduction = 'mean'): NdArray {
    return reduce64(nll64(x, labelsOf(labels)), reduction);
  },
  softCrossEntropy(x: NdArray, t: NdArray, reduction: Reduction = 'mean'): NdArray {
    const [B, K] = rowsOf(x);
    const out: number[] = [];
    for (let b = 0; b < B; b++) {
      const lse = rowLogSumExp64(x, b, K);
      let l = 0;
      for (let k = 0; k < K; k++) l -= t.data[b * K + k] * (x.data[b * K + k] - lse);
      out.push(l);
    }
    return reduce64(out, reduction);
  },
  arcfaceLogits(cos: NdArray, labels: ArrayLike<number>, opts: ArcfaceOptions = {}): NdArray {
    const k = arcConstants('reference.arcfaceLogits', opts);
    const [B, K] = rowsOf(cos);
    const out = nd([B, K]);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < K; j++) {
        const c = cos.data[b * K + j];
        out.data[b * K + j] = k.s * (j === labels[b] ? arcValue64(c, k) : c);
      }
    }
    return out;
  },
  synfaceLogits(cos: NdArray, wA: NdArray, wB: NdArray, o: SynfaceReferenceOptions): NdArray {
    const arc = { s: o.s ?? 30, m: o.m ?? 0.5, easyMargin: o.easyMargin };
    const A = reference.arcfaceLogits(cos, o.a, arc),
      Bl = reference.arcfaceLogits(cos, o.b, arc);
    const R = o.psi < 1 ? reference.arcfaceLogits(cos, o.r!, arc) : null;
    const K = cos.shape[1];
    const out = nd(cos.shape);
    for (let i = 0; i < out.data.length; i++) {
      const b = Math.floor(i / K);
      const syn = wA.data[b] * A.data[i] + wB.data[b] * Bl.data[i];
      out.data[i] = R ? o.psi * syn + (1 - o.psi) * R.data[i] : syn;
    }
    return out;
  },
  synfaceLoss(cos: NdArray, wA: NdArray, wB: NdArray, o: SynfaceReferenceOptions): NdArray {
    const out = reference.synfaceLogits(cos, wA, wB, o);
    const B = cos.shape[0];
    const ceA = nll64(out, labelsOf(o.a)),
      ceB = nll64(out, labelsOf(o.b));
    let syn = 0;
    for (let i = 0; i < B; i++) syn += (wA.data[i] * ceA[i]) / B + (wB.data[i] * ceB[i]) / B;
    if (o.psi === 1) return nd([], [syn]);
    const real = nll64(out, labelsOf(o.r!)).reduce((a, v) => a + v, 0) / B;
    return nd([], [o.psi * syn + (1 - o.psi) * real]);
  },
  softplus: (x: NdArray): NdArray => ({ shape: [...x.shape], data: x.data.map(softplus64) }),
  ganLossG: (fake: NdArray): NdArray =>
    nd([], [fake.data.reduce((a, v) => a + softplus64(-v), 0) / fake.data.length]),
  ganLossD: (real: NdArray, fake: NdArray): NdArray =>
    nd(
      [],
      [
        fake.data.reduce((a, v) => a + softplus64(v), 0) / fake.data.length +
          real.data.reduce((a, v) => a + softplus64(-v), 0) / real.data.length,
      ],
    ),
};
