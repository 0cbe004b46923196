/**
 * A generator training run, as a library call (Node): `synface train-generator` parses its
 * options into these.
 *
 *   data     the aligned 64x64 crops of an LFW-layout folder (the image cache, FACE_PREPROCESS:
 *            what analyze measured), minus the validation people of the recognizer's split
 *            (weights/split/val-people.txt), minus images analyze flagged (quality bits);
 *            their factors from the analyze file (made, resumed or reused by analyzeDataset)
 *   model    a preset (models/generator/config.ts) with the expression size and the factor
 *            standardization of this data
 *   losses   the trainer's defaults, then (on --resume) the checkpoint's loss settings, then
 *            the caller's `settings`; with factorWeight > 0 the factor student (--student) is
 *            loaded frozen as the reader of the fakes' factors
 *   loop     runTraining (runner.ts) around a GeneratorTrainer; every gridEvery steps (the
 *            runner's validation slot) a sample grid from the EMA generator, and every fdEvery
 *            steps the Frechet distance of its new identities to held-out faces
 *   end      generator.safetensors (the EMA generator, loadGenerator reads it), curves.png
 *
 * Where a run lives: its folder (runs/..., not in git) holds the full checkpoint (with Adam's
 * moments: bit-exact resume) and the log. `exportTo` (the command's --export) also writes a
 * compact checkpoint without optimizer state (G, D, G_ema, step, generators, sampler; half the
 * size) meant to be committed now and then, e.g. weights/generator/latest.safetensors; a
 * --resume that finds no checkpoint in its folder starts from that file (a fresh machine),
 * continuing the same run with Adam's second moment re-estimated (beta1 is 0, so the first
 * moment holds no history).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { cachedLfw } from '../data/lfw-cache.js';
import { readValPeople } from '../data/split-files.js';
import { analyzeDataset } from '../face/analyze-dataset.js';
import { FACE_PREPROCESS, readsFaceCrops } from '../face/measure-faces.js';
import type { FactorsTable } from '../face/factors-file.js';
import { buildCheckpoint } from '../io/checkpoint.js';
import { writeFileAtomic } from '../io/node-files.js';
import { GENERATOR_PRESETS, type GeneratorConfig } from '../models/generator/config.js';
import { fitFactorNorm } from '../models/generator/factors.js';
import {
  fitIdentityPrior,
  peopleNearestDistances,
  sampleIdentities,
} from '../models/generator/identity-prior.js';
import { Generator } from '../tensor/random.js';
import type { Checkpoint } from '../io/checkpoint.js';
import { loadFactorStudent } from '../models/factor-student-weights.js';
import { loadRecognizer } from '../models/recognizer-weights.js';
import type { IdentityCritic } from './identity-critic.js';
import { freezeStudent, normConversion, predictFactorsIn } from '../models/factor-student.js';
import { frechetSetup, generatorFrechet } from '../eval/generator-metrics.js';
import { factorRowsOf, generatorReference } from '../eval/generator-samples.js';
import { DlibDescriptor, DLIB_INPUT_SIZE, DLIB_WEIGHTS_NAME } from '../models/face-api/dlib-descriptor.js';
import { affine, resizeBilinear } from '../ops/index.js';
import { loadTfjsWeights } from '../io/tfjs-weights-node.js';
import type { FaceGenerator } from '../models/generator/generator.js';
import { serializeGenerator } from '../models/generator/weights.js';
import { writePng } from '../plot/png-node.js';
import { ganCurves, gridRows, sampleGrid } from './generator-figures.js';
import {
  CHANGEABLE_SETTINGS,
  defaultTrainSettings,
  GeneratorTrainer,
  type FactorPredictor,
  type GeneratorTrainConfig,
  type DescriptorTeacher,
  type GeneratorTrainingData,
} from './generator-trainer.js';
import { RunFolder } from './run-folder.js';
import { runTraining, type Progress, type RunResult } from './runner.js';

export interface TrainGeneratorOptions {
  /** LFW-layout data folder and its people file. */
  data: string;
  people: string;
  /** Folder with val-people.txt: these people are left out. */
  split: string;
  /** The analyze file of the data (made if missing). */
  factors: string;
  out: string;
  preset: keyof typeof GENERATOR_PRESETS;
  steps: number;
  batch: number;
  seed: number;
  logEvery: number;
  ckptEvery: number;
  gridEvery: number;
  gridRows: number;
  /**
   * Every N steps (a multiple of gridEvery; 0: never) the Frechet distance in dlib's descriptor
   * space of fdImages new identities rendered by G_ema against the held-out people's real faces
   * (eval/generator-metrics.ts): a 'val' record { fd } and a panel of curves.png.
   */
  fdEvery?: number;
  fdImages?: number;
  /** The new identities' distance from every training person (default: a quarter of the real
   * people are closer than this to their nearest other person). */
  fdMinDistance?: number;
  stopAfter?: number;
  maxSeconds?: number;
  /** Loss settings besides the defaults (a resumed run may change these: a curriculum step). */
  settings?: GeneratorSettings;
  /** The factor student's weights, read when settings.factorWeight > 0. */
  student?: string;
  /** The identity critic's recognizer weights, read when settings.identityWeight > 0. */
  identityCritic?: string;
  resume?: boolean;
  overwrite?: boolean;
  /** Also write the compact checkpoint here at the end of the session. */
  exportTo?: string;
  /** The compact checkpoint's networks in half precision (F16): half the size again. */
  exportHalf?: boolean;
  /** A compact checkpoint a --resume starts from when the folder has no checkpoint (a fresh machine). */
  fallback?: string;
  /** analyze's landmark network when it has to make the factors file (default 'full'). */
  landmarks?: 'full' | 'tiny';
  /** The image cache's folder (default: SYNFACE_CACHE or ~/.cache/synface-gpu). */
  cacheDir?: string;
  command?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
  onProgress?: (p: Progress) => void;
}

