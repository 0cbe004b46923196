/**
 * The in-browser demo's core (no Node imports, no DOM): everything the page computes, so the
 * page and Node (test/web-core.test.ts, test/browser/web-e2e.ts) run the same code on the same
 * bytes and parity holds by construction. Files come through `read(path)`, a repository-relative
 * path (DEMO_FILES): a fetch in the page, a file read in Node.
 *
 *   generate      a face for (identity seed, yaw, pitch, expression code, lighting code, z seed):
 *                 the request `synface generate --identity N --seed S --yaw ... --light ...` makes
 *                 (gridRequests: the identity prior of the training people, roll drawn with the
 *                 seed, every value checked against the ranges measured on the training data),
 *                 rendered with per-image noise maps drawn on the CPU (standardNormals), so two
 *                 adapters start from the same bits; optionally identity mixup with a second
 *                 identity seed: phi code(a) + (1 - phi) code(b) before the mapping (mixIdentity)
 *   domainMix     psi x_S + (1 - psi) x_R in the recognizer's normalized pixel space, as
 *                 RecognizerTrainer.synfaceBatch blends a batch (both images through
 *                 augmentImages with identity parameters: u8 -> [-1, 1] at the model's input)
 *   embed/verify  the shipped recognizer's embeddings, their cosine, and the decision at the
 *                 validation threshold stored in its manifest (validation.threshold); dlib's
 *                 descriptor distance (threshold 0.6) once face-api's weights are loaded
 *   train         a few dozen steps of RecognizerTrainer (the small preset) on the embedded
 *                 sample's training people, one loss per step
 */
import { noGrad } from '../autograd/tape.js';
import { augmentImages, identityAugmentParams, uploadU8Images } from '../ops/augment.js';
import { add, affine, scale } from '../ops/index.js';
import { tensor } from '../tensor/create.js';
import { Generator } from '../tensor/random.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { readTfjsWeights } from '../io/tfjs-weights.js';
import { decodeImage } from '../data/decode-image.js';
import type { ImageCache } from '../data/image-cache.js';
import { imagePath, parsePeople } from '../data/lfw-pairs.js';
import { toUint8CHW, type Preprocess } from '../data/preprocess.js';
import { cropFor, parseLayout } from '../data/layout.js';
import type { IResNet } from '../models/iresnet.js';
import { loadRecognizer } from '../models/recognizer-weights.js';
import {
  DLIB_INPUT_SIZE,
  DLIB_THRESHOLD,
  DLIB_WEIGHTS_NAME,
  DlibDescriptor,
} from '../models/face-api/dlib-descriptor.js';
import { factorRanges, type FactorRange } from '../models/generator/factor-prior.js';
import { sampleIdentities } from '../models/generator/identity-prior.js';
import { openGeneratorFromBytes, type GeneratorSetup } from '../eval/generator-setup.js';
import { gridRequests, type GenerateRequest } from '../eval/generator-requests.js';
import { noiseLength, renderImages, standardNormals } from '../eval/generator-samples.js';
import { cosineSimilarity, euclideanDistance } from '../eval/verification.js';
import { RECOGNIZER_PRESETS } from '../train/presets.js';
import { RecognizerTrainer } from '../train/recognizer-trainer.js';

/** Reads a repository-relative file ('weights/...', 'data/...'). */
export type ReadFile = (path: string) => Promise<Uint8Array>;

export const DEMO_FILES = {
  generator: 'weights/generator.safetensors',
  factors: 'data/lfw-devtrain.factors.safetensors',
  valPeople: 'weights/split/val-people.txt',
  recognizer: 'weights/recognizer-small.safetensors',
  manifest: 'weights/recognizer-small.manifest.json',
  sample: 'data/lfw-sample',
} as const;

/**
 * What the demo needs of an adapter beyond "has WebGPU": the engine's kernels use workgroups of
 * up to 16 x 16 = 256 invocations and up to 8 storage buffers per kernel (WebGPU's default
 * limits; an adapter below them cannot run them).
 */
