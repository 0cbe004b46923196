/**
 * A generator training run end to end (src/train/generator-run.ts) on a 10-image subset of the
 * embedded sample at the tiny64 preset: the factors file made by analyze, the held-out people
 * left out, a session stopped after 2 steps and resumed to the end equal to an uninterrupted
 * run bit for bit, the grid, curves and weights written, and a fresh folder continuing from
 * the exported compact checkpoint (with a changed loss weight, logged), the FD probe's records;
 * the export in half precision (exportHalf) equal to the run's checkpoint rounded to f16 (the
 * rounding checked against numpy in test/half.test.ts) and continued in a fresh folder.
 * About 10 s on lavapipe (analyze once, four short sessions).
 * Oracles: an uninterrupted run, the files' own formats.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../src/io/checkpoint.js';
import { parseSafetensors } from '../src/io/safetensors.js';
import { fromF16, toF16 } from '../src/io/half.js';
import { loadGenerator } from '../src/models/generator/index.js';
import { FactorStudent, STUDENT_BACKBONES } from '../src/models/factor-student.js';
import { serializeFactorStudent } from '../src/models/factor-student-weights.js';
import { trainGenerator, type TrainGeneratorOptions } from '../src/train/generator-run.js';
import { FACE_PREPROCESS } from '../src/face/measure-faces.js';
import { IResNet } from '../src/models/iresnet.js';
import { serializeRecognizer } from '../src/models/recognizer-weights.js';
import { copySampleFolder } from './sample-folder.js';

const PEOPLE: [string, number][] = [
  ['Ana_Guevara', 4],
  ['Antonio_Banderas', 3],
  ['Arnold_Palmer', 3],
];
let root = '';

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'synface-train-generator-'));
  const data = join(root, 'data');
  copySampleFolder(data, PEOPLE);
  mkdirSync(join(root, 'split'));
  writeFileSync(join(root, 'split', 'val-people.txt'), '1\nArnold_Palmer\t3\n');
});

const options = (out: string, extra: Partial<TrainGeneratorOptions> = {}): TrainGeneratorOptions => ({
  data: join(root, 'data'),
  people: 'people.txt',
  split: join(root, 'split'),
  factors: join(root, 'factors.safetensors'),
  out: join(root, out),
  preset: 'tiny64',
  steps: 4,
  batch: 4,
  seed: 1,
  logEvery: 1,
  ckptEvery: 2,
  gridEvery: 2,
  gridRows: 2,
  landmarks: 'tiny',
  cacheDir: join(root, 'cache'),
  ...extra,
});

/** The records of one type ('train', 'val', ...) of a run's log.jsonl. */
const records = (out: string, type: string) =>
  readFileSync(join(root, out, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((r) => r.type === type);
const trainRecords = (out: string) => records(out, 'train');

const modelTensors = (path: string) => parseCheckpoint(readFileSync(path), path).model;

/** The generator's weights (not D's, not the EMA copy) in a run's checkpoint, as plain arrays. */
const G = (out: string) => {
  const t = modelTensors(join(root, out, 'checkpoint.safetensors'));
  return Object.keys(t)
    .filter((k) => k.startsWith('G.'))
    .map((k) => Array.from(t[k].data as Float32Array));
};

describe('trainGenerator', () => {
  it('stops, resumes to the end equal to an uninterrupted run, and continues from an export', async () => {
    const lines: string[] = [];
    const exported = join(root, 'export', 'latest.safetensors');
    const first = await trainGenerator(
      options('a', { stopAfter: 2, exportTo: exported, log: (l) => lines.push(l) }),
    );
    expect(first.status).toBe('stopped');
    expect(first.step).toBe(2);
    expect(first.images).toBeLessThanOrEqual(7); // Arnold_Palmer's 3 images are held out
    expect(lines.join('\n')).toMatch(/analyzing/);
    expect(lines.join('\n')).toMatch(/3 of held-out people/);
    for (const f of [
      'grid.png',
      'curves.png',
      'checkpoint.safetensors',
      'generator.safetensors',
      'log.jsonl',
    ])
      expect(existsSync(join(root, 'a', f))).toBe(true);
    expect(parseCheckpoint(readFileSync(exported), 'e').optimizer).toBeNull();

    const resumed = await trainGenerator(options('a', { resume: true }));
    expect(resumed.status).toBe('finished');
    // the same run with the realism probe: it reads G_ema only, so the weights stay the same
    const whole = await trainGenerator(options('b', { fdEvery: 2, fdImages: 4, fdMinDistance: 0 }));
    expect(modelTensors(join(root, 'a', 'checkpoint.safetensors'))).toEqual(
      modelTensors(join(root, 'b', 'checkpoint.safetensors')),
    );
    const log = readFileSync(join(root, 'a', 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const train = log.filter((r) => r.type === 'train');
    expect(train.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    for (const k of ['loss_d', 'loss_g', 'recon', 'r1', 'kimg', 'images_per_s'])
      expect(Number.isFinite(train[3][k])).toBe(true);
    const val = (dir: string) => records(dir, 'val');
    expect(val('a').every((r) => r.fd === undefined)).toBe(true);
    expect(val('b').map((r) => r.step)).toEqual([2, 4]);
    for (const r of val('b')) {
      expect(r.fd).toBeGreaterThan(0);
      // 6 pairs of 4 new people: a share in sixths
      expect(r.different_rejected).toBeGreaterThanOrEqual(0);
      expect(r.different_rejected).toBeLessThanOrEqual(1);
      expect(r.different_rejected * 6).toBeCloseTo(Math.round(r.different_rejected * 6), 9);
    }
    const { generator, info } = loadGenerator(readFileSync(join(root, 'a', 'generator.safetensors')), 'g', {
      resolution: 64,
    });
    expect(info.step).toBe(4);
    generator.dispose();

    // a fresh machine: no checkpoint in the folder, the exported one is continued
    const fresh: string[] = [];
    const cont = await trainGenerator(
      options('c', {
        resume: true,
        fallback: exported,
        settings: { reconWeight: 0.5 },
        log: (l) => fresh.push(l),
      }),
    );
    expect(fresh.join('\n')).toMatch(/continuing the run exported in/);
    expect(fresh).toContain("settings changed from the checkpoint's: reconWeight 1 -> 0.5");
    expect(cont.status).toBe('finished');
    expect(cont.step).toBe(4);
    expect(whole.step).toBe(4);
  });

  it('the factor loss reads the fakes with a student; a resume keeps the settings it had', async () => {
    const studentFile = join(root, 'student.safetensors');
    await expect(
      trainGenerator(options('s0', { settings: { factorWeight: 1 }, student: studentFile })),
    ).rejects.toThrow(
      /the factor loss needs the factor student's weights, and .*student.safetensors does not exist/,
    );
    // an untrained student in the generator's layout (its norm: any of the same sizes)
    const { generator } = loadGenerator(readFileSync(join(root, 'a', 'generator.safetensors')), 'g');
    const m = generator.config;
    generator.dispose();
    const student = new FactorStudent({
      backbone: STUDENT_BACKBONES.tiny,
      descriptorDim: m.descriptorDim,
      expDim: m.expDim,
      poseDim: 3,
      lightDim: m.lightDim,
      norm: m.norm,
    });
    writeFileSync(studentFile, await serializeFactorStudent(student));
    student.dispose();
    const lines: string[] = [];
    const run = { settings: { factorWeight: 1 }, student: studentFile, log: (l: string) => lines.push(l) };
    expect((await trainGenerator(options('s', { ...run, stopAfter: 1 }))).status).toBe('stopped');
    expect(lines.join('\n')).toMatch(/factor loss read by the student/);
    // resumed without --factor-weight: the loss stays on (no settings change)
    lines.length = 0;
    await trainGenerator(options('s', { resume: true, student: studentFile, log: run.log }));
    expect(lines.join('\n')).not.toMatch(/settings changed/);
    const train = trainRecords('s');
    expect(train.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    for (const r of train)
      for (const k of ['f_id', 'f_exp', 'f_pose', 'f_light']) expect(r[k]).toBeGreaterThan(0);
  });
  it('weighs the factor groups by factorGroups: all 0 trains as no factor loss, pose 4 otherwise', async () => {
    const studentFile = join(root, 'student.safetensors'); // the untrained student of the test above
    const run = (out: string, settings: TrainGeneratorOptions['settings']) =>
      trainGenerator(options(out, { steps: 2, settings, student: studentFile, log: () => {} }));
    const none = { descriptor: 0, expression: 0, pose: 0, lighting: 0 };
    await run('g-off', {});
    await run('g-zero', { factorWeight: 1, factorGroups: none });
    await run('g-pose', {
      factorWeight: 1,
      factorGroups: { ...none, descriptor: 1, expression: 1, lighting: 1, pose: 4 },
    });
    await run('g-equal', { factorWeight: 1 });
    // the student's terms were computed (logged) but weighed 0: G took the same steps
    expect(trainRecords('g-zero')[0].f_pose).toBeGreaterThan(0);
    expect(G('g-zero')).toEqual(G('g-off'));
    expect(G('g-pose')).not.toEqual(G('g-equal'));
    expect(G('g-equal')).not.toEqual(G('g-off'));
    await expect(run('g-bad', { factorWeight: 1, factorGroups: { ...none, pose: -1 } })).rejects.toThrow(
      /factorGroups: the pose weight is -1; it takes a number >= 0/,
    );
  });
});

describe('trainGenerator personIdentity', () => {
  it("asks the real images for their person's mean descriptor: a step of G changed by it, resumable with it switched", async () => {
    await trainGenerator(options('p0', { steps: 1, log: () => {} }));
    await trainGenerator(options('p1', { steps: 1, settings: { personIdentity: true }, log: () => {} }));
    expect(G('p1')).not.toEqual(G('p0'));
    // switched on in a resumed run: a curriculum step, logged
    const lines: string[] = [];
    await trainGenerator(
      options('p0', {
        steps: 2,
        resume: true,
        settings: { personIdentity: true },
        log: (l) => lines.push(l),
      }),
    );
    expect(lines.join('\n')).toMatch(/settings changed from the checkpoint's: personIdentity false -> true/);
  });
});

describe('trainGenerator identity loss', () => {
  it('reads the fakes with a frozen recognizer; a missing one or one of other crops is refused by name', async () => {
    const critic = join(root, 'critic.safetensors'),
      otherCrops = join(root, 'critic-100.safetensors');
    const settings = { identityWeight: 1 };
    await expect(trainGenerator(options('i0', { settings, identityCritic: critic }))).rejects.toThrow(
      /the identity loss needs a recognizer's weights, and .*critic.safetensors does not exist/,
    );
    const net = new IResNet(STUDENT_BACKBONES.tiny); // a 64x64 IResNet: any recognizer of that input
    writeFileSync(critic, await serializeRecognizer(net, FACE_PREPROCESS));
    writeFileSync(otherCrops, await serializeRecognizer(net, { crop: [100, 100], out: [64, 64] }));
    net.dispose();
    await expect(trainGenerator(options('i1', { settings, identityCritic: otherCrops }))).rejects.toThrow(
      /critic-100.safetensors reads \[64,64\] inputs of crops .*100.*the generator's images are 64x64/,
    );
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    const r = await trainGenerator(options('i', { settings, identityCritic: critic, steps: 2, log }));
    expect(r.status).toBe('finished');
    expect(lines.join('\n')).toMatch(/identity loss read by the recognizer .*critic.safetensors/);
    const train = trainRecords('i');
    expect(train.length).toBe(2);
    // batch 4 with a quarter new people: 3 fakes pulled to their reals, 1 pushed from the others
    for (const rec of train) {
      expect(rec.id_pos).toBeGreaterThan(0);
      expect(rec.id_pos).toBeLessThan(2);
      expect(Number.isFinite(rec.id_neg) && rec.id_neg >= 0).toBe(true);
    }
  });
});

describe('trainGenerator descriptor loss', () => {
  it("reads the last fakes with dlib's network on every dlibEvery-th step only, and refuses bad settings", async () => {
    const lines: string[] = [];
    const settings = { dlibWeight: 0.5, dlibEvery: 2, dlibImages: 2 };
    const r = await trainGenerator(options('d', { settings, log: (l) => lines.push(l) }));
    expect(r.status).toBe('finished');
    expect(lines.join('\n')).toMatch(/descriptor loss read by dlib's face_recognition_model at 150 px/);
    const train = trainRecords('d');
    // records are logged after the step: steps 0 and 2 (records 1 and 3) ran the teacher; the
    // others report its last value (a run logging every 10th step would otherwise never show it)
    expect(train.map((rec) => rec.step)).toEqual([1, 2, 3, 4]);
    expect(train.map((rec) => rec.dlib === train[rec.step < 3 ? 0 : 2].dlib)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(train[2].dlib).not.toBe(train[0].dlib);
    // a squared distance between two descriptors (dlib's lie within ~1.5 of each other): positive, bounded
    for (const rec of train.filter((x) => 'dlib' in x)) {
      expect(rec.dlib).toBeGreaterThan(0);
      expect(rec.dlib).toBeLessThan(10);
    }
    await expect(
      trainGenerator(options('d1', { settings: { dlibWeight: 1, dlibImages: 5 } })),
    ).rejects.toThrow(/dlibImages 5 is not a whole number in 1 .. the batch 4/);
    await expect(
      trainGenerator(options('d2', { settings: { dlibWeight: 1, dlibEvery: 0 } })),
    ).rejects.toThrow(/dlibEvery 0 is not a whole number of steps >= 1/);
    await expect(
      trainGenerator(options('d3', { settings: { dlibWeight: 1, dlibMargin: -0.5 } })),
    ).rejects.toThrow(/dlibMargin -0.5 is not a distance in \[0, 2\)/);
  });

  it('with dlibMargin also pushes the new people it reads apart: reported, and a step of G changed by it', async () => {
    // 2 of the 4 fakes are new people; margin 1.5 is past any two descriptors of an untrained G
    const base = {
      dlibWeight: 0.5,
      dlibEvery: 1,
      dlibImages: 4,
      comboFraction: 0.5,
      newIdentityFraction: 0.5,
    };
    await trainGenerator(options('dm0', { steps: 1, settings: base, log: () => {} }));
    await trainGenerator(options('dm', { steps: 1, settings: { ...base, dlibMargin: 1.5 }, log: () => {} }));
    const [plain] = trainRecords('dm0'),
      [pushed] = trainRecords('dm');
    expect('dlib_sep' in plain).toBe(false);
    expect(pushed.dlib_sep).toBeGreaterThan(0);
    expect(pushed.dlib_sep).toBeLessThan(1.5 ** 2);
    expect(pushed.dlib).toBe(plain.dlib); // the same fakes, read the same way, before the step
    expect(G('dm')).not.toEqual(G('dm0'));
  });
});

describe('trainGenerator exportHalf', () => {
  it('exports the networks in F16, and a fresh folder continues the run from that file', async () => {
    const exported = join(root, 'export-half', 'latest.safetensors');
    const lines: string[] = [];
    const first = await trainGenerator(
      options('h1', { stopAfter: 2, exportTo: exported, exportHalf: true, log: (l) => lines.push(l) }),
    );
    expect(first.step).toBe(2);
    expect(lines.join('\n')).toMatch(/exported latest\.safetensors \(step 2, no optimizer state, F16\)/);
    const bytes = readFileSync(exported);
    const { stored } = parseSafetensors(bytes, exported);
    expect(Object.keys(stored).length).toBeGreaterThan(10);
    for (const [name, dtype] of Object.entries(stored))
      expect(dtype, name).toBe(name.startsWith('model/') ? 'F16' : 'F32');
    // the export's networks are the session's (its full checkpoint, f32) rounded to f16
    const full = parseCheckpoint(readFileSync(join(root, 'h1', 'checkpoint.safetensors')), 'full');
    const half = parseCheckpoint(bytes, exported);
    expect(half.optimizer).toBeNull();
    expect(half.step).toBe(2);
    expect(Object.keys(half.model).sort()).toEqual(Object.keys(full.model).sort());
    for (const [name, t] of Object.entries(full.model))
      expect(half.model[name].data, name).toEqual(
        t.dtype === 'f32' ? fromF16(toF16(t.data as Float32Array)) : t.data,
      );

    // a fresh machine: no checkpoint in the folder, the half export is continued to the end
    const fresh: string[] = [];
    const cont = await trainGenerator(
      options('h2', { resume: true, fallback: exported, log: (l) => fresh.push(l) }),
    );
    expect(fresh.join('\n')).toMatch(/continuing the run exported in/);
    expect(cont.status).toBe('finished');
    expect(cont.step).toBe(4);
    const train = trainRecords('h2');
    expect(train.map((r) => r.step)).toEqual([3, 4]);
    for (const r of train) for (const k of ['loss_d', 'loss_g']) expect(Number.isFinite(r[k])).toBe(true);
  });
});
