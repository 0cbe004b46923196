/**
 * GAN training of the face generator, one step at a time (no Node imports), for runTraining
 * (runner.ts). One step, on a batch of B real images and their own measured factors c (with
 * personIdentity, the identity part of c is the image's person's mean descriptor):
 *
 *   fakes'   c' = c for the first B (1 - comboFraction) fakes (these have a real image to
 *   factors  match); the rest keep their image's identity but take expression, pose and
 *            lighting each from a random training image, and the last B newIdentityFraction
 *            of them render a new person drawn from the identity prior
 *   D step   fakes = G(c', z1) without a tape
 *            loss_d = softplus(D(fakes, c')) + softplus(-D(reals, c))           (logistic, NS)
 *            every r1Every steps (lazy R1, at step 0 too):
 *              + r1Every * gamma / 2 * mean |d sum D(reals, c) / d reals|^2    (second order)
 *            Adam on D
 *   G step   fakes = G(c', z2)   (D's parameters frozen)
 *            loss_g = softplus(-D(fakes, c'))                                    (non-saturating)
 *            recon  = mean |pool(fakes) - pool(reals)| over the fakes with c' = c,
 *                     pool: average to reconSize px
 *            factor = sum over the groups g (identity, expression, pose, lighting) of
 *                     w_g mean |P_g(fakes) - c'_g|^2 / 4 (all w_g = 1: the groups' mean), P a
 *                     frozen network reading standardized factors from images (the factor
 *                     student): every fake must show what it was asked for, new people and
 *                     recombinations included
 *            id     = identity-critic.ts: a frozen recognizer sees each fake with a real
 *                     identity as that person (1 - cos) and each new person as nobody else in
 *                     the batch (cosines above a margin)
 *            dlib   = every dlibEvery steps (lazy, as R1), on the last dlibImages fakes (the
 *                     new people, then recombinations): mean over them of
 *                     |T(fake) - d_asked|^2, T the descriptor teacher (dlib's network itself
 *                     at 150 px, as analyze reads the real images), d_asked the raw descriptor
 *                     the fake was given; scaled by dlibEvery; with dlibMargin, plus
 *                     identity-critic.ts descriptorSeparation of the new people among them
 *            Adam on G with loss_g + reconWeight * recon + factorWeight * factor
 *                               + identityWeight * id + dlibWeight * dlib
 *   (with diffAugment, every D(x, .) above is D(DiffAugment(x), .), fresh draws per call)
 *   EMA      G_ema = G + beta (G_ema - G), beta = 0.5^(B / halfLife), the half-life ramped
 *            up as StyleGAN2-ADA: min(emaHalfLifeImages, emaRampup * images seen)
 *
 * The conditioning is what makes the generator learn in few images: each fake is asked for a
 * real image's identity (its dlib descriptor through G's identity encoder), expression, pose
 * and lighting; the conditional D judges whether the image shows those factors, and the
 * low-resolution reconstruction pulls the coarse picture (head placement, pose, shading, skin
 * and hair colour) of the fake to the real image's, leaving the details (z and the per-pixel
 * noise) to the adversarial loss.
 *
 * One Adam holds G's and D's state: each step only the network being trained has gradients,
 * and Adam skips parameters without one (so it is two optimizers in one checkpoint slot).
 * Everything random has its own seeded generator, and everything that changes is in the
 * checkpoint (the three networks, Adam's moments and step counts, the sampler position, the
 * generators' offsets, the last R1 value as a buffer), so a resumed run is bit-identical to one that was
 * not stopped. A checkpoint without optimizer state (an export, see generator-run.ts) resumes
 * with Adam's moments starting over (beta1 = 0: only the second moment is lost).
 */