export const DEMO_LIMITS: Record<string, number> = {
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxStorageBuffersPerShaderStage: 8,
  maxComputeWorkgroupStorageSize: 16384,
  maxStorageBufferBindingSize: 128 * 1024 * 1024,
};

/** The limits of `limits` below what the demo needs, as `name: has < needs` lines. */
export function missingLimits(limits: Record<string, unknown>): string[] {
  return Object.entries(DEMO_LIMITS)
    .filter(([k, need]) => !((limits[k] as number) >= need))
    .map(([k, need]) => `${k}: ${String(limits[k])} < ${need}`);
}

/** A face's factors; the explicit values must lie in the training ranges (DemoRanges). */
export interface FaceParams {
  /** The identity seed: the first identity the prior gives with this stream (`--identity`). */
  identity: number;
  /** The seed of z, roll and the noise maps (`--seed`). */
  seed: number;
  yaw: number;
  pitch: number;
  /** expDim values (the factors file's expression PCA). */
  expression: number[];
  /** The lighting code's 6 values (src/face/lighting.ts: a + b u + c v + d u^2 + e uv + f v^2). */
  light: number[];
  /** Identity mixup: phi of this identity, 1 - phi of `identity` `mix.identity`. */
  mix?: { identity: number; phi: number };
}

/** A face on screen: its pixels (display) and the recognizer's input made from them. */
export interface Face {
  /** 3 x R x R u8, CHW RGB. */
  pixels: Uint8Array;
  /** 3 x R x R in [-1, 1]: the recognizer's normalized input (what domain mixup blends). */
  normalized: Float32Array;
  /** The generator's raw output (3 x R x R, about [-1, 1]) for a generated face. */
  raw?: Float32Array;
}

/** The slider ranges: smallest .. largest training measurement, and the median as default. */
export interface DemoRanges {
  yaw: [number, number];
  pitch: [number, number];
  expression: FactorRange;
  light: FactorRange;
  median: { yaw: number; pitch: number; expression: number[]; light: number[] };
}

export interface SampleFace {
  person: string;
  index: number;
  /** In the shipped recognizer's validation split (never trained on). */
  heldOut: boolean;
  pixels: Uint8Array;
}

export interface Verification {
  cosine: number;
  threshold: number;
  same: boolean;
  /** dlib's descriptor distance and decision (distance < 0.6), when loaded. */
  dlib?: { distance: number; same: boolean };
}

export interface TrainOptions {
  steps: number;
  batch?: number;
  seed?: number;
  /** Called after every step with its loss (read back each step: the live curve). */
  onStep?: (step: number, loss: number, ms: number) => void | Promise<void>;
  signal?: AbortSignal;
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

const dec = new TextDecoder();

export class FaceDemo {
  /** The recognizer embed() uses: the shipped one, or one trained in the page (useRecognizer). */
  recognizer: IResNet;
  private dlib: DlibDescriptor | null = null;
  readonly ranges: DemoRanges;
  readonly resolution: number;

  private constructor(
    readonly setup: GeneratorSetup,
    readonly shipped: IResNet,
    /** The shipped recognizer's validation threshold on the cosine. */
    readonly threshold: number,
    readonly sample: SampleFace[],
    readonly info: { generator: string; recognizer: string },
  ) {
    this.recognizer = shipped;
    this.resolution = setup.config.resolution;
    const r = factorRanges(setup.ref.train);
    const { train } = setup.ref;
    const column = (a: Float32Array, d: number, j: number) =>
      Array.from({ length: train.count }, (_, i) => a[i * d + j]);
    const k = setup.config.expDim,
      l = setup.config.lightDim;
    this.ranges = {
      yaw: [r.pose.min[0], r.pose.max[0]],
      pitch: [r.pose.min[1], r.pose.max[1]],
      expression: r.expression,
      light: r.lighting,
      median: {
        yaw: median(column(train.pose, 3, 0)),
        pitch: median(column(train.pose, 3, 1)),
        expression: Array.from({ length: k }, (_, j) => median(column(train.expression, k, j))),
        light: Array.from({ length: l }, (_, j) => median(column(train.lighting, l, j))),
      },
    };
  }

