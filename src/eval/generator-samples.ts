/**
 * Images of the face generator for its evaluation, and their measurement (no Node imports):
 *
 *   generatorReference   the factors file split as the training run split it: training rows
 *                        (people not held out, quality 0) and the held-out people's rows
 *   syntheticRequests    new identities from the identity prior (rejection near every training
 *                        person), each shown perId times with expression, pose and lighting
 *                        drawn from the training measurements (factor-prior.ts), and z ~ N(0, I)
 *   renderImages         the requests through G, as the u8 CHW pixels a PNG would hold
 *                        (optionally with identity mixup and each image's own noise maps)
 *   measureGenerated     the face analysis of those pixels, as `synface analyze` measures real
 *                        images (measure-faces.ts): dlib descriptor, landmarks, pose, lighting,
 *                        quality, and the expression code in the factors file's PCA, each
 *                        synthetic identity's images against its own mean residual (as analyze
 *                        does per person)
 *   embedDescriptors     dlib's descriptor alone (the cheap path of the training run's FD)
 */
import { noGrad } from '../autograd/tape.js';
import { tensor } from '../tensor/create.js';
import { Generator, toUnit } from '../tensor/random.js';
import { scope } from '../tensor/scope.js';
import { augmentImages, identityAugmentParams, uploadU8Images } from '../ops/augment.js';
import { affine } from '../ops/index.js';
import { DLIB_INPUT_SIZE, type DlibDescriptor } from '../models/face-api/dlib-descriptor.js';
import type { FaceGenerator } from '../models/generator/generator.js';
import { mixIdentity } from '../models/generator/mapping.js';
import { checkFactorRows, standardize, type FactorRows } from '../models/generator/factors.js';
import { sampleFactors } from '../models/generator/factor-prior.js';
import { sampleIdentities, type IdentityPrior } from '../models/generator/identity-prior.js';
import {
  EXPRESSION_DIM,
  expressionCode,
  expressionResidual,
  type ExpressionModel,
} from '../face/expression.js';
import type { FactorsTable } from '../face/factors-file.js';
import { faceFactors, measureBatch, type FaceNets } from '../face/measure-faces.js';

export interface GeneratorReference {
  /** The training rows: people not held out, quality 0 (what train-generator trains on). */
  train: FactorRows;
  /** The person of each training row. */
  person: string[];
  /** The held-out people's rows of quality 0 (the realism reference). */
  heldOut: FactorRows;
  heldOutPerson: string[];
  expressionModel: ExpressionModel;
  /** Rows of the file of each training and held-out row. */
  trainRows: number[];
  heldOutRows: number[];
}

/** The factors of rows `picked` of a complete table (checked: finite, consistent sizes). */
export function factorRowsOf(table: FactorsTable, picked: number[], source: string): FactorRows {
  const k = table.expression!.model.variances.length;
  const take = (a: Float32Array, d: number) => {
    const out = new Float32Array(picked.length * d);
    picked.forEach((i, n) => out.set(a.subarray(i * d, (i + 1) * d), n * d));
    return out;
  };
  const rows: FactorRows = {
    count: picked.length,
    descriptor: take(table.columns.descriptor, 128),
    expression: take(table.expression!.code, k),
    pose: take(table.columns.pose, 3),
    lighting: take(table.columns.lighting, 6),
  };
  checkFactorRows(rows, source);
  return rows;
}

/** The training and held-out rows of a complete factors file (held out: the split's validation people). */
export function generatorReference(
  table: FactorsTable,
  heldOut: ReadonlySet<string>,
  source: string,
): GeneratorReference {
  if (!table.complete || !table.expression)
    throw new Error(`${source}: the factors file is not complete (${table.done} of ${table.total} images)`);
  const trainRows: number[] = [],
    heldOutRows: number[] = [];
  table.images.forEach(([name], i) => {
    if (table.columns.quality[i] !== 0) return;
    (heldOut.has(name) ? heldOutRows : trainRows).push(i);
  });
  if (trainRows.length < 2)
    throw new Error(`${source}: ${trainRows.length} usable training image(s); the priors need 2 or more`);
  return {
    train: factorRowsOf(table, trainRows, source),
    person: trainRows.map((i) => table.images[i][0]),
    heldOut: factorRowsOf(table, heldOutRows, source),
    heldOutPerson: heldOutRows.map((i) => table.images[i][0]),
    expressionModel: table.expression.model,
    trainRows,
    heldOutRows,
  };
}

/** n standard normals from a generator's CPU stream (Box-Muller), the same on every machine. */
export function standardNormals(n: number, gen: Generator): Float32Array {
  const bits = gen.bitsCpu(2 * n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u1 = Math.max(toUnit(bits[2 * i]), 2 ** -25);
    out[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * toUnit(bits[2 * i + 1]));
  }
  return out;
}

/** What the generator is asked for, raw (unstandardized), one row per image. */
export interface FactorRequest extends FactorRows {
  /** count x zDim, standard normal. */
  z: Float32Array;
  /**
   * Identity mixup (optional): each image's identity code is phi * code(descriptor) +
   * (1 - phi) * code(partner) (mixIdentity, in the identity-code space); partner: count x
   * descriptorDim raw descriptors, phi: count values in [0, 1].
   */
  mix?: { partner: Float32Array; phi: Float32Array };
}

