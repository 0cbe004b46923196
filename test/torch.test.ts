/**
 * The PyTorch package (tools/torch) against the engine, spawning Debian's python3 with torch:
 *   - its synface_loss equals the committed fixture (SynFace's official form) and the engine's
 *     synfaceLoss on the same inputs (loss, logits, gradient);
 *   - its IResNet loads our recognizer files and gives the engine's embeddings: the shipped
 *     recognizer (F32) on sample faces and on a 250x250 image (crop + area resize in both), and
 *     a tiny IResNet with a stride-1 stem and random batch-norm statistics, stored in F16;
 *   - on a tiny synthetic dataset with identity-mixup labels, a one-process session stops after
 *     2 steps and a 2-process DDP session (torchrun, gloo on the CPU) resumes it, keeping the
 *     global batch; its recognizer file (written in F16) is read by the engine, which embeds as
 *     PyTorch does and evaluates it on the sample's pairs.
 * Tolerance of the embeddings: max |e_engine - e_torch| <= 1e-5 max |e|, cosine >= 1 - 1e-9
 * (measured: <= 8e-7 and 1 - 4e-13; a batch-norm eps of 1e-3 instead of 1e-5 in the last layer
 * alone gives 4e-5 and 1 - 8e-11).
 * Without python3-torch / python3-torchvision every test fails, naming tools/setup.sh. Time: about
 * a minute on 2 loaded cores (importing torch is 4-5 s per process).
 */
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { parseSafetensors, serializeSafetensors } from '../src/io/safetensors.js';
import { IResNet, type IResNetConfig } from '../src/models/iresnet.js';
import { loadRecognizer, RECOGNIZER_FORMAT } from '../src/models/recognizer-weights.js';
import { decodeImage } from '../src/data/decode-image.js';
import { centerCropResize, toUint8CHW } from '../src/data/preprocess.js';
import { formatLabel, identityFolder, imageFileName } from '../src/data/synthetic-labels.js';
import { evaluateRecognizer } from '../src/eval/evaluate-recognizer.js';
import { encodePng } from '../src/plot/png-node.js';
import { readTensors } from '../src/tensor/tensor-data.js';
import { fixtureTensor, loadFixture } from './fixtures.js';

const ROOT = join(__dirname, '..');
const SAMPLE = join(ROOT, 'data', 'lfw-sample');
const SHIPPED = join(ROOT, 'weights', 'recognizer-small.safetensors');
// Debian's torch is installed for /usr/bin/python3 (a pyenv python3 on PATH would not see it)
const PYTHON =
  process.env.SYNFACE_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const tmp = mkdtempSync(join(tmpdir(), 'synface-torch-'));
process.env.SYNFACE_CACHE = join(tmp, 'cache');

interface Run {
  code: number | null;
  out: string;
  err: string;
  seconds: number;
}

function python(args: string[], timeoutMs = 60_000): Promise<Run> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn(PYTHON, args, { cwd: ROOT, env: { ...process.env, OMP_NUM_THREADS: '1' } });
    let out = '',
      err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

/**
 * Runs python and fails with its output unless it exits with 0; when torch or torchvision is
 * missing, fails (never skips) naming tools/setup.sh.
 */
async function pythonOk(args: string[], timeoutMs?: number): Promise<Run> {
  const r = await python(args, timeoutMs).catch((e: Error) => {
    throw new Error(`cannot run ${PYTHON} (${e.message}): run tools/setup.sh, or set SYNFACE_PYTHON`);
  });
  if (/No module named '(torch|torchvision|numpy|PIL)'/.test(r.err))
    throw new Error(
      `${PYTHON} cannot import torch and torchvision, which tools/torch needs: run tools/setup.sh as root ` +
        `(it installs Debian's python3-torch and python3-torchvision), or set SYNFACE_PYTHON.\n${r.err.slice(-500)}`,
    );
  if (r.code !== 0)
    throw new Error(`${PYTHON} ${args.join(' ')} exited with ${r.code}:\n${r.out}\n${r.err.slice(-3000)}`);
  return r;
}