/** What a run may set, and a resumed run change, of the trainer's settings. */
export type GeneratorSettings = Partial<
  Pick<
    GeneratorTrainConfig,
    | 'lrG'
    | 'lrD'
    | 'reconWeight'
    | 'comboFraction'
    | 'newIdentityFraction'
    | 'personIdentity'
    | 'factorWeight'
    | 'factorGroups'
    | 'identityWeight'
    | 'identityMargin'
    | 'dlibWeight'
    | 'dlibEvery'
    | 'dlibImages'
    | 'dlibMargin'
    | 'diffAugment'
  >
>;

export interface TrainGeneratorResult extends RunResult {
  steps: number;
  images: number;
  files: string[];
}

/** The training images and their factors: the data minus the held-out people and flagged images. */
export function generatorData(
  table: FactorsTable,
  cached: { cache: GeneratorTrainingData['cache']; rowOf: (r: { name: string; index: number }) => number },
  heldOut: Set<string>,
  source: string,
): GeneratorTrainingData & { person: string[]; left: Record<string, number> } {
  if (!table.complete || !table.expression)
    throw new Error(`${source}: the factors file is not complete (${table.done} of ${table.total} images)`);
  const picked: number[] = [],
    cacheRows: number[] = [];
  const left = { held_out: 0, flagged: 0 };
  table.images.forEach(([name, index], i) => {
    if (typeof index !== 'number')
      throw new Error(`${source}: image ${i} (${name}/${index}) is not in LFW layout`);
    if (heldOut.has(name)) left.held_out++;
    else if (table.columns.quality[i] !== 0) left.flagged++;
    else {
      picked.push(i);
      cacheRows.push(cached.rowOf({ name, index }));
    }
  });
  const factors = factorRowsOf(table, picked, source);
  const person = picked.map((i) => table.images[i][0]);
  return { cache: cached.cache, rows: Int32Array.from(cacheRows), factors, person, left };
}

/** The changeable loss settings a checkpoint was trained with (not its length). */
function savedSettings(ckpt: Checkpoint): Partial<GeneratorTrainConfig> {
  const train = (ckpt.config as { train?: Record<string, unknown> } | null)?.train ?? {};
  return Object.fromEntries(
    Object.entries(train).filter(([k]) => k !== 'steps' && CHANGEABLE_SETTINGS.has(k)),
  );
}