export interface SyntheticRequests extends FactorRequest {
  /** The synthetic identity (0 .. ids - 1) of each image. */
  identityOf: Int32Array;
  /** ids x descriptorDim: the sampled identity descriptors. */
  identities: Float32Array;
}

/**
 * ids new identities x perId images: identities from the prior at least minDistance from every
 * training person, the other factors drawn per image from the training rows, z ~ N(0, I).
 * Streams: seed (identities), seed + 1 (factors), seed + 2 (z).
 */
export function syntheticRequests(
  train: FactorRows,
  prior: IdentityPrior,
  o: { ids: number; perId: number; seed: number; minDistance: number; zDim: number },
): SyntheticRequests {
  const { ids, perId, seed } = o;
  const n = ids * perId;
  const identities = sampleIdentities(prior, ids, new Generator(seed), o.minDistance);
  const f = sampleFactors(train, n, new Generator(seed + 1));
  const dim = prior.dim;
  const descriptor = new Float32Array(n * dim);
  const identityOf = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    identityOf[i] = Math.floor(i / perId);
    descriptor.set(identities.subarray(identityOf[i] * dim, (identityOf[i] + 1) * dim), i * dim);
  }
  return {
    count: n,
    descriptor,
    ...f,
    z: standardNormals(n * o.zDim, new Generator(seed + 2)),
    identityOf,
    identities,
  };
}

/**
 * The requested images (count x 3 x R x R bytes, CHW RGB): G's output in [-1, 1] mapped to
 * [0, 255] and rounded, as a PNG holds them. The per-pixel noise: `noise`, each image's own
 * maps (count x noiseLength(G) standard normals, layer after layer as G.noiseSizes() lists them,
 * each map row-major), so an image's noise does not depend on the batch it is rendered in; or
 * `noiseSeed`, one map per layer shared by each batch, for reproducible pictures; otherwise G's
 * own noise stream. `raw` (count x 3 x R x R), when given, receives G's output before rounding.
 */
export async function renderImages(
  G: FaceGenerator,
  req: FactorRequest,
  options: { batch?: number; noiseSeed?: number; noise?: Float32Array; raw?: Float32Array } = {},
): Promise<Uint8Array> {
  const c = G.config,
    R = c.resolution,
    size = 3 * R * R;
  const batch = options.batch ?? 16;
  if (req.z.length !== req.count * c.zDim)
    throw new RangeError(`renderImages: z holds ${req.z.length} values, not ${req.count} x ${c.zDim}`);
  const sizes = G.noiseSizes();
  const perImage = noiseLength(G);
  if (options.noise && options.noise.length !== req.count * perImage)
    throw new RangeError(
      `renderImages: noise holds ${options.noise.length} values, not ${req.count} x ${perImage}`,
    );
  if (options.raw && options.raw.length !== req.count * size)
    throw new RangeError(`renderImages: raw holds ${options.raw.length} values, not ${req.count} x ${size}`);
  if (req.mix && (req.mix.partner.length !== req.count * c.descriptorDim || req.mix.phi.length !== req.count))
    throw new RangeError(
      `renderImages: the mixup partners hold ${req.mix.partner.length} values and phi ${req.mix.phi.length}, not ${req.count} x ${c.descriptorDim} and ${req.count}`,
    );
  const all = Array.from({ length: req.count }, (_, i) => i);
  const f = standardize(req, c.norm, all);
  const partner = req.mix && standardize({ ...req, descriptor: req.mix.partner }, c.norm, all).descriptor;
  const out = new Uint8Array(req.count * size);
  for (let start = 0; start < req.count; start += batch) {
    const n = Math.min(batch, req.count - start);
    const rows = <T extends Float32Array>(a: T, d: number) => a.subarray(start * d, (start + n) * d);
    const code = (d: Float32Array) => G.identityCode(tensor(rows(d, c.descriptorDim), [n, c.descriptorDim]));
    const forward = () =>
      G.forward({
        identity:
          req.mix && partner
            ? mixIdentity(code(f.descriptor), code(partner), tensor(rows(req.mix.phi, 1), [n, 1]))
            : code(f.descriptor),
        expression: tensor(rows(f.expression, c.expDim), [n, c.expDim]),
        pose: tensor(rows(f.pose, 3), [n, 3]),
        lighting: tensor(rows(f.lighting, c.lightDim), [n, c.lightDim]),
        z: tensor(rows(req.z, c.zDim), [n, c.zDim]),
      });
    // each layer's (n, 1, r, r) maps out of the images' rows of `noise`
    const noiseMaps = (noise: Float32Array) => {
      let at = 0;
      return sizes.map((r) => {
        const m = new Float32Array(n * r * r);
        for (let k = 0; k < n; k++) {
          const row = (start + k) * perImage + at;
          m.set(noise.subarray(row, row + r * r), k * r * r);
        }
        at += r * r;
        return tensor(m, [n, 1, r, r]);
      });
    };
    const images = noGrad(() =>
      scope(() =>
        options.noise
          ? G.withNoiseMaps(noiseMaps(options.noise), forward)
          : options.noiseSeed === undefined
            ? forward()
            : G.withFixedNoise(new Generator(options.noiseSeed), forward),
      ),
    );
    const v = (await images.toArray()) as Float32Array;
    images.dispose();
    options.raw?.set(v, start * size);
    for (let i = 0; i < v.length; i++)
      out[start * size + i] = Math.max(0, Math.min(255, Math.round((v[i] + 1) * 127.5)));
  }
  return out;
}