/** Float32 CHW in [-1, 1] of aligned image files (used as they are, as for data/lfw-sample). */
function imagesAsTensor(files: string[], H: number, W: number): E.Tensor {
  const x = new Float32Array(files.length * 3 * H * W);
  files.forEach((f, n) => {
    const img = decodeImage(readFileSync(f), f);
    const chw = centerCropResize(img, { crop: [img.height, img.width], out: [H, W] }, f); // no crop, no resize
    x.set(chw, n * 3 * H * W);
  });
  return E.tensor(x, [files.length, 3, H, W]);
}

async function engineEmbed(backbone: IResNet, x: E.Tensor): Promise<Float32Array> {
  backbone.eval();
  const e = E.noGrad(() => backbone.forward(x));
  const data = (await e.toArray()) as Float32Array;
  e.dispose();
  return data;
}

async function torchEmbed(weights: string, files: string[]): Promise<Float32Array> {
  const out = join(tmp, `embeddings-${Math.random().toString(36).slice(2)}.safetensors`);
  await pythonOk(['tools/torch/embed.py', '--weights', weights, '--out', out, ...files]);
  return parseSafetensors(readFileSync(out), out).tensors.embeddings.data as Float32Array;
}

/** Checks the tolerance of the header; returns the measured max abs diff (relative) and 1 - min cosine. */
function compareEmbeddings(a: Float32Array, b: Float32Array, n: number, what: string) {
  expect(b.length, `${what}: embedding sizes`).toBe(a.length);
  const D = a.length / n;
  let maxDiff = 0,
    maxAbs = 0,
    minCos = 1;
  for (let i = 0; i < n; i++) {
    let dot = 0,
      na = 0,
      nb = 0;
    for (let k = i * D; k < (i + 1) * D; k++) {
      dot += a[k] * b[k];
      na += a[k] * a[k];
      nb += b[k] * b[k];
      maxDiff = Math.max(maxDiff, Math.abs(a[k] - b[k]));
      maxAbs = Math.max(maxAbs, Math.abs(a[k]));
    }
    minCos = Math.min(minCos, dot / Math.sqrt(na * nb));
  }
  const measured = { relMaxDiff: maxDiff / maxAbs, oneMinusCos: 1 - minCos };
  console.log(
    `${what}: max |diff| ${maxDiff.toExponential(2)} of max |e| ${maxAbs.toFixed(3)}, 1 - cos ${measured.oneMinusCos.toExponential(2)}`,
  );
  expect(maxAbs, `${what}: embeddings are not all zero`).toBeGreaterThan(0);
  expect(measured.relMaxDiff, `${what}: max |e_engine - e_torch| / max |e|`).toBeLessThanOrEqual(1e-5);
  expect(measured.oneMinusCos, `${what}: 1 - cosine`).toBeLessThanOrEqual(1e-9);
  return measured;
}

/** The first `count` images of the sample's validation people (never trained on). */
function sampleFaces(count: number): string[] {
  const people = readFileSync(join(SAMPLE, 'val-people.txt'), 'utf8')
    .split('\n')
    .map((l) => l.split(/\s+/)[0])
    .filter((p) => p && !/^\d+$/.test(p));
  const files = people.flatMap((p) =>
    readdirSync(join(SAMPLE, 'images', p))
      .sort()
      .slice(0, 2)
      .map((f) => join(SAMPLE, 'images', p, f)),
  );
  return files.slice(0, count);
}