import { backward, grad, noGrad } from '../autograd/tape.js';
import { Module } from '../nn/module.js';
import {
  abs,
  add,
  assign,
  avgPool2d,
  concat,
  copy,
  diffAugment,
  ganLossD,
  ganLossG,
  mean,
  mul,
  reshape,
  scale,
  slice,
  square,
  sub,
  sum,
} from '../ops/index.js';
import { Adam } from '../optim/adam.js';
import { emaBeta, updateEma } from '../optim/ema.js';
import { tensor, zeros } from '../tensor/create.js';
import { Generator, randn } from '../tensor/random.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ImageCache } from '../data/image-cache.js';
import { restoreCheckpoint, type Checkpoint, type CheckpointParts } from '../io/checkpoint.js';
import { FaceDiscriminator } from '../models/generator/discriminator.js';
import {
  descriptorSeparation,
  identityLoss,
  type IdentityCritic,
  type IdentityLoss,
} from './identity-critic.js';
import { FaceGenerator } from '../models/generator/generator.js';
import { standardize, type FactorName, type FactorRows } from '../models/generator/factors.js';
import { EQUAL_GROUPS, factorLayout, factorLoss, type GroupWeights } from '../models/factor-student.js';
import type { GeneratorConfig } from '../models/generator/config.js';
import type { FactorInputs } from '../models/generator/mapping.js';
import { personMeanRows, sampleIdentities, type IdentityPrior } from '../models/generator/identity-prior.js';
import { EpochSampler, type SamplerState } from './sampler.js';
import { assertSameSettings, type SettingChanges } from './trainer-checkpoint.js';

export interface GeneratorTrainConfig {
  model: GeneratorConfig;
  batch: number;
  /** Total steps (one D step and one G step each). */
  steps: number;
  lrG: number;
  lrD: number;
  betas: [number, number];
  /** R1 weight gamma (StyleGAN2-ADA's heuristic: 0.0002 res^2 / batch). */
  r1Gamma: number;
  /** Lazy R1: the penalty every N steps, scaled by N. */
  r1Every: number;
  /** Weight of the low-resolution reconstruction of the real image from its factors (0: off). */
  reconWeight: number;
  /** Size the reconstruction compares at (a divisor of the resolution). */
  reconSize: number;
  /**
   * Share of each batch's fakes asked for a recombination: the identity of its real image, but
   * expression, pose and lighting each taken from another training image (drawn independently).
   * These have no real image to reconstruct; they teach G (through D's projection on the
   * factors) that every factor combination is a face, which is what sampling new faces needs.
   */
  comboFraction: number;
  /**
   * Share of each batch's fakes (taken from the recombined ones) whose identity is a new
   * person drawn from the identity prior (GeneratorTrainingData.identityPrior): G learns to
   * render identities between and beyond the training people, as synthesis will ask of it.
   */
  newIdentityFraction: number;
  /**
   * Whose descriptor a real image's identity input is: false, its own; true, its person's mean
   * (over the person's training images). An image's own descriptor also tells its pose (a ridge
   * map from dlib's 128 values to yaw reaches r 0.37 on held-out people, pitch 0.69), so G can
   * read pose from the identity input instead of the pose input, and new people, drawn from
   * the prior of person means, come out nearer frontal than asked (at 80 kimg the fakes'
   * measured yaw follows the requested one with slope 0.42). A person's mean is that person
   * without the picture, as a new person is.
   */
  personIdentity: boolean;
  /**
   * Weight of the factor loss: a frozen network that reads factors from images
   * (GeneratorTrainingData.factorPredictor, the factor student) must read each fake's requested
   * factors back; the mean over the four factor groups of each group's mean squared error in
   * standardized units (0: off).
   */
  factorWeight: number;
  /**
   * Each group's weight w_g inside the factor loss (all 1: the mean of the four). A group the
   * generator renders too timidly gets more: the student reads yaw from fakes as the landmarks
   * do (r 0.92 on fakes of the 77 kimg generator) while the fakes' yaw follows the request with
   * r 0.68 and 0.6 of its spread, so the loss, not its reader, is what falls short.
   */
  factorGroups: GroupWeights;
  /**
   * Weight of the identity loss (train/identity-critic.ts): a frozen recognizer
   * (GeneratorTrainingData.identityCritic) must see each fake with a real identity as that
   * person, and each new person as nobody else in the batch (0: off).
   */
  identityWeight: number;
  /**
   * The cosine under the critic above which two different people in a batch are pushed apart
   * (default 0.15, half the shipped recognizer's decision threshold 0.29).
   */
  identityMargin: number;
  /**
   * Weight of the descriptor teacher's loss (GeneratorTrainingData.descriptorTeacher: dlib's
   * network): the squared distance between the descriptor the teacher reads from a fake and the
   * one it was asked for. The factor student's identity head is a weak copy of dlib (per
   * dimension r 0.49 on held-out faces; its error on real faces is about the f_id the fakes
   * already reach), so past some point only the teacher itself tells G more (0: off).
   */
  dlibWeight: number;
  /** The teacher's loss every N steps (it costs ~0.5 s per image here), scaled by N. */
  dlibEvery: number;
  /** Fakes the teacher reads per use: the last N of the batch (the new people first). */
  dlibImages: number;
  /**
   * With the teacher, also push the new people it reads apart from every other fake it reads,
   * in its own space: identity-critic.ts descriptorSeparation, relu(margin^2 - distance^2) per
   * pair, weighed as the teacher's loss (0: off; dlib calls two faces one person below 0.6).
   */
  dlibMargin: number;
  /**
   * DiffAugment (color, translation, cutout; ops/diff-augment.ts) on every image D sees, real
   * and fake, in both steps (R1 differentiates through it): D cannot memorise a small set.
   */
  diffAugment: boolean;
  /** EMA half-life in images (StyleGAN2: 10 kimg), and its ramp-up fraction of the images seen. */
  emaHalfLifeImages: number;
  emaRampup: number;
  seed: number;
}

