/**
 * The training runner (src/train/runner.ts) around a tiny trainer (a linear classifier):
 * oracles are the files it leaves (checkpoint, .prev, log.jsonl) and an uninterrupted run.
 * Regression tests of issue 14's defects 1 (divergence), 4 (data check), 5 (torn log), 8 (duplicate records).
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assign, backward, mul, crossEntropy, Generator, scope, tensor, type Tensor } from '../src/index.js';
import { restoreCheckpoint, type Checkpoint, type CheckpointParts } from '../src/io/checkpoint.js';
import { readCheckpoint } from '../src/io/node-files.js';
import { Linear } from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
import { RunFolder } from '../src/train/run-folder.js';
import { parseRunLog } from '../src/train/run-log.js';
import {
  runTraining as runInFolder,
  TrainingDiverged,
  type RunOptions,
  type Trainable,
} from '../src/train/runner.js';

/** 3 classes of 2-d points, full batch; `poison(step)` turns the weights NaN before that step. */
class TinyTrainer implements Trainable {
  readonly model: Linear;
  readonly optimizer: SGD;
  readonly gen = new Generator(7);
  step = 0;
  private readonly x: Tensor;
  private readonly y: Tensor;

  constructor(private readonly poisonAt = -1) {
    this.model = new Linear(2, 3, { gen: this.gen });
    this.optimizer = new SGD(this.model.parameters(), { lr: 0.1, momentum: 0.9 });
    const xs = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.7));
    this.x = tensor(xs, [12, 2]);
    this.y = tensor(
      Int32Array.from({ length: 12 }, (_, i) => i % 3),
      [12],
      'i32',
    );
  }

  trainStep(): Tensor {
    if (this.step === this.poisonAt)
      for (const p of this.model.parameters()) assign(p, tensor(new Float32Array(p.size).fill(NaN), p.shape));
    const loss = scope(() => {
      const loss = crossEntropy(this.model.forward(this.x), this.y);
      backward(loss);
      this.optimizer.step();
      this.optimizer.zeroGrad();
      return loss;
    });
    this.step++;
    return loss;
  }

  checkpointParts(extra: Record<string, unknown>): CheckpointParts {
    return { model: this.model, optimizer: this.optimizer, step: this.step, config: extra };
  }

  restore(ckpt: Checkpoint, source: string): void {
    this.step = restoreCheckpoint(ckpt, { model: this.model, optimizer: this.optimizer }, source);
  }

  status(): Record<string, number> {
    return { lr: this.optimizer.lr };
  }

  async weights(): Promise<number[]> {
    return Array.from(await this.model.weight.toArray());
  }
}

/** runTraining, then the folder's lock released (each call opens the folder anew). */
async function runTraining(trainer: Trainable, o: RunOptions) {
  try {
    return await runInFolder(trainer, o);
  } finally {
    o.folder.close();
  }
}

let tmp = '';
let runs = 0;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'synface-runner-'));
});

const warnings: string[] = [];
function options(dir: string, more: Partial<RunOptions> = {}): RunOptions {
  return {
    folder: new RunFolder(dir, (s) => warnings.push(s)),
    steps: 8,
    imagesPerStep: 12,
    logEvery: 1,
    valEvery: 4,
    ckptEvery: 2,
    validate: async () => ({ fields: { val_accuracy: 0.5 }, summary: 'half' }),
    ...more,
  };
}
const newDir = () => join(tmp, `run${runs++}`);
const logRecords = (dir: string) =>
  parseRunLog(readFileSync(join(dir, 'log.jsonl'), 'utf8'), 'log.jsonl').records;