  /** Reads every file (DEMO_FILES) and builds the networks; `say` reports progress. */
  static async open(read: ReadFile, say: (s: string) => void = () => {}): Promise<FaceDemo> {
    say('reading the generator, the factors file and the recognizer');
    const [weights, factors, valPeople, recognizerBytes, manifestBytes] = await Promise.all(
      [
        DEMO_FILES.generator,
        DEMO_FILES.factors,
        DEMO_FILES.valPeople,
        DEMO_FILES.recognizer,
        DEMO_FILES.manifest,
      ].map(read),
    );
    const manifest = JSON.parse(dec.decode(manifestBytes)) as { validation?: { threshold?: number } };
    const threshold = manifest.validation?.threshold;
    if (typeof threshold !== 'number' || !(threshold > -1 && threshold < 1))
      throw new Error(
        `${DEMO_FILES.manifest}: no validation.threshold (the cosine threshold chosen by synface eval on the validation pairs)`,
      );
    const heldOut = new Set(
      parsePeople(dec.decode(valPeople), DEMO_FILES.valPeople).people.map((p) => p.name),
    );
    say('fitting the identity prior to the training people');
    const setup = openGeneratorFromBytes(
      {
        weights,
        weightsSource: DEMO_FILES.generator,
        factors,
        factorsSource: DEMO_FILES.factors,
        heldOut,
      },
      'web demo',
    );
    let shipped: IResNet | null = null;
    try {
      const loaded = loadRecognizer(recognizerBytes, DEMO_FILES.recognizer);
      shipped = loaded.backbone;
      const [H, W] = shipped.config.input;
      if (H !== setup.config.resolution || W !== setup.config.resolution)
        throw new Error(
          `${DEMO_FILES.recognizer}: takes ${H}x${W} images, the generator makes ${setup.config.resolution}x${setup.config.resolution}`,
        );
      say('reading the embedded sample');
      const sample = await readSample(read, loaded.file.preprocess);
      return new FaceDemo(setup, shipped, threshold, sample, {
        generator: describeGenerator(setup.info),
        recognizer: `${DEMO_FILES.recognizer} (${shipped.config.embedding}-d)`,
      });
    } catch (e) {
      setup.G.dispose();
      shipped?.dispose();
      throw e;
    }
  }

  /** The request of `synface generate` for p (refused by name outside the training ranges). */
  private request(p: FaceParams) {
    const { ref, prior, minDistance, config } = this.setup;
    const req: GenerateRequest = {
      seed: p.seed,
      identity: p.identity,
      yaw: p.yaw,
      pitch: p.pitch,
      expression: p.expression,
      light: p.light,
      rows: 1,
      columns: 1,
    };
    const out = gridRequests(req, ref.train, prior, minDistance, config);
    if (p.mix) {
      if (!(p.mix.phi >= 0 && p.mix.phi <= 1))
        throw new RangeError(`identity mixup: phi ${p.mix.phi} is not in [0, 1]`);
      const partner = sampleIdentities(prior, 1, new Generator(p.mix.identity), minDistance);
      out.mix = { partner, phi: Float32Array.of(p.mix.phi) };
    }
    return out;
  }

  /** One generated face. */
  async generate(p: FaceParams): Promise<Face> {
    const { G } = this.setup;
    const req = this.request(p);
    const noise = standardNormals(noiseLength(G), new Generator(p.seed + 3));
    const raw = new Float32Array(3 * this.resolution ** 2);
    const pixels = await renderImages(G, req, { noise, raw });
    return { pixels, normalized: await this.normalize(pixels), raw };
  }

  /** u8 CHW pixels -> the recognizer's normalized input, on the GPU as training and evaluation do it. */
  private async normalize(pixels: Uint8Array): Promise<Float32Array> {
    const R = this.resolution;
    const t = noGrad(() =>
      scope(() => augmentImages(uploadU8Images(pixels, 1, 3, R, R), identityAugmentParams(1, R, R, R, R))),
    );
    return readAndDispose(t);
  }

