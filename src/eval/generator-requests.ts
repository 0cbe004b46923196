/**
 * What `synface generate` asks the generator for (no GPU, no Node): explicit factors checked
 * against the ranges measured on the training data, the rest drawn from the priors.
 *
 *   identity    'sample': the grid's rows are identities drawn from the identity prior with
 *               stream `seed`; a number n: row r is identity n + r, the first identity the
 *               prior gives with stream n + r (so `--identity 7` is the same person in every
 *               command that names it, whatever the other options)
 *   yaw, pitch  degrees, or 'sample'
 *   expression  the expression code (expDim values, the factors file's PCA), or 'sample'
 *   light       the lighting code (6 values, src/face/lighting.ts), or 'sample'
 *   grid        rows x columns: rows are identities (one z per row, as in the training grid);
 *               column c shares one draw of the sampled factors (stream seed + 1) across rows;
 *               explicit factors are the same in every cell
 * A value outside the smallest..largest training measurement of its factor (per component for
 * the codes) is refused by name: the generator never saw it.
 */
import type { GeneratorConfig } from '../models/generator/config.js';
import type { FactorRows } from '../models/generator/factors.js';
import { factorRanges, sampleFactors, type FactorRange } from '../models/generator/factor-prior.js';
import { sampleIdentities, type IdentityPrior } from '../models/generator/identity-prior.js';
import { Generator } from '../tensor/random.js';
import { standardNormals, type FactorRequest } from './generator-samples.js';

export interface GenerateRequest {
  seed: number;
  identity: 'sample' | number;
  yaw: 'sample' | number;
  pitch: 'sample' | number;
  expression: 'sample' | number[];
  light: 'sample' | number[];
  rows: number;
  columns: number;
}

const fmt = (v: number) => (Math.abs(v) >= 10 ? v.toFixed(1) : v.toPrecision(3));

/** Throws naming the first requested factor outside the training ranges (or of the wrong length). */
export function checkRequest(
  req: GenerateRequest,
  ranges: ReturnType<typeof factorRanges>,
  config: Pick<GeneratorConfig, 'expDim' | 'lightDim'>,
): void {
  const scalar = (name: string, v: 'sample' | number, r: FactorRange, j: number) => {
    if (v === 'sample') return;
    if (!(v >= r.min[j] && v <= r.max[j]))
      throw new RangeError(
        `generate: --${name} ${v} is outside the range measured on the training data (${fmt(r.min[j])} .. ${fmt(r.max[j])} degrees)`,
      );
  };
  scalar('yaw', req.yaw, ranges.pose, 0);
  scalar('pitch', req.pitch, ranges.pose, 1);
  const code = (name: string, v: 'sample' | number[], r: FactorRange, n: number, what: string) => {
    if (v === 'sample') return;
    if (v.length !== n)
      throw new RangeError(
        `generate: --${name} has ${v.length} value(s); the generator takes ${n} (${what})`,
      );
    v.forEach((x, j) => {
      if (!(x >= r.min[j] && x <= r.max[j]))
        throw new RangeError(
          `generate: --${name} value ${j + 1} is ${x}, outside the range measured on the training data (${fmt(r.min[j])} .. ${fmt(r.max[j])})`,
        );
    });
  };
  code(
    'expression',
    req.expression,
    ranges.expression,
    config.expDim,
    "the factors file's expression components",
  );
  code('light', req.light, ranges.lighting, config.lightDim, 'the lighting code a, b, c, d, e, f');
  for (const [k, v] of Object.entries({ rows: req.rows, columns: req.columns }))
    if (!(Number.isInteger(v) && v >= 1))
      throw new RangeError(`generate: the grid's ${k} must be >= 1, got ${v}`);
}

/** A grid with every factor drawn: rows of new people, columns of drawn expression, pose and lighting. */
export function sampledGrid(rows: number, columns: number, seed = 0): GenerateRequest {
  const drawn = 'sample' as const;
  return { seed, identity: drawn, yaw: drawn, pitch: drawn, expression: drawn, light: drawn, rows, columns };
}

/** The rows x columns requests of the grid, row after row (see the header). */
export function gridRequests(
  req: GenerateRequest,
  train: FactorRows,
  prior: IdentityPrior,
  minDistance: number,
  config: GeneratorConfig,
): FactorRequest {
  checkRequest(req, factorRanges(train), config);
  const { rows, columns } = req;
  const n = rows * columns;
  const dim = prior.dim;
  const identities =
    req.identity === 'sample'
      ? sampleIdentities(prior, rows, new Generator(req.seed), minDistance)
      : Float32Array.from(
          Array.from({ length: rows }, (_, r) =>
            Array.from(sampleIdentities(prior, 1, new Generator((req.identity as number) + r), minDistance)),
          ).flat(),
        );
  const drawn = sampleFactors(train, columns, new Generator(req.seed + 1));
  const zRows = standardNormals(rows * config.zDim, new Generator(req.seed + 2));
  const out: FactorRequest = {
    count: n,
    descriptor: new Float32Array(n * dim),
    expression: new Float32Array(n * config.expDim),
    pose: new Float32Array(n * 3),
    lighting: new Float32Array(n * config.lightDim),
    z: new Float32Array(n * config.zDim),
  };
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      out.descriptor.set(identities.subarray(r * dim, (r + 1) * dim), i * dim);
      out.z.set(zRows.subarray(r * config.zDim, (r + 1) * config.zDim), i * config.zDim);
      const e = config.expDim,
        l = config.lightDim;
      out.expression.set(
        req.expression === 'sample' ? drawn.expression.subarray(c * e, (c + 1) * e) : req.expression,
        i * e,
      );
      out.lighting.set(
        req.light === 'sample' ? drawn.lighting.subarray(c * l, (c + 1) * l) : req.light,
        i * l,
      );
      const pose = drawn.pose.slice(c * 3, c * 3 + 3); // roll always from the draw
      if (req.yaw !== 'sample') pose[0] = req.yaw;
      if (req.pitch !== 'sample') pose[1] = req.pitch;
      out.pose.set(pose, i * 3);
    }
  return out;
}