/**
 * Settings a resumed run may change (the rest must match the checkpoint): the length and the
 * losses' weights and schedule. Changing them is a curriculum step, logged by the run; a resume
 * with the same settings stays bit-identical to an uninterrupted run.
 */
export const CHANGEABLE_SETTINGS: ReadonlySet<string> = new Set<keyof GeneratorTrainConfig>([
  'steps',
  'lrG',
  'lrD',
  'r1Gamma',
  'r1Every',
  'reconWeight',
  'reconSize',
  'comboFraction',
  'newIdentityFraction',
  'personIdentity',
  'factorWeight',
  'factorGroups',
  'identityWeight',
  'identityMargin',
  'dlibWeight',
  'dlibEvery',
  'dlibImages',
  'dlibMargin',
  'diffAugment',
]);

/** The factor loss's groups in the condition's order: the logged name, the factor. */
const FACTOR_GROUPS: [string, FactorName][] = [
  ['f_id', 'descriptor'],
  ['f_exp', 'expression'],
  ['f_pose', 'pose'],
  ['f_light', 'lighting'],
];

/** Refuses group weights that are not one finite weight >= 0 for each of the four factors. */
export function checkGroupWeights(w: GroupWeights, what: string): void {
  const keys = FACTOR_GROUPS.map(([, name]) => name);
  const extra = Object.keys(w).filter((k) => !keys.includes(k as FactorName));
  if (extra.length)
    throw new Error(`${what}: unknown group ${extra.join(', ')} (groups: ${keys.join(', ')})`);
  for (const k of keys)
    if (!(Number.isFinite(w[k]) && w[k] >= 0))
      throw new Error(`${what}: the ${k} weight is ${String(w[k])}; it takes a number >= 0`);
}

/** StyleGAN2-ADA's R1 heuristic for a resolution and batch. */
export const r1GammaFor = (resolution: number, batch: number) => (0.0002 * resolution ** 2) / batch;

/** The trainer's defaults besides the model, the batch, the steps and the seed. */
export function defaultTrainSettings(resolution: number, batch: number) {
  return {
    lrG: 0.0025,
    lrD: 0.0025,
    betas: [0, 0.99] as [number, number],
    r1Gamma: r1GammaFor(resolution, batch),
    r1Every: 16,
    reconWeight: 1,
    reconSize: Math.min(16, resolution),
    comboFraction: 0.5,
    newIdentityFraction: 0.25,
    personIdentity: false,
    factorWeight: 0,
    factorGroups: { ...EQUAL_GROUPS },
    identityWeight: 0,
    identityMargin: 0.15,
    dlibWeight: 0,
    dlibEvery: 4,
    dlibImages: Math.min(8, batch),
    dlibMargin: 0,
    diffAugment: false,
    emaHalfLifeImages: 10_000,
    emaRampup: 0.05,
  };
}