  /** A face of the embedded sample (index into `sample`). */
  async realFace(i: number): Promise<Face> {
    const s = this.sample[i];
    if (!s) throw new RangeError(`the sample has ${this.sample.length} faces, not ${i + 1}`);
    return { pixels: s.pixels, normalized: await this.normalize(s.pixels) };
  }

  /** Domain mixup: psi synthetic + (1 - psi) real in normalized pixel space (synfaceBatch's blend). */
  async domainMix(synthetic: Face, real: Face, psi: number): Promise<Face> {
    if (!(psi >= 0 && psi <= 1)) throw new RangeError(`domain mixup: psi ${psi} is not in [0, 1]`);
    const R = this.resolution;
    const t = noGrad(() =>
      scope(() => {
        const xS = tensor(synthetic.normalized, [1, 3, R, R]);
        const xR = tensor(real.normalized, [1, 3, R, R]);
        return add(scale(xS, psi), scale(xR, 1 - psi));
      }),
    );
    const normalized = await readAndDispose(t);
    const pixels = Uint8Array.from(normalized, (v) =>
      Math.max(0, Math.min(255, Math.round((v + 1) * 127.5))),
    );
    return { pixels, normalized };
  }

  /** Embeddings (faces.length x E) by `backbone` (default: the current recognizer). */
  async embed(faces: Face[], backbone: IResNet = this.recognizer): Promise<Float32Array[]> {
    const R = this.resolution,
      n = faces.length;
    const x = new Float32Array(n * 3 * R * R);
    faces.forEach((f, i) => x.set(f.normalized, i * 3 * R * R));
    backbone.eval();
    const t = noGrad(() => scope(() => backbone.forward(tensor(x, [n, 3, R, R]))));
    const e = await readAndDispose(t);
    const d = e.length / n;
    return faces.map((_, i) => e.slice(i * d, (i + 1) * d));
  }

  /** Cosine of the two faces' embeddings, the decision at the validation threshold, and dlib's when loaded. */
  async verify(a: Face, b: Face): Promise<Verification> {
    const [ea, eb] = await this.embed([a, b]);
    const cosine = cosineSimilarity(ea, eb);
    const out: Verification = { cosine, threshold: this.threshold, same: cosine > this.threshold };
    if (this.dlib) {
      const [da, db] = await this.dlibDescriptors([a, b]);
      const distance = euclideanDistance(da, db);
      out.dlib = { distance, same: distance < DLIB_THRESHOLD };
    }
    return out;
  }

  get dlibLoaded(): boolean {
    return this.dlib !== null;
  }

  /** Loads face-api's dlib descriptor through `readModelFile(fileName)` (its model/ folder). */
  async loadDlib(readModelFile: (fileName: string) => Promise<Uint8Array>): Promise<void> {
    if (this.dlib) return;
    this.dlib = new DlibDescriptor(await readTfjsWeights(DLIB_WEIGHTS_NAME, readModelFile));
  }

  /** dlib descriptors of the faces' display pixels, resized to 150 as analyze does. */
  private async dlibDescriptors(faces: Face[]): Promise<Float32Array[]> {
    const R = this.resolution,
      n = faces.length;
    const u8 = new Uint8Array(n * 3 * R * R);
    faces.forEach((f, i) => u8.set(f.pixels, i * 3 * R * R));
    const dlib = this.dlib!;
    const t = noGrad(() =>
      scope(() => {
        const x = augmentImages(
          uploadU8Images(u8, n, 3, R, R),
          identityAugmentParams(n, R, R, DLIB_INPUT_SIZE, DLIB_INPUT_SIZE),
        );
        return dlib.forward(affine(x, 127.5, 127.5));
      }),
    );
    const e = await readAndDispose(t);
    return faces.map((_, i) => e.slice(i * 128, (i + 1) * 128));
  }