/** How many noise values one image takes (the sum of its noise maps' pixels). */
export function noiseLength(G: FaceGenerator): number {
  return G.noiseSizes().reduce((s, r) => s + r * r, 0);
}

/** dlib descriptors (n x 128) of n u8 CHW images of R x R px, resized to 150 as analyze does. */
export async function embedDescriptors(
  dlib: DlibDescriptor,
  pixels: Uint8Array,
  n: number,
  R: number,
  batch = 16,
): Promise<Float32Array> {
  const out = new Float32Array(n * 128);
  const size = 3 * R * R;
  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start);
    const t = noGrad(() =>
      scope(() => {
        const packed = uploadU8Images(pixels.subarray(start * size, (start + b) * size), b, 3, R, R);
        const x = augmentImages(packed, identityAugmentParams(b, R, R, DLIB_INPUT_SIZE, DLIB_INPUT_SIZE));
        return dlib.forward(affine(x, 127.5, 127.5));
      }),
    );
    out.set((await t.toArray()) as Float32Array, start * 128);
    t.dispose();
  }
  return out;
}

export interface GeneratedMeasurements {
  count: number;
  /** count x 128 */
  descriptor: Float32Array;
  /** count x 3: yaw, pitch, roll (degrees; NaN when the pose fit failed) */
  pose: Float32Array;
  /** count x 6 */
  lighting: Float32Array;
  /** count x k, in the factors file's PCA; NaN where the landmarks were not usable */
  expression: Float32Array;
  /** analyze's quality bits (0: usable). */
  quality: Uint32Array;
}

/**
 * The face analysis of generated images (see the header). `identityOf` groups the images by
 * synthetic identity for the expression code's reference (its quality-0 images' mean residual
 * when it has 2 or more, else the model's centre).
 */
export async function measureGenerated(
  nets: FaceNets,
  pixels: Uint8Array,
  R: number,
  identityOf: Int32Array,
  model: ExpressionModel,
  batch = 16,
): Promise<GeneratedMeasurements> {
  const count = identityOf.length;
  const size = 3 * R * R;
  const m: GeneratedMeasurements = {
    count,
    descriptor: new Float32Array(count * 128),
    pose: new Float32Array(count * 3),
    lighting: new Float32Array(count * 6),
    expression: new Float32Array(count * model.variances.length).fill(NaN),
    quality: new Uint32Array(count),
  };
  const landmarks = new Float32Array(count * 136);
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const u8 = pixels.subarray(start * size, (start + n) * size);
    const out = await measureBatch(nets, u8, n, R, R);
    m.descriptor.set(out.descriptors, start * 128);
    landmarks.set(out.landmarks, start * 136);
    for (let k = 0; k < n; k++) {
      const i = start + k;
      const lm = out.landmarks.subarray(k * 136, (k + 1) * 136);
      const finite = [lm, out.descriptors.subarray(k * 128, (k + 1) * 128)].every((a) =>
        a.every(Number.isFinite),
      );
      const f = faceFactors(u8.subarray(k * size, (k + 1) * size), R, R, lm, finite);
      m.pose.set([f.yaw, f.pitch, f.roll], i * 3);
      m.lighting.set(f.lighting, i * 6);
      m.quality[i] = f.quality;
    }
  }
  // expression codes against each identity's own mean residual (analyze's per-person rule)
  const lm = (i: number) => landmarks.subarray(i * 136, (i + 1) * 136);
  const sums = new Map<number, { sum: Float64Array; n: number }>();
  for (let i = 0; i < count; i++) {
    if (m.quality[i] !== 0) continue;
    const r = expressionResidual(lm(i), model.meanShape);
    const s = sums.get(identityOf[i]) ?? { sum: new Float64Array(EXPRESSION_DIM), n: 0 };
    for (let d = 0; d < EXPRESSION_DIM; d++) s.sum[d] += r[d];
    s.n++;
    sums.set(identityOf[i], s);
  }
  const k = model.variances.length;
  for (let i = 0; i < count; i++) {
    if (!lm(i).every(Number.isFinite)) continue;
    const s = sums.get(identityOf[i]);
    const mean = s && s.n >= 2 ? s.sum.map((v) => v / s.n) : undefined;
    try {
      m.expression.set(expressionCode(lm(i), model, mean), i * k);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e; // degenerate landmarks: the code stays NaN
    }
  }
  return m;
}