export interface GeneratorTrainingData {
  cache: ImageCache;
  /** Cache row of each training image. */
  rows: Int32Array;
  /** Its measured factors, row k for rows[k]. */
  factors: FactorRows;
  /** Each row's person (any labels; needed when personIdentity is on). */
  person?: ArrayLike<number | string>;
  /** The training people's identity prior (needed when newIdentityFraction > 0). */
  identityPrior?: IdentityPrior;
  /** Reads factors back from images (needed when factorWeight > 0). */
  factorPredictor?: FactorPredictor;
  /** Embeds images for the identity loss (needed when identityWeight > 0). */
  identityCritic?: IdentityCritic;
  /** Reads raw identity descriptors from images (needed when dlibWeight > 0). */
  descriptorTeacher?: DescriptorTeacher;
}

/** A frozen network that reads identity descriptors, in the factors file's raw units. */
export interface DescriptorTeacher {
  /** images (B, 3, R, R) in [-1, 1] -> descriptors (B, descriptorDim); differentiable in images. */
  describe(images: Tensor): Tensor;
}

/** A frozen network that reads an image's factors (the factor student, or a teacher). */
export interface FactorPredictor {
  /**
   * images (B, 3, R, R) in [-1, 1] -> (B, F) factors standardized by the generator's norm, in
   * its condition order [descriptor | expression | pose | lighting]; differentiable in images.
   */
  predict(images: Tensor): Tensor;
}

/** G, D and the EMA copy of G: what a checkpoint's model holds. */
export class GanNets extends Module {
  readonly G: FaceGenerator;
  readonly D: FaceDiscriminator;
  readonly Gema: FaceGenerator;
  /** The last lazy R1 penalty (reported every step, so kept between the steps that compute it). */
  readonly lastR1: Tensor;

  constructor(config: GeneratorConfig, gen: Generator, emaGen: Generator) {
    super();
    this.lastR1 = this.registerBuffer('last_r1', zeros([1]));
    this.G = this.registerModule('G', new FaceGenerator(config, gen));
    this.D = this.registerModule('D', new FaceDiscriminator(config, gen));
    this.Gema = this.registerModule('G_ema', new FaceGenerator(config, emaGen));
    updateEma(this.Gema, this.G, 0); // the EMA starts as G
  }
}

/** (B, 1, 1, 1): 1 for the first n samples, 0 for the rest. */
function ownMask(B: number, n: number): Tensor {
  return tensor(
    Float32Array.from({ length: B }, (_, i) => (i < n ? 1 : 0)),
    [B, 1, 1, 1],
  );
}

function setRequiresGrad(m: Module, on: boolean): void {
  for (const p of m.parameters()) p.requiresGrad = on;
}