describe('tools/torch (PyTorch) against the engine', () => {
  it('synface_loss equals the fixture and the engine on the same inputs', async () => {
    const fixtureFile = 'test/fixtures/synface_loss.json';
    const r = await pythonOk(['tools/torch/check_loss.py', fixtureFile]);
    const py = JSON.parse(r.out) as {
      cases: {
        name: string;
        loss: number[];
        logits: number[];
        grad_cosine: number[];
        max_diff: Record<string, number>;
      }[];
    };
    const fixture = loadFixture('synface_loss.json');
    expect(py.cases.map((c) => c.name)).toEqual(fixture.cases.map((c) => c.name));
    for (const [i, c] of fixture.cases.entries()) {
      const p = py.cases[i];
      for (const [k, d] of Object.entries(p.max_diff))
        expect(d, `${c.name}: torch ${k} vs the fixture`).toBeLessThan(1e-4); // float32 of float64
      const { psi, s, m } = c.params;
      const out = E.scope(() => {
        const x = Object.fromEntries(
          Object.entries(c.inputs).map(([k, t]) => [k, fixtureTensor(t, k === 'cosine')]),
        );
        const { loss, logits } = E.synfaceLoss(x.cosine, {
          a: x.a,
          b: x.b,
          r: x.r,
          wA: x.wA,
          wB: x.wB,
          psi,
          s,
          m,
        });
        const [g] = E.grad([loss, logits], [x.cosine], {
          gradOutputs: [fixtureTensor(c.weights.loss), fixtureTensor(c.weights.logits)],
        });
        return { loss, logits, g: g! };
      });
      const engine = {
        loss: await out.loss.toArray(),
        logits: await out.logits.toArray(),
        grad_cosine: await out.g.toArray(),
      };
      Object.values(out).forEach((t) => t.dispose());
      // float32 rounding of values up to 35: a few 1e-6
      const worst = (['loss', 'logits', 'grad_cosine'] as const).map((k) =>
        Math.max(...Array.from(engine[k], (v, j) => Math.abs(v - p[k][j]))),
      );
      console.log(
        `${c.name}: engine vs torch, max |diff| of loss, logits, gradient: ${worst.map((w) => w.toExponential(1))}`,
      );
      worst.forEach((w, k) => expect(w, `${c.name}: engine vs torch, output ${k}`).toBeLessThan(1e-4));
    }
  }, 60_000);

  it('loads our recognizer files and gives the engine embeddings (shipped F32, 250x250 input, tiny F16)', async () => {
    // the shipped recognizer on 8 aligned sample faces and on a 250x250 image (centre crop
    // 112x112, area resize to 64x64 by a non-integer factor, u8 as the image cache rounds it)
    const files = sampleFaces(8);
    const big = { width: 250, height: 250, rgba: new Uint8Array(250 * 250 * 4) };
    const noise = new E.Generator(11).bitsCpu(250 * 250);
    for (let p = 0; p < 250 * 250; p++) {
      const [yy, xx] = [Math.floor(p / 250), p % 250];
      big.rgba.set(
        [(xx + (noise[p] & 63)) & 255, (yy * 2 + (noise[p] >> 26)) & 255, (xx ^ yy) & 255, 255],
        4 * p,
      );
    }
    const bigFile = join(tmp, 'big.png');
    writeFileSync(bigFile, encodePng(big, { alpha: false }));
    const u8 = toUint8CHW(decodeImage(readFileSync(bigFile), bigFile), { crop: [112, 112], out: [64, 64] });
    const { backbone: shipped } = loadRecognizer(readFileSync(SHIPPED), SHIPPED);
    const x = imagesAsTensor(files, 64, 64);
    const xb = E.tensor(
      Float32Array.from(u8, (v) => (v / 255 - 0.5) / 0.5),
      [1, 3, 64, 64],
    );
    const mine = await engineEmbed(shipped, x);
    const mineBig = await engineEmbed(shipped, xb);
    [x, xb].forEach((t) => t.dispose());
    shipped.dispose();
    const theirs = await torchEmbed(SHIPPED, [...files, bigFile]);
    const D = mine.length / files.length;
    compareEmbeddings(
      mine,
      theirs.subarray(0, files.length * D),
      files.length,
      'shipped recognizer, 8 sample faces',
    );
    compareEmbeddings(mineBig, theirs.subarray(files.length * D), 1, 'shipped recognizer, a 250x250 image');

    // a tiny IResNet, stem stride 1, random BN statistics and PReLU slopes, stored in F16
    const config: IResNetConfig = {
      input: [64, 64],
      stemStride: 1,
      blocks: [1, 1, 1, 1],
      widths: [8, 8, 16, 16],
      stem: 8,
      embedding: 16,
      dropout: 0.5,
    };
    const tiny = new IResNet(config, new E.Generator(3));
    const g = new E.Generator(4);
    const state = tiny.stateDict();
    const random = Object.fromEntries(
      Object.entries(state).map(([k, t]) => {
        const [lo, hi] = k.endsWith('running_var')
          ? [0.5, 2]
          : k.endsWith('prelu.weight')
            ? [0, 0.5]
            : /bn\d?\.weight|bn\.weight|features\.weight/.test(k)
              ? [0.5, 1.5]
              : /running_mean|bias/.test(k)
                ? [-0.3, 0.3]
                : [0, 0];
        return [k, lo === hi ? t : E.rand(t.shape, lo, hi, g)];
      }),
    );
    tiny.loadStateDict(random);
    const tensors = await readTensors(tiny.stateDict());
    tiny.dispose();
    const tinyFile = join(tmp, 'tiny-f16.safetensors');
    const meta = {
      format: RECOGNIZER_FORMAT,
      backbone: JSON.stringify(config),
      preprocess: JSON.stringify({ crop: [112, 112], out: [64, 64] }),
      info: '{}',
    };
    writeFileSync(tinyFile, serializeSafetensors(tensors, meta, { float: 'F16' }));
    const { backbone: tinyLoaded } = loadRecognizer(readFileSync(tinyFile), tinyFile); // F16 read as f32
    const xt = imagesAsTensor(files, 64, 64);
    const mineTiny = await engineEmbed(tinyLoaded, xt);
    xt.dispose();
    tinyLoaded.dispose();
    compareEmbeddings(
      mineTiny,
      await torchEmbed(tinyFile, files),
      files.length,
      'tiny IResNet (stem stride 1), F16 file',
    );
  }, 120_000);

  it('a 2-process DDP run (torchrun, gloo) trains, resumes, and the engine embeds and evaluates its weights', async () => {
    // a tiny synthetic dataset in synthesize's layout: 8 identities x 4 faces of the sample's
    // training people, every other image labelled as an identity mixup with the next identity
    const data = join(tmp, 'synthetic');
    const people = readFileSync(join(SAMPLE, 'train-people.txt'), 'utf8')
      .split('\n')
      .map((l) => l.split(/\s+/))
      .filter((f) => f.length === 2 && !/^\d+$/.test(f[0]))
      .slice(0, 8)
      .map((f) => f[0]);
    const ids = people.length;
    const lines: string[] = [];
    people.forEach((person, i) => {
      mkdirSync(join(data, identityFolder(i, ids)), { recursive: true });
      readdirSync(join(SAMPLE, 'images', person))
        .sort()
        .slice(0, 4)
        .forEach((f, j) => {
          const file = `${identityFolder(i, ids)}/${imageFileName(j, 4)}`;
          cpSync(join(SAMPLE, 'images', person, f), join(data, file));
          lines.push(
            formatLabel({
              file,
              identity: i,
              ...(j % 2 ? { mix: { partner: (i + 1) % ids, phi: 0.75 } } : {}),
            }),
          );
        });
    });
    writeFileSync(join(data, 'labels.jsonl'), lines.join('\n') + '\n');

    const out = join(tmp, 'run');
    const backbone = {
      input: [64, 64],
      stemStride: 2,
      blocks: [1, 1, 1, 1],
      widths: [16, 32, 64, 128],
      stem: 16,
      embedding: 32,
      dropout: 0.2,
    };
    // torchrun: with Debian 12's torch 1.13 under Python 3.11 the default --redirects 0 fails
    // (3.11 no longer yields the zero member when iterating a flag enum), so stdout is redirected
    // and teed (1); --monitor_interval 0.5: the launcher sees the workers end sooner (default 5 s)
    const torchrun = ['-m', 'torch.distributed.run', '--redirects', '1', '--tee', '1',
      '--monitor_interval', '0.5', '--standalone', '--nproc_per_node', '2']; // prettier-ignore
    const train = [
      'tools/torch/train.py',
      '--data', data,
      '--out', out,
      '--backbone', JSON.stringify(backbone),
      '--real', SAMPLE,
      '--real-list', join(SAMPLE, 'train-people.txt'),
      '--real-people', '4',
      '--steps', '4',
      '--batch', '8',
      '--log-every', '1',
      '--workers', '0',
      '--seed', '5',
    ]; // prettier-ignore
    // two sessions: 2 steps in one process (no torchrun), stopped with a checkpoint; then
    // 2 processes under torchrun resume it (the global batch stays 8: 4 images each)
    const first = await pythonOk([...train, '--stop-after', '2'], 120_000);
    expect(first.out).toMatch(
      /32 synthetic images of 8 identities, \d+ real of 4 people; 1 processes x 8 images/,
    );
    expect(first.out).toMatch(/stopped after step 2/);
    expect(existsSync(join(out, 'recognizer.safetensors')), 'no recognizer before the end').toBe(false);
    const second = await pythonOk([...torchrun, ...train, '--resume', '--half'], 120_000);
    expect(second.out).toMatch(/resumed .*checkpoint\.pt at step 2 \(made by 1 processes, now 2\)/);
    expect(second.out).toMatch(/2 processes x 4 images/);
    expect(second.out).toMatch(/step 4: processes agree: max \|w_rank - w_0\| = 0\b/);
    console.log(
      `sessions: 1 process ${first.seconds.toFixed(1)} s, torchrun with 2 ${second.seconds.toFixed(1)} s`,
    );
    const log = readFileSync(join(out, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: number; loss: number; psi: number });
    expect(log.map((l) => l.step)).toEqual([1, 2, 3, 4]);
    for (const l of log) {
      expect(Number.isFinite(l.loss) && l.loss > 0, `step ${l.step}: loss ${l.loss}`).toBe(true);
      expect(Math.round(l.psi * 20) / 20).toBe(l.psi); // on the grid 0, 0.05, ..., 1
    }

    // the engine reads the file, embeds like PyTorch, and evaluates it
    const weights = join(out, 'recognizer.safetensors');
    const stored = parseSafetensors(readFileSync(weights), weights).stored;
    expect(new Set(Object.values(stored)), 'written in F16 (--half)').toEqual(new Set(['F16']));
    const { backbone: trained, file } = loadRecognizer(readFileSync(weights), weights);
    expect(file.backbone).toEqual(backbone);
    expect(file.info).toMatchObject({ steps: 4, batch: 8, world: 2, classes: 12 });
    const files = sampleFaces(6);
    const x = imagesAsTensor(files, 64, 64);
    const mine = await engineEmbed(trained, x);
    x.dispose();
    trained.dispose();
    compareEmbeddings(mine, await torchEmbed(weights, files), files.length, 'DDP-trained recognizer');
    const t0 = performance.now();
    const { summary } = await evaluateRecognizer({
      weights,
      data: SAMPLE,
      pairs: join(SAMPLE, 'val-pairs.txt'),
      flip: false,
    });
    expect(summary.pairs).toBe(200);
    expect(summary.accuracy).toBeGreaterThanOrEqual(0);
    expect(summary.accuracy).toBeLessThanOrEqual(1);
    expect(Number.isFinite(summary.auc)).toBe(true);
    console.log(
      `engine eval of the DDP-trained file: accuracy ${(100 * summary.accuracy).toFixed(1)}%, AUC ${summary.auc.toFixed(3)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
  }, 240_000);
});