  /**
   * Trains the small recognizer from scratch on the sample's training people (RecognizerTrainer,
   * the small preset's settings, the ArcFace margin warmed up over the first 3 epochs as the
   * preset does); returns the trained backbone (the caller may useRecognizer it) and the losses.
   */
  async train(o: TrainOptions): Promise<{ losses: number[]; trainer: RecognizerTrainer }> {
    const R = this.resolution;
    const faces = this.sample.filter((s) => !s.heldOut);
    const people = [...new Set(faces.map((f) => f.person))];
    const cache: ImageCache = {
      count: faces.length,
      C: 3,
      H: R,
      W: R,
      labels: Int32Array.from(faces, (f) => people.indexOf(f.person)),
      pixels: new Uint8Array(faces.length * 3 * R * R),
    };
    faces.forEach((f, i) => cache.pixels.set(f.pixels, i * 3 * R * R));
    const preset = RECOGNIZER_PRESETS.small;
    const batch = o.batch ?? 32;
    const trainer = new RecognizerTrainer(
      {
        ...preset.train,
        batch,
        steps: o.steps,
        seed: o.seed ?? 0,
        marginWarmupSteps: Math.round((preset.marginWarmupEpochs * faces.length) / batch),
      },
      { cache, rows: Int32Array.from(faces, (_, i) => i) },
    );
    const losses: number[] = [];
    try {
      for (let s = 0; s < o.steps; s++) {
        if (o.signal?.aborted) break;
        const t0 = performance.now();
        const loss = trainer.trainStep();
        const v = await loss.item();
        loss.dispose();
        if (!Number.isFinite(v)) throw new Error(`training diverged at step ${s + 1}: loss ${v}`);
        losses.push(v);
        await o.onStep?.(s + 1, v, performance.now() - t0);
      }
    } catch (e) {
      trainer.dispose();
      throw e;
    }
    trainer.model.backbone.eval();
    return { losses, trainer };
  }

  /** Makes `backbone` the recognizer of embed and verify (null: the shipped one again). */
  useRecognizer(backbone: IResNet | null): void {
    this.recognizer = backbone ?? this.shipped;
  }

  dispose(): void {
    this.setup.G.dispose();
    this.shipped.dispose();
    this.dlib?.dispose();
  }
}

async function readAndDispose(t: Tensor): Promise<Float32Array> {
  try {
    return (await t.toArray()) as Float32Array;
  } finally {
    t.dispose();
  }
}

/** A line naming the generator file and its run's step and kimg (from the file's info). */
function describeGenerator(info: Record<string, unknown>): string {
  const { step, kimg } = info;
  return `${DEMO_FILES.generator}${typeof kimg === 'number' ? ` (step ${String(step)}, ${kimg.toFixed(1)} kimg)` : ''}`;
}

/**
 * Every face of the embedded sample (people.txt): its PNGs are aligned as the recognizer's
 * preprocessing asks (dataset.json, checked by cropFor) and used as they are.
 */
async function readSample(read: ReadFile, preprocess: Preprocess): Promise<SampleFace[]> {
  const root = DEMO_FILES.sample;
  const text = async (f: string) => dec.decode(await read(`${root}/${f}`));
  const [all, val, layoutText] = await Promise.all([
    text('people.txt'),
    text('val-people.txt'),
    text('dataset.json'),
  ]);
  const layout = parseLayout(layoutText, `${root}/dataset.json`);
  const crop = cropFor(layout, preprocess, root);
  const heldOut = new Set(parsePeople(val, `${root}/val-people.txt`).people.map((p) => p.name));
  const refs = parsePeople(all, `${root}/people.txt`).people.flatMap((p) =>
    Array.from({ length: p.count }, (_, k) => ({ person: p.name, index: k + 1 })),
  );
  return Promise.all(
    refs.map(async ({ person, index }) => {
      const path = `${root}/images/${imagePath(person, index, layout.extension)}`;
      const pixels = toUint8CHW(decodeImage(await read(path), path), crop, path);
      return { person, index, heldOut: heldOut.has(person), pixels };
    }),
  );
}