export class GeneratorTrainer {
  readonly nets: GanNets;
  readonly optimizer: Adam;
  readonly sampler: EpochSampler;
  /** Initial weights and G's per-pixel noise. */
  readonly modelGen: Generator;
  /** z of the fakes. */
  readonly latentGen: Generator;
  /** The EMA generator's noise (sampling only; grids fix their own). */
  readonly emaGen: Generator;
  /** Which images lend their factors to the recombined fakes. */
  readonly comboGen: Generator;
  /** DiffAugment's draws. */
  readonly augmentGen: Generator;
  /** The factors the real images ask for: the data's, with personIdentity each person's mean descriptor. */
  readonly conditionFactors: FactorRows;
  step = 0;
  /**
   * The teacher's last loss, reported every step once it has run (the runner reads the losses
   * of every logEvery-th step only, which with logEvery 10 and dlibEvery 4 would never be a
   * teacher step). Not checkpointed: after a resume it appears at the first teacher step.
   */
  private readonly lastDlib = zeros([1]);
  private readonly lastDlibSep = zeros([1]);
  private dlibSeen = false;
  constructor(
    readonly config: GeneratorTrainConfig,
    readonly data: GeneratorTrainingData,
  ) {
    const { cache, rows, factors } = data;
    const R = config.model.resolution;
    if (cache.C !== 3 || cache.H !== R || cache.W !== R)
      throw new Error(
        `GeneratorTrainer: the images are ${cache.C}x${cache.H}x${cache.W}, the generator makes 3x${R}x${R}`,
      );
    if (factors.count !== rows.length)
      throw new Error(`GeneratorTrainer: ${factors.count} factor rows for ${rows.length} images`);
    if (!(R % config.reconSize === 0 && config.reconSize >= 1))
      throw new Error(`GeneratorTrainer: reconSize ${config.reconSize} does not divide the resolution ${R}`);
    const { comboFraction: cf, newIdentityFraction: nf } = config;
    if (!(cf >= 0 && cf <= 1 && nf >= 0 && nf <= cf))
      throw new Error(
        `GeneratorTrainer: comboFraction ${cf} and newIdentityFraction ${nf} must satisfy 0 <= new <= combo <= 1`,
      );
    if (config.factorWeight > 0 && !data.factorPredictor)
      throw new Error(
        `GeneratorTrainer: factorWeight ${config.factorWeight} needs the data's factorPredictor`,
      );
    checkGroupWeights(config.factorGroups, 'GeneratorTrainer: factorGroups');
    if (config.personIdentity && data.person?.length !== factors.count)
      throw new Error(
        `GeneratorTrainer: personIdentity needs the data's person of each of its ${factors.count} rows (has ${data.person?.length ?? 'none'})`,
      );
    this.conditionFactors = config.personIdentity
      ? {
          ...factors,
          descriptor: personMeanRows(factors.descriptor, data.person!, config.model.descriptorDim),
        }
      : factors;
    if (config.dlibWeight > 0) {
      const { dlibEvery, dlibImages } = config;
      if (!data.descriptorTeacher)
        throw new Error(
          `GeneratorTrainer: dlibWeight ${config.dlibWeight} needs the data's descriptorTeacher`,
        );
      if (!(Number.isInteger(dlibEvery) && dlibEvery >= 1))
        throw new Error(`GeneratorTrainer: dlibEvery ${dlibEvery} is not a whole number of steps >= 1`);
      if (!(Number.isInteger(dlibImages) && dlibImages >= 1 && dlibImages <= config.batch))
        throw new Error(
          `GeneratorTrainer: dlibImages ${dlibImages} is not a whole number in 1 .. the batch ${config.batch}`,
        );
      if (!(config.dlibMargin >= 0 && config.dlibMargin < 2))
        throw new Error(`GeneratorTrainer: dlibMargin ${config.dlibMargin} is not a distance in [0, 2)`);
    }
    if (!(Math.abs(config.identityMargin) < 1))
      throw new Error(`GeneratorTrainer: identityMargin ${config.identityMargin} is not a cosine in (-1, 1)`);
    if (config.identityWeight > 0 && !data.identityCritic)
      throw new Error(
        `GeneratorTrainer: identityWeight ${config.identityWeight} needs the data's identityCritic`,
      );
    if (nf > 0 && !data.identityPrior)
      throw new Error(`GeneratorTrainer: newIdentityFraction ${nf} needs the data's identityPrior`);
    if (!(Number.isInteger(config.r1Every) && config.r1Every >= 1))
      throw new Error(`GeneratorTrainer: r1Every ${config.r1Every} is not a positive integer`);
    this.modelGen = new Generator(config.seed);
    this.latentGen = new Generator(config.seed + 1);
    this.emaGen = new Generator(config.seed + 3);
    this.comboGen = new Generator(config.seed + 4);
    this.augmentGen = new Generator(config.seed + 5);
    this.nets = new GanNets(config.model, this.modelGen, this.emaGen);
    this.optimizer = new Adam([...this.nets.G.parameters(), ...this.nets.D.parameters()], {
      lr: config.lrG,
      betas: config.betas,
      eps: 1e-8,
    });
    this.sampler = new EpochSampler(
      Int32Array.from(rows, (_, k) => k),
      config.batch,
      config.seed + 2,
    );
  }

