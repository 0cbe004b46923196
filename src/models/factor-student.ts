/**
 * The factor student: a small 64x64 network that predicts all measured factors of a face image
 * at once, distilled from the slow teachers of `synface analyze` (dlib's descriptor at 150x150,
 * the landmark net and the pose fit, the expression PCA, the lighting fit), so the generator's
 * training can score its fakes every step (GENERATOR.md, "Factor losses on fakes").
 *
 *   input    (N, 3, 64, 64) in [-1, 1]: the generator's pixel format (cache bytes / 127.5 - 1)
 *   backbone an IResNet (models/iresnet.ts), stride-2 stem, narrow stages -> embedding (N, E)
 *   head     Linear(E, D) -> the standardized factors (N, D),
 *            D = descriptorDim + expDim + 3 + lightDim, in the order
 *            [descriptor | expression | pose (yaw, pitch, roll) | lighting]
 *            (the order of the generator's conditioning vector)
 *
 * "Standardized" is (raw - mean) / std per dimension with the student's own FactorNorm (in its
 * config, fitted on its training rows). The generator fits its norm on the same rows
 * (generatorData), so the two normally agree; when they do not, `normConversion` gives the
 * per-dimension affine map from one standardization to the other.
 */
import { Linear, Module } from '../nn/index.js';
import { add, mean, mul, scale, slice, square, sub } from '../ops/index.js';
import { tensor } from '../tensor/create.js';
import { getDefaultGenerator, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { FactorNorm, GeneratorConfig } from './generator/config.js';
import {
  FACTOR_NAMES,
  factorDims,
  standardize,
  type FactorName,
  type FactorRows,
} from './generator/factors.js';
import { IResNet, type IResNetConfig } from './iresnet.js';
import { backboneProblem } from './recognizer-weights.js';

export type FactorNorms = GeneratorConfig['norm'];

export interface FactorStudentConfig {
  backbone: IResNetConfig;
  descriptorDim: number;
  expDim: number;
  poseDim: 3;
  lightDim: number;
  /** The standardization of the outputs (and of the training targets). */
  norm: FactorNorms;
}

/** Backbones sized for lavapipe (the measured costs are in weights/factor-student.md). */
export const STUDENT_BACKBONES = {
  /**
   * 64x64, stride-2 stem: IR stages at 32 -> 16, 8, 4, 2 px, 12..96 channels, 242 k parameters.
   * Forward + backward to the images at batch 16: about 0.2 s on lavapipe with the machine
   * loaded (the 16..128-channel variant took 0.25-0.5 s; the floor of dispatch overhead is ~0.1 s).
   */
  base: {
    input: [64, 64],
    stemStride: 2,
    blocks: [1, 1, 1, 1],
    widths: [12, 24, 48, 96],
    stem: 12,
    embedding: 128,
    dropout: 0,
  },
  /** For tests. */
  tiny: {
    input: [64, 64],
    stemStride: 2,
    blocks: [1, 1, 1, 1],
    widths: [4, 4, 8, 8],
    stem: 4,
    embedding: 16,
    dropout: 0,
  },
} satisfies Record<string, IResNetConfig>;

/** Where each factor sits in the output vector: [start, end) per factor, and the total D. */
export function factorLayout(c: Pick<FactorStudentConfig, 'descriptorDim' | 'expDim' | 'lightDim'>): {
  slices: Record<FactorName, [number, number]>;
  dim: number;
} {
  const sizes: Record<FactorName, number> = {
    descriptor: c.descriptorDim,
    expression: c.expDim,
    pose: 3,
    lighting: c.lightDim,
  };
  const slices = {} as Record<FactorName, [number, number]>;
  let at = 0;
  for (const k of FACTOR_NAMES) {
    slices[k] = [at, at + sizes[k]];
    at += sizes[k];
  }
  return { slices, dim: at };
}

/** Throws naming the first field of a student config that is not valid. */
export function checkStudentConfig(c: FactorStudentConfig, source = 'factor student config'): void {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (!c || typeof c !== 'object') fail('is missing');
  const problem = backboneProblem(c.backbone);
  if (problem) fail(`backbone ${problem}`);
  const [H, W] = c.backbone.input;
  if (H !== 64 || W !== 64) fail(`backbone input ${H}x${W}; the student takes the generator's 64x64`);
  for (const k of ['descriptorDim', 'expDim', 'lightDim'] as const)
    if (!(Number.isInteger(c[k]) && c[k] >= 1)) fail(`${k} ${c[k]} is not a positive integer`);
  if (c.poseDim !== 3) fail(`poseDim ${c.poseDim} must be 3 (yaw, pitch, roll)`);
  const sizes = { descriptor: c.descriptorDim, expression: c.expDim, pose: 3, lighting: c.lightDim };
  for (const k of FACTOR_NAMES) {
    const n: FactorNorm | undefined = c.norm?.[k];
    if (!n || n.mean?.length !== sizes[k] || n.std?.length !== sizes[k])
      fail(`norm.${k} needs a mean and a std of ${sizes[k]} values`);
    if (!n!.std.every((s) => s > 0 && Number.isFinite(s)) || !n!.mean.every(Number.isFinite))
      fail(`norm.${k} has a std that is not positive or a value that is not finite`);
  }
}

export class FactorStudent extends Module {
  readonly backbone: IResNet;
  readonly head: Linear;
  /** Length of the output vector. */
  readonly dim: number;

  constructor(
    readonly config: FactorStudentConfig,
    gen: Generator = getDefaultGenerator(),
  ) {
    super();
    checkStudentConfig(config);
    this.dim = factorLayout(config).dim;
    this.backbone = this.registerModule('backbone', new IResNet(config.backbone, gen));
    this.head = this.registerModule('head', new Linear(config.backbone.embedding, this.dim, { gen }));
  }

  /** images (N, 3, 64, 64) in [-1, 1] -> standardized factors (N, D) (see factorLayout) */
  forward(x: Tensor): Tensor {
    return this.head.forward(this.backbone.forward(x));
  }
}

// ---------------------------------------------------------------- raw <-> standardized

/** The standardized factor vectors (indices.length x D, factorLayout's order) of rows `indices`. */
export function standardizedTargets(
  rows: FactorRows,
  norm: FactorNorms,
  indices: ArrayLike<number>,
): Float32Array {
  const parts = standardize(rows, norm, indices);
  const dims = factorDims(rows);
  const D = FACTOR_NAMES.reduce((s, k) => s + dims[k], 0);
  const out = new Float32Array(indices.length * D);
  for (let n = 0; n < indices.length; n++) {
    let at = n * D;
    for (const k of FACTOR_NAMES) {
      out.set(parts[k].subarray(n * dims[k], (n + 1) * dims[k]), at);
      at += dims[k];
    }
  }
  return out;
}

/** The concatenated means and stds of a norm, in factorLayout's order. */
function flatNorm(norm: FactorNorms): { mean: Float64Array; std: Float64Array } {
  return {
    mean: Float64Array.from(FACTOR_NAMES.flatMap((k) => norm[k].mean)),
    std: Float64Array.from(FACTOR_NAMES.flatMap((k) => norm[k].std)),
  };
}

/** Standardized vectors (N x D, e.g. the student's outputs read back) -> raw factor rows. */
export function unstandardize(values: Float32Array, norm: FactorNorms): FactorRows {
  const { mean, std } = flatNorm(norm);
  const D = mean.length;
  if (values.length % D)
    throw new RangeError(`unstandardize: ${values.length} values are not rows of the norm's ${D}`);
  const count = values.length / D;
  const sizes = Object.fromEntries(FACTOR_NAMES.map((k) => [k, norm[k].mean.length])) as Record<
    FactorName,
    number
  >;
  const out = { count } as FactorRows;
  let start = 0;
  for (const k of FACTOR_NAMES) {
    const d = sizes[k],
      a = new Float32Array(count * d);
    for (let n = 0; n < count; n++)
      for (let j = 0; j < d; j++) a[n * d + j] = values[n * D + start + j] * std[start + j] + mean[start + j];
    out[k] = a;
    start += d;
  }
  return out;
}

/**
 * The per-dimension affine map between two standardizations of the same factors:
 * x_to = x_from * scale + shift (D values each, factorLayout's order). Identity (1, 0) when
 * the norms agree. E.g. the student's outputs in the generator's standardization:
 * normConversion(student.config.norm, G.config.norm).
 */
export function normConversion(
  from: FactorNorms,
  to: FactorNorms,
): { scale: Float32Array; shift: Float32Array } {
  const a = flatNorm(from),
    b = flatNorm(to);
  if (a.mean.length !== b.mean.length)
    throw new RangeError(`normConversion: norms of ${a.mean.length} and ${b.mean.length} values`);
  for (const k of FACTOR_NAMES)
    if (from[k].mean.length !== to[k].mean.length)
      throw new RangeError(
        `normConversion: ${k} has ${from[k].mean.length} values in one norm, ${to[k].mean.length} in the other`,
      );
  // raw = x_from std_a + mean_a;  x_to = (raw - mean_b) / std_b
  return {
    scale: Float32Array.from(a.std, (s, j) => s / b.std[j]),
    shift: Float32Array.from(a.mean, (m, j) => (m - b.mean[j]) / b.std[j]),
  };
}

// ---------------------------------------------------------------- as the generator's critic

/**
 * The student as a fixed critic of fakes: eval mode (batch norm on its running statistics, so
 * a fake is scored alone, not against its batch) and no parameter gradients, so a backward pass
 * through it reaches only the images.
 */
export function freezeStudent(student: FactorStudent): FactorStudent {
  student.eval();
  for (const p of student.parameters()) p.requiresGrad = false;
  return student;
}

/**
 * student(images) in another standardization (`conversion` = normConversion(student norm,
 * target norm), e.g. the generator's); differentiable with respect to the images. Without a
 * conversion, the student's own standardization.
 */
export function predictFactorsIn(
  student: FactorStudent,
  images: Tensor,
  conversion?: { scale: Float32Array; shift: Float32Array },
): Tensor {
  const y = student.forward(images);
  if (!conversion) return y;
  const D = student.dim;
  if (conversion.scale.length !== D || conversion.shift.length !== D)
    throw new RangeError(
      `predictFactorsIn: a conversion of ${conversion.scale.length} values for ${D} outputs`,
    );
  return add(mul(y, tensor(conversion.scale, [1, D])), tensor(conversion.shift, [1, D]));
}

// ---------------------------------------------------------------- the loss

/** Relative weight of each factor group in factorLoss (normalized to sum 1). */
export type GroupWeights = Record<FactorName, number>;

/**
 * Each group counts the same whatever its size: the 128 descriptor values together weigh as
 * much as the 3 pose angles. Plain MSE over all D values would give the descriptor 128/D of the
 * loss (about 87% with 8 expression components) and leave pose and lighting nearly unlearned.
 */
export const EQUAL_GROUPS: GroupWeights = { descriptor: 1, expression: 1, pose: 1, lighting: 1 };

/**
 * Weighted mean squared error between standardized factor vectors (N, D), factorLayout's order:
 *   group_k = mean over the batch and the group's dimensions of (pred - target)^2
 *   total   = sum_k w_k group_k / sum_k w_k
 * With standardized targets, predicting the training mean scores about 1 in every group, so
 * each group_k reads as the fraction of its variance left unexplained. Returns the total and
 * the groups (scalar tensors; the caller's scope disposes them).
 */
export function factorLoss(
  pred: Tensor,
  target: Tensor,
  layout: ReturnType<typeof factorLayout>,
  weights: GroupWeights = EQUAL_GROUPS,
): { total: Tensor; groups: Record<FactorName, Tensor> } {
  const D = layout.dim;
  if (
    pred.rank !== 2 ||
    pred.shape[1] !== D ||
    target.rank !== 2 ||
    target.shape[1] !== D ||
    pred.shape[0] !== target.shape[0]
  )
    throw new RangeError(
      `factorLoss: predictions [${pred.shape}] and targets [${target.shape}] must both be [N, ${D}]`,
    );
  const wsum = FACTOR_NAMES.reduce((s, k) => s + weights[k], 0);
  if (!(wsum > 0) || FACTOR_NAMES.some((k) => !(weights[k] >= 0)))
    throw new RangeError(
      `factorLoss: group weights ${JSON.stringify(weights)} must be >= 0 with a positive sum`,
    );
  const sq = square(sub(pred, target));
  const groups = {} as Record<FactorName, Tensor>;
  let total: Tensor | null = null;
  for (const k of FACTOR_NAMES) {
    groups[k] = mean(slice(sq, [null, layout.slices[k]]));
    if (weights[k] === 0) continue;
    const term = scale(groups[k], weights[k] / wsum);
    total = total ? add(total, term) : term;
  }
  return { total: total!, groups };
}