/** The factor student as a frozen critic whose outputs are in the generator's standardization. */
function loadStudentCritic(path: string | undefined, model: GeneratorConfig, log: (line: string) => void) {
  if (!path || !existsSync(path))
    throw new Error(
      `train-generator: the factor loss needs the factor student's weights, and ${path ?? '(no --student)'} does not exist (make them with synface train-student)`,
    );
  const bytes = readFileSync(path);
  const { student, info } = loadFactorStudent(bytes, path);
  const conversion = normConversion(student.config.norm, model.norm);
  freezeStudent(student);
  const sha = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  log(
    `train-generator: factor loss read by the student ${path} (sha256 ${sha}, ${JSON.stringify(info).slice(0, 120)})`,
  );
  const predictor: FactorPredictor = { predict: (x) => predictFactorsIn(student, x, conversion) };
  return { predictor, dispose: () => student.dispose() };
}

/**
 * A recognizer file as the frozen identity critic (train/identity-critic.ts): in eval mode (batch
 * norm on its running statistics), no parameter trained, reading the generator's images as they
 * are, so it must have been trained on the same crop at the generator's resolution.
 */
function loadIdentityCritic(path: string | undefined, R: number, log: (line: string) => void) {
  if (!path || !existsSync(path))
    throw new Error(
      `train-generator: the identity loss needs a recognizer's weights, and ${path ?? '(no --identity-critic)'} does not exist`,
    );
  const bytes = readFileSync(path);
  const { backbone, file } = loadRecognizer(bytes, path);
  const input = file.backbone.input;
  if (!readsFaceCrops(file.preprocess) || input[0] !== R || input[1] !== R) {
    backbone.dispose();
    throw new Error(
      `train-generator: ${path} reads ${JSON.stringify(input)} inputs of crops ${JSON.stringify(file.preprocess)}; ` +
        `the generator's images are ${R}x${R} of ${JSON.stringify(FACE_PREPROCESS)}`,
    );
  }
  backbone.eval();
  for (const p of backbone.parameters()) p.requiresGrad = false;
  const sha = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  log(`train-generator: identity loss read by the recognizer ${path} (sha256 ${sha})`);
  const critic: IdentityCritic = { embed: (x) => backbone.forward(x) };
  return { critic, dispose: () => backbone.dispose() };
}

/**
 * dlib's descriptor network as the generator's descriptor teacher (dlibWeight): a fake in
 * [-1, 1] is read exactly as analyze reads a real crop (bilinear to 150 px, [0, 255]), so the
 * loss compares it with the descriptors of the factors file. dlib's weights are buffers: no
 * weight gradient is made, only the images'.
 */
function loadDescriptorTeacher(log: (line: string) => void) {
  const dlib = new DlibDescriptor(loadTfjsWeights(DLIB_WEIGHTS_NAME));
  log(`train-generator: descriptor loss read by dlib's ${DLIB_WEIGHTS_NAME} at ${DLIB_INPUT_SIZE} px`);
  const teacher: DescriptorTeacher = {
    describe: (x) =>
      dlib.forward(affine(resizeBilinear(x, [DLIB_INPUT_SIZE, DLIB_INPUT_SIZE]), 127.5, 127.5)),
  };
  return { teacher, dispose: () => dlib.dispose() };
}

/**
 * The run's realism probe, or null when off: fixed requests (fdImages new identities, one image
 * each) and the held-out people's descriptor Gaussian, made once; dlib loaded once.
 */
function frechetProbe(
  table: FactorsTable,
  heldOut: Set<string>,
  o: TrainGeneratorOptions,
  zDim: number,
  log: (line: string) => void,
) {
  if (!o.fdEvery) return null;
  if (o.fdEvery % o.gridEvery)
    throw new Error(
      `train-generator: --fd-every ${o.fdEvery} is not a multiple of --grid-every ${o.gridEvery}`,
    );
  const setup = frechetSetup(generatorReference(table, heldOut, o.factors), {
    images: o.fdImages ?? 256,
    seed: 1,
    zDim,
    minDistance: o.fdMinDistance,
  });
  const dlib = new DlibDescriptor(loadTfjsWeights(DLIB_WEIGHTS_NAME));
  log(
    `train-generator: FD every ${o.fdEvery} steps, ${setup.requests.count} new identities against ${setup.realStats.count} held-out real faces`,
  );
  const probe = (G: FaceGenerator) => generatorFrechet(G, dlib, setup.requests, setup.realStats);
  return Object.assign(probe, { dispose: () => dlib.dispose() });
}