  get G(): FaceGenerator {
    return this.nets.G;
  }

  get D(): FaceDiscriminator {
    return this.nets.D;
  }

  /** Images seen by D so far (reals). */
  get imagesSeen(): number {
    return this.step * this.config.batch;
  }

  /** One D step, one G step and the EMA update; the losses by name (scalars the caller disposes). */
  trainStep(): Record<string, Tensor> {
    const { batch: B, model } = this.config;
    const R = model.resolution;
    const picked = this.sampler.next();
    const { cache, rows, factors } = this.data;
    const size = 3 * R * R;
    const pixels = new Float32Array(B * size);
    picked.forEach((k, n) => {
      const src = cache.pixels.subarray(rows[k] * size, (rows[k] + 1) * size);
      for (let i = 0; i < size; i++) pixels[n * size + i] = src[i] / 127.5 - 1;
    });
    // the fakes' factors: rows 0..nOwn-1 ask for their real image's own factors (and are
    // reconstructed), the rest keep the identity and take each other factor from a random image
    const nOwn = B - Math.round(B * this.config.comboFraction);
    const lender = () => {
      const bits = this.comboGen.bitsCpu(B);
      return Int32Array.from(picked, (r, n) =>
        n < nOwn ? r : Math.floor((bits[n] / 2 ** 32) * factors.count),
      );
    };
    const own = standardize(this.conditionFactors, model.norm, picked);
    // the last nNew fakes render new people: descriptors from the prior, standardized as G's input
    const nNew = Math.round(B * this.config.newIdentityFraction);
    const descriptor = Float32Array.from(own.descriptor);
    let drawn: Float32Array | null = null; // the new people's raw descriptors
    if (nNew > 0) {
      const D = model.descriptorDim,
        { mean, std } = model.norm.descriptor;
      drawn = sampleIdentities(this.data.identityPrior!, nNew, this.comboGen, 0);
      for (let n = 0; n < nNew; n++)
        for (let j = 0; j < D; j++)
          descriptor[(B - nNew + n) * D + j] = (drawn[n * D + j] - mean[j]) / std[j];
    }
    const fake: Record<FactorName, Float32Array> = {
      descriptor,
      expression: standardize(factors, model.norm, lender()).expression,
      pose: standardize(factors, model.norm, lender()).pose,
      lighting: standardize(factors, model.norm, lender()).lighting,
    };
    const lazyR1 = this.step % this.config.r1Every === 0;
    const lazyDlib = this.step % this.config.dlibEvery === 0;

    const out = scope(() => {
      const reals = tensor(pixels, [B, 3, R, R]);
      const asTensors = (f: Record<FactorName, Float32Array>) => ({
        descriptor: tensor(f.descriptor, [B, model.descriptorDim]),
        expression: tensor(f.expression, [B, model.expDim]),
        pose: tensor(f.pose, [B, 3]),
        lighting: tensor(f.lighting, [B, model.lightDim]),
      });
      const condOf = (t: ReturnType<typeof asTensors>) =>
        concat([t.descriptor, t.expression, t.pose, t.lighting], 1);
      const realT = asTensors(own),
        fakeT = asTensors(fake);
      const cond = condOf(realT),
        fakeCond = nOwn === B ? cond : condOf(fakeT);
      const inputs = (): FactorInputs => ({
        identity: this.G.identityCode(fakeT.descriptor),
        expression: fakeT.expression,
        pose: fakeT.pose,
        lighting: fakeT.lighting,
        z: randn([B, model.zDim], 0, 1, this.latentGen),
      });

      // ---- D step
      const fakes = noGrad(() => this.G.forward(inputs()));
      if (lazyR1) reals.requiresGrad = true;
      const realLogits = this.D.forward(this.augment(reals), cond);
      const lossD = ganLossD(realLogits, this.D.forward(this.augment(fakes), fakeCond));
      let totalD = lossD;
      if (lazyR1) {
        const [g] = grad([sum(realLogits)], [reals], { createGraph: true });
        const penalty = mean(sum(square(g!), [1, 2, 3]));
        totalD = add(lossD, scale(penalty, (this.config.r1Gamma / 2) * this.config.r1Every));
        noGrad(() => assign(this.nets.lastR1, reshape(penalty, [1])));
      }
      backward(totalD);
      reals.grad?.dispose();
      reals.grad = null;
      reals.requiresGrad = false;
      this.optimizer.lr = this.config.lrD;
      this.optimizer.step();
      this.optimizer.zeroGrad();

      // ---- G step
      setRequiresGrad(this.D, false);
      const gen = this.G.forward(inputs());
      const lossG = ganLossG(this.D.forward(this.augment(gen), fakeCond));
      let totalG = lossG;
      let recon: Tensor | null = null;
      if (this.config.reconWeight > 0 && nOwn > 0) {
        // mean |pool(fake) - pool(real)| over the nOwn fakes that have a real image to match
        const k = R / this.config.reconSize;
        const errors = abs(sub(avgPool2d(gen, k), avgPool2d(reals, k)));
        recon = nOwn === B ? mean(errors) : scale(mean(mul(errors, ownMask(B, nOwn))), B / nOwn);
        totalG = add(lossG, scale(recon, this.config.reconWeight));
      }
      let groups: Record<string, Tensor> = {};
      if (this.config.factorWeight > 0) {
        groups = this.factorErrors(gen, fakeCond);
        const w = this.config.factorGroups;
        const weighted = FACTOR_GROUPS.map(([key, name]) => scale(groups[key], w[name] / 4));
        totalG = add(
          totalG,
          scale(
            weighted.reduce((a, b) => add(a, b)),
            this.config.factorWeight,
          ),
        );
      }
      let identity: IdentityLoss | null = null;
      if (this.config.identityWeight > 0) {
        // the fakes before the last nNew were given their real image's descriptor
        const critic = this.data.identityCritic!;
        const realEmb = noGrad(() => critic.embed(reals));
        identity = identityLoss(critic.embed(gen), realEmb, B - nNew, this.config.identityMargin);
        totalG = add(totalG, scale(add(identity.pos, identity.neg), this.config.identityWeight));
      }
      let dlib: Tensor | null = null;
      if (this.config.dlibWeight > 0 && lazyDlib) {
        const { dlibImages: k, dlibMargin, dlibWeight, dlibEvery } = this.config;
        const read = this.data.descriptorTeacher!.describe(slice(gen, [[B - k, B]])); // (k, D)
        dlib = this.teacherError(read, this.askedDescriptors(picked, drawn));
        let teacher = dlib;
        if (dlibMargin > 0) {
          const sep = descriptorSeparation(read, k - Math.min(k, nNew), dlibMargin);
          teacher = add(dlib, sep);
          noGrad(() => assign(this.lastDlibSep, reshape(sep, [1])));
        }
        totalG = add(totalG, scale(teacher, dlibWeight * dlibEvery));
        noGrad(() => assign(this.lastDlib, reshape(dlib!, [1])));
        this.dlibSeen = true;
      }
      backward(totalG);
      setRequiresGrad(this.D, true);
      this.optimizer.lr = this.config.lrG;
      this.optimizer.step();
      this.optimizer.zeroGrad();

      const losses: Record<string, Tensor> = { loss_d: lossD, loss_g: lossG };
      if (recon) losses.recon = recon;
      Object.assign(losses, groups);
      if (identity) Object.assign(losses, { id_pos: identity.pos, id_neg: identity.neg });
      if (this.dlibSeen) losses.dlib = reshape(copy(this.lastDlib), []);
      if (this.dlibSeen && this.config.dlibMargin > 0) losses.dlib_sep = reshape(copy(this.lastDlibSep), []);
      losses.r1 = reshape(copy(this.nets.lastR1), []);
      return losses;
    });
    this.step++;
    const c = this.config;
    const halfLife = Math.min(c.emaHalfLifeImages, c.emaRampup * this.imagesSeen);
    updateEma(this.nets.Gema, this.nets.G, emaBeta(B, halfLife));
    return out;
  }