describe('runTraining', () => {
  it('a run stopped and resumed ends with the weights and the log of an uninterrupted one', async () => {
    const whole = newDir(),
      split = newDir();
    const a = new TinyTrainer();
    expect((await runTraining(a, options(whole))).status).toBe('finished');
    const b1 = new TinyTrainer();
    expect((await runTraining(b1, options(split, { stopAfter: 3 }))).status).toBe('stopped');
    const b2 = new TinyTrainer();
    expect((await runTraining(b2, options(split, { resume: true }))).status).toBe('finished');
    expect(await b2.weights()).toEqual(await a.weights());
    const strip = (rs: ReturnType<typeof logRecords>) => rs.map(({ images_per_s: _, ...r }) => r);
    expect(strip(logRecords(split))).toEqual(strip(logRecords(whole)));
  });

  it('stops a run whose parameters diverged, with an error, and keeps the last good checkpoint (defect 1)', async () => {
    const dir = newDir();
    // weights NaN before the 4th step, the loss read back only at step 8: the checkpoint
    // after the 4th step is where the parameters are seen
    const t = new TinyTrainer(3);
    const run = runTraining(t, options(dir, { logEvery: 100, ckptEvery: 1 }));
    await expect(run).rejects.toThrow(TrainingDiverged);
    await expect(run).rejects.toThrow(
      /training diverged at step 4: checkpoint at step 4: 18 of 18 values are not finite \(model\/weight: 6, .*the last good checkpoint \(step 3\) is kept/,
    );
    const ckpt = readCheckpoint(join(dir, 'checkpoint.safetensors'));
    expect(ckpt.step).toBe(3);
    for (const v of Object.values(ckpt.model)) expect(Array.from(v.data).every(Number.isFinite)).toBe(true);
    expect(readCheckpoint(join(dir, 'checkpoint.safetensors.prev')).step).toBe(2);
  });

  it('stops at a non-finite loss before writing anything (defect 1)', async () => {
    const dir = newDir();
    const t = new TinyTrainer(0);
    await expect(runTraining(t, options(dir))).rejects.toThrow(
      /training diverged at step 1: the loss is NaN; no checkpoint was written/,
    );
    expect(existsSync(join(dir, 'checkpoint.safetensors'))).toBe(false);
  });

  it('refuses to resume on other data, naming what differs (defect 4)', async () => {
    const dir = newDir();
    const fp = { train_images: 'a'.repeat(64), val_pairs: 'b'.repeat(64) };
    await runTraining(new TinyTrainer(), options(dir, { stopAfter: 2, fingerprint: fp }));
    await expect(
      runTraining(
        new TinyTrainer(),
        options(dir, { resume: true, fingerprint: { ...fp, train_images: 'c'.repeat(64) } }),
      ),
    ).rejects.toThrow(
      /checkpoint was trained on other data: train_images \(aaaaaaaaaaaa\.\.\. there, cccccccccccc\.\.\. here\); resume with the same data/,
    );
    const ok = await runTraining(new TinyTrainer(), options(dir, { resume: true, fingerprint: fp }));
    expect(ok.status).toBe('finished');
  });

  it('resumes past a torn last log line with a warning; a bad line elsewhere names file and line (defect 5)', async () => {
    const dir = newDir();
    await runTraining(new TinyTrainer(), options(dir, { stopAfter: 4 }));
    appendFileSync(join(dir, 'log.jsonl'), '{"type":"train","st');
    warnings.length = 0;
    const r = await runTraining(new TinyTrainer(), options(dir, { resume: true }));
    expect(r.status).toBe('finished');
    expect(warnings.join('\n')).toMatch(/log.jsonl: the last line was cut off by a killed write; dropped/);
    expect(
      logRecords(dir)
        .filter((x) => x.type === 'train')
        .map((x) => x.step),
    ).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);

    const bad = newDir();
    await runTraining(new TinyTrainer(), options(bad, { stopAfter: 2 }));
    const lines = readFileSync(join(bad, 'log.jsonl'), 'utf8').split('\n');
    lines[0] = 'not json';
    writeFileSync(join(bad, 'log.jsonl'), lines.join('\n'));
    await expect(runTraining(new TinyTrainer(), options(bad, { resume: true }))).rejects.toThrow(
      /log.jsonl:1: not a log record/,
    );
  });

  it('resuming a finished run adds no duplicate records (defect 8)', async () => {
    const dir = newDir();
    await runTraining(new TinyTrainer(), options(dir));
    const before = logRecords(dir);
    expect(before.filter((r) => r.type === 'val').map((r) => r.step)).toEqual([4, 8]);
    await runTraining(new TinyTrainer(), options(dir, { resume: true }));
    const after = logRecords(dir);
    expect(after.map((r) => [r.type, r.step])).toEqual(before.map((r) => [r.type, r.step]));
  });

  it('a resume that changed a setting (a curriculum step) logs it and keeps a settings record', async () => {
    const dir = newDir();
    await runTraining(new TinyTrainer(), options(dir, { stopAfter: 2 }));
    const t = new TinyTrainer();
    const changing: Trainable = {
      get step() {
        return t.step;
      },
      trainStep: () => t.trainStep(),
      checkpointParts: (e) => t.checkpointParts(e),
      restore: (c, s) => {
        t.restore(c, s);
        return { lr: { was: 0.1, now: 0.05 } };
      },
      status: () => t.status(),
    };
    const lines: string[] = [];
    await runTraining(changing, options(dir, { resume: true, stopAfter: 1, log: (s) => lines.push(s) }));
    expect(lines).toContain("settings changed from the checkpoint's: lr 0.1 -> 0.05");
    const settings = logRecords(dir).filter((r) => r.type === 'settings');
    expect(settings).toEqual([{ type: 'settings', step: 2, changed: { lr: { was: 0.1, now: 0.05 } } }]);
  });

  it('refuses resume with overwrite, a new run over a checkpoint, and a resume without one', async () => {
    const dir = newDir();
    await runTraining(new TinyTrainer(), options(dir, { stopAfter: 2 }));
    await expect(
      runTraining(new TinyTrainer(), options(dir, { resume: true, overwrite: true })),
    ).rejects.toThrow(/resume and overwrite contradict each other/);
    await expect(runTraining(new TinyTrainer(), options(dir))).rejects.toThrow(
      /holds a checkpoint \(step 2\); continue it with --resume, or start over with --overwrite/,
    );
    await expect(runTraining(new TinyTrainer(), options(newDir(), { resume: true }))).rejects.toThrow(
      /--resume, but .*checkpoint.safetensors does not exist/,
    );
  });

  it('logs several named losses, and maxSeconds stops the session with a checkpoint', async () => {
    const dir = newDir();
    const t = new TinyTrainer();
    const twoLosses: Trainable = {
      get step() {
        return t.step;
      },
      trainStep: () => {
        const loss = t.trainStep() as Tensor;
        return { loss_a: loss, loss_b: scope(() => mul(loss, tensor([2], [1]))) };
      },
      checkpointParts: (e) => t.checkpointParts(e),
      restore: (c, s) => t.restore(c, s),
      status: () => t.status(),
    };
    const r = await runTraining(twoLosses, options(dir, { maxSeconds: 0 }));
    expect(r.status).toBe('stopped');
    expect(r.step).toBe(1);
    const [rec] = logRecords(dir);
    expect(rec.type).toBe('train');
    expect(rec.loss_b as number).toBeCloseTo(2 * (rec.loss_a as number), 5);
    expect(readCheckpoint(join(dir, 'checkpoint.safetensors')).step).toBe(1);
  });

  it('a second process on the same folder is refused while the first holds it', async () => {
    const dir = newDir();
    const first = new RunFolder(dir);
    try {
      expect(() => new RunFolder(dir)).toThrow(/the run folder .* is in use: .*run.lock is held by pid/);
    } finally {
      first.close();
    }
    new RunFolder(dir).close();
  });

  it('an aborted signal stops after the current step with a checkpoint', async () => {
    const dir = newDir();
    const controller = new AbortController();
    const r = await runTraining(
      new TinyTrainer(),
      options(dir, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.step === 3) controller.abort();
        },
      }),
    );
    expect(r.status).toBe('interrupted');
    expect(readCheckpoint(join(dir, 'checkpoint.safetensors')).step).toBe(3);
  });
});