/**
 * sha256 (hex) of training images (their cache rows, in order) and their factors: what a run
 * trained on, compared on resume. The image shape goes first unless `shape` is false (the factor
 * student's runs hash without it, and their checkpoints hold that digest).
 */
export function trainingDigest(
  data: Pick<GeneratorTrainingData, 'cache' | 'rows' | 'factors'>,
  o: { shape?: boolean } = {},
): string {
  const h = createHash('sha256');
  const { cache, rows, factors } = data;
  const size = cache.C * cache.H * cache.W;
  if (o.shape !== false) h.update(`${cache.C}x${cache.H}x${cache.W}`);
  for (const r of rows) h.update(cache.pixels.subarray(r * size, (r + 1) * size));
  for (const a of [factors.descriptor, factors.expression, factors.pose, factors.lighting])
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

export async function trainGenerator(o: TrainGeneratorOptions): Promise<TrainGeneratorResult> {
  const log = o.log ?? (() => {});
  const shape = GENERATOR_PRESETS[o.preset];
  if (!shape)
    throw new Error(
      `train-generator: unknown preset '${o.preset}' (${Object.keys(GENERATOR_PRESETS).join(', ')})`,
    );
  if (shape.resolution !== FACE_PREPROCESS.out[0])
    throw new Error(
      `train-generator: preset '${o.preset}' makes ${shape.resolution}x${shape.resolution} images; the data is ${FACE_PREPROCESS.out.join('x')}`,
    );
  const heldOut = readValPeople(o.split, 'train-generator');

  const folder = new RunFolder(o.out, log, o.command);
  try {
    // ---- data: the factors (analyze makes, resumes or reuses the file), then the images
    if (!existsSync(o.factors))
      log(`train-generator: ${o.factors} does not exist; analyzing ${o.data} first`);
    const cache = { log, cacheDir: o.cacheDir };
    const analyzed = await analyzeDataset({
      data: o.data,
      people: o.people,
      out: o.factors,
      landmarks: o.landmarks,
      cache,
      log,
    });
    const cached = cachedLfw(o.data, o.people, FACE_PREPROCESS, cache);
    const real = generatorData(analyzed.table, cached, heldOut, o.factors);
    const realData = {
      ...real,
      identityPrior: fitIdentityPrior(
        real.factors.descriptor,
        real.person,
        real.factors.descriptor.length / real.factors.count,
      ),
    };
    log(
      `train-generator: ${realData.rows.length} images (${realData.left.held_out} of held-out people and ${realData.left.flagged} flagged by analyze left out)`,
    );

    // ---- configuration
    const model: GeneratorConfig = {
      ...shape,
      expDim: realData.factors.expression.length / realData.factors.count,
      norm: fitFactorNorm(realData.factors),
    };
    // a resumed run keeps the loss settings it had unless told otherwise (a curriculum step)
    if (o.resume && !folder.hasCheckpoint() && o.fallback && existsSync(o.fallback)) {
      log(`train-generator: no checkpoint in ${o.out}; continuing the run exported in ${o.fallback}`);
      copyFileSync(o.fallback, folder.checkpointPath);
    }
    const config: GeneratorTrainConfig = {
      model,
      batch: o.batch,
      steps: o.steps,
      ...defaultTrainSettings(model.resolution, o.batch),
      ...(o.resume && folder.hasCheckpoint() ? savedSettings(folder.readCheckpoint()) : {}),
      ...o.settings,
      seed: o.seed,
    };
    const student = config.factorWeight > 0 ? loadStudentCritic(o.student, model, log) : undefined;
    const idCritic =
      config.identityWeight > 0 ? loadIdentityCritic(o.identityCritic, model.resolution, log) : undefined;
    const teacher = config.dlibWeight > 0 ? loadDescriptorTeacher(log) : undefined;
    const data = {
      ...realData,
      factorPredictor: student?.predictor,
      identityCritic: idCritic?.critic,
      descriptorTeacher: teacher?.teacher,
    };
    const trainer = new GeneratorTrainer(config, data);
    try {
      log(
        `train-generator: preset ${o.preset}, G ${trainer.G.parameterCount().toLocaleString('en')} and D ${trainer.D.parameterCount().toLocaleString('en')} parameters, ` +
          `batch ${o.batch}, ${o.steps} steps (${((o.steps * o.batch) / 1000).toFixed(1)} kimg), R1 gamma ${config.r1Gamma.toPrecision(3)} every ${config.r1Every}`,
      );
      const fingerprint = { train_images: trainingDigest(data), factors: analyzed.table.fingerprint };
      const command = o.command ?? 'trainGenerator()';
      const meta = { preset: o.preset, data: o.data, people: o.people, factors: o.factors, command };

      const picked = gridRows(data.rows.length, o.gridRows);
      // two new identities: from the prior of the training people, no closer to one of them
      // than a quarter of the real people are to their nearest other person
      let newIdentities: Float32Array | undefined;
      try {
        const prior = data.identityPrior!;
        const nearest = peopleNearestDistances(prior);
        const min = nearest[Math.floor(nearest.length / 4)];
        newIdentities = sampleIdentities(prior, 2, new Generator(o.seed + 100), min);
      } catch (e) {
        log(`train-generator: the grid shows no new identities: ${(e as Error).message}`);
      }
      const fd = frechetProbe(analyzed.table, heldOut, o, model.zDim, log);
      const grid = async () => {
        const asked = { ...data, factors: trainer.conditionFactors }; // what the real rows ask for
        const image = await sampleGrid(trainer.nets.Gema, asked, picked, { newIdentities });
        const name = `grid-${String(trainer.step).padStart(7, '0')}.png`;
        mkdirSync(folder.path('grids'), { recursive: true });
        writePng(join(folder.path('grids'), name), image);
        writePng(folder.path('grid.png'), image);
        const fields: Record<string, number> = { kimg: trainer.imagesSeen / 1000 };
        let summary = `sample grid grids/${name}`;
        if (fd && trainer.step % o.fdEvery! === 0) {
          const r = await fd(trainer.nets.Gema);
          fields.fd = r.fd;
          fields.different_rejected = r.differentRejected;
          summary += `; FD ${r.fd.toFixed(4)}, dlib tells ${(100 * r.differentRejected).toFixed(1)}% of their pairs apart (${r.images} new people, ${r.seconds.toFixed(0)} s)`;
        }
        return { fields, summary };
      };

      const run = await runTraining(trainer, {
        folder,
        steps: o.steps,
        imagesPerStep: o.batch,
        logEvery: o.logEvery,
        valEvery: o.gridEvery,
        ckptEvery: o.ckptEvery,
        stopAfter: o.stopAfter,
        maxSeconds: o.maxSeconds,
        resume: o.resume,
        overwrite: o.overwrite,
        fingerprint,
        meta,
        validate: grid,
        signal: o.signal,
        log,
        onProgress: o.onProgress,
      });
      if (run.status !== 'finished') await grid();
      fd?.dispose();
      writePng(folder.path('curves.png'), ganCurves(folder.records));
      const info = {
        ...meta,
        step: trainer.step,
        kimg: trainer.imagesSeen / 1000,
        wall_seconds: run.wallSeconds,
      };
      folder.writeFile('generator.safetensors', await serializeGenerator(trainer.nets.Gema, info));
      const files = [
        'generator.safetensors',
        'grid.png',
        'curves.png',
        'log.jsonl',
        'checkpoint.safetensors',
      ].map((f) => folder.path(f));
      if (o.exportTo) {
        const parts = trainer.checkpointParts(
          { ...meta, data_fingerprint: fingerprint, elapsed_seconds: run.wallSeconds },
          false,
        );
        mkdirSync(dirname(o.exportTo) || '.', { recursive: true });
        writeFileAtomic(o.exportTo, await buildCheckpoint(parts, { half: o.exportHalf }));
        files.push(o.exportTo);
        log(
          `train-generator: exported ${basename(o.exportTo)} (step ${trainer.step}, no optimizer state${o.exportHalf ? ', F16' : ''}) to ${o.exportTo}`,
        );
      }
      return { ...run, steps: o.steps, images: data.rows.length, files };
    } finally {
      trainer.dispose();
      student?.dispose();
      idCritic?.dispose();
      teacher?.dispose();
    }
  } finally {
    folder.close();
  }
}
