/**
 * Losses of face recognition: cross-entropy (hard and soft targets), the ArcFace additive
 * angular margin and SynFace's mixed-label margin loss. Forward, backward and the float64 CPU
 * reference side by side, as every op file (docs/CONTRIBUTING-OPS.md). Labels (CPU arrays or
 * i32 tensors) and the integer-indexed ops are in indexing.ts; the GAN losses in gan-loss.ts.
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
import { arcMarginWgsl, crossEntropyBackwardWgsl, crossEntropyForwardWgsl } from '../../shaders/loss.js';
import { add, mul, neg, scale, sub } from './elementwise.js';
import { requireF32 } from '../tensor/kernel.js';
import { indexParams, labelTensor, oneHot, requireMatrix, type Labels } from './indexing.js';
import { mean, softmax, logSoftmax, sum } from './reduce.js';
import { reshape } from './shape.js';

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

// ---------------------------------------------------------------- CPU reference (float64)

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
};