  /** The random generators a checkpoint holds. */
  private generators(withAugment = true): Record<string, Generator> {
    const { modelGen: model, latentGen: latent, emaGen: ema, comboGen: combo, augmentGen: augment } = this;
    return { model, latent, ema, combo, ...(withAugment ? { augment } : {}) };
  }

  /** What D sees of a batch: DiffAugment'ed when on (fresh draws per call), else the batch. */
  private augment(x: Tensor): Tensor {
    return this.config.diffAugment ? diffAugment(x, this.augmentGen) : x;
  }

  /**
   * Each factor group's mean squared error (standardized units) between what the predictor
   * reads from the fakes and what they were asked for: { f_id, f_exp, f_pose, f_light }.
   */
  private factorErrors(fakes: Tensor, asked: Tensor): Record<string, Tensor> {
    const predicted = this.data.factorPredictor!.predict(fakes);
    const { groups } = factorLoss(predicted, asked, factorLayout(this.config.model));
    return Object.fromEntries(FACTOR_GROUPS.map(([key, name]) => [key, groups[name]]));
  }

  /**
   * The raw descriptors the fakes were asked for (B x descriptorDim): each picked image's (its
   * own, or with personIdentity its person's mean), the last rows replaced by the new people's
   * draws.
   */
  private askedDescriptors(picked: ArrayLike<number>, drawn: Float32Array | null): Float32Array {
    const D = this.config.model.descriptorDim,
      source = this.conditionFactors.descriptor;
    const raw = new Float32Array(picked.length * D);
    for (let n = 0; n < picked.length; n++)
      raw.set(source.subarray(picked[n] * D, (picked[n] + 1) * D), n * D);
    if (drawn) raw.set(drawn, raw.length - drawn.length);
    return raw;
  }

  /**
   * The descriptor teacher's loss on the last dlibImages fakes: mean over them of the squared
   * distance between the descriptor it read (`read`: k x descriptorDim) and the raw descriptor
   * asked for (`asked`: B x descriptorDim, askedDescriptors).
   */
  private teacherError(read: Tensor, asked: Float32Array): Tensor {
    const { batch: B, model } = this.config;
    const D = model.descriptorDim,
      k = this.config.dlibImages;
    return scale(sum(square(sub(read, tensor(asked.subarray((B - k) * D), [k, D])))), 1 / k);
  }

  status(): Record<string, number> {
    return { kimg: this.imagesSeen / 1000, epoch: this.sampler.epochsDone };
  }

  checkpointParts(extra: Record<string, unknown> = {}, withOptimizer = true): CheckpointParts {
    return {
      model: this.nets,
      optimizer: withOptimizer ? this.optimizer : undefined,
      step: this.step,
      rng: this.generators(),
      config: { ...extra, train: this.config, sampler: this.sampler.getState() },
    };
  }

  restore(ckpt: Checkpoint, source: string): SettingChanges {
    const saved = ckpt.config as {
      train?: GeneratorTrainConfig;
      sampler?: SamplerState;
    } | null;
    if (!saved?.train || !saved.sampler)
      throw new Error(`${source}: not a generator training checkpoint (no train config or sampler state)`);
    // the run's length and its loss schedule may change between sessions (a curriculum: a run
    // is extended, a loss switched on); what shapes the networks or the data order may not
    // a checkpoint from before a setting existed trained with its default (the code before it)
    const savedTrain = {
      ...defaultTrainSettings(saved.train.model.resolution, saved.train.batch),
      ...saved.train,
    };
    const { steps: _, ...changed } = assertSameSettings(source, savedTrain, this.config, CHANGEABLE_SETTINGS);
    this.step = restoreCheckpoint(
      ckpt,
      {
        model: this.nets,
        optimizer: ckpt.optimizer ? this.optimizer : undefined,
        // checkpoints from before DiffAugment existed have no state for its generator
        rng: this.generators(!!ckpt.rng.augment),
      },
      source,
    );
    this.sampler.setState(saved.sampler);
    return changed;
  }

  dispose(): void {
    this.lastDlib.dispose();
    this.lastDlibSep.dispose();
    this.nets.dispose();
    this.optimizer.dispose();
  }
}
