/**
 * The cross-environment suite: the same engine calls, run once in Node (Dawn) and once in a
 * browser (navigator.gpu), must give the same numbers. test/browser/run.ts runs both and
 * compares them case by case.
 *
 * Environment-independent on purpose: imports only from src/, ./jpeg-fixture.ts, ./inputs.ts,
 * ./faceapi-cases.ts and ./generator-cases.ts (no Node modules, no DOM, no file reads), and every input comes from a tiny
 * JS formula (or, for the one JPEG, a base64 string), so both sides start from identical bits.
 * The one exception, face-api's weight files, comes through the caller's `readModelFile`
 * (a file read in Node, a fetch from run.ts's server in the page): see faceapi-cases.ts.
 *
 * Besides the engine's ops, the face pipeline: PNG (built in memory, stored deflate) and JPEG
 * decoding, centre crop + resize, GPU augmentation, a tiny IResNet + ArcFace recognizer (eval
 * embeddings, embedRows / evaluatePairs, one training step), the verification protocol, and
 * face-api's four pretrained networks (dlib descriptor, landmark68 full and tiny, expression),
 * and the face generator's forward (base preset, generator-cases.ts).
 * The caller must have called initGpu() (src/gpu/node.ts or src/gpu/browser.ts) first.
 */
import {
  add,
  backward,
  dropoutMask,
  Generator,
  getDevice,
  logsumexp,
  matmul,
  max,
  mul,
  noGrad,
  rand,
  randn,
  randomBits,
  scope,
  square,
  sum,
  tanh,
  tensor,
  type Tensor,
} from '../../src/index.js';
import { decodeImage } from '../../src/data/decode-image.js';
import type { ImageCache } from '../../src/data/image-cache.js';
import type { LfwPair } from '../../src/data/lfw-pairs.js';
import { decodePng } from '../../src/data/png.js';
import { centerCropResize } from '../../src/data/preprocess.js';
import { embedRows, evaluatePairs } from '../../src/eval/embed.js';
import { contiguousFolds, verificationReport, type VerificationReport } from '../../src/eval/verification.js';
import { Recognizer, type RecognizerConfig } from '../../src/models/recognizer.js';
import {
  augmentImages,
  flipHorizontal,
  reference as augmentRef,
  sampleAugmentParams,
  uploadU8Images,
} from '../../src/ops/augment.js';
import { SGD } from '../../src/optim/sgd.js';
import { nd } from '../../src/tensor/ndarray.js';
import {
  RGB420_HEIGHT,
  RGB420_JPEG_BASE64,
  RGB420_PILLOW_PIXELS_BASE64,
  RGB420_WIDTH,
} from './jpeg-fixture.js';
import { faceApiCases, type ReadModelFile } from './faceapi-cases.js';
import { generatorCases } from './generator-cases.js';
import { crc32, wave } from './inputs.js';

export interface SuiteCase {
  name: string;
  /** Flattened output values (for u32 outputs: the integers). */
  values: number[];
  /** True: the two environments must agree bit for bit. False: within the runner's tolerance. */
  exact: boolean;
  shape: number[];
  /**
   * Optional CPU result computed in plain JS on the same inputs (float64 for float ops, the
   * CPU Philox for random bits), for a sanity check that both environments are also right.
   */
  reference?: number[];
  /** Whether `reference` must match exactly (same rules as `exact`). */
  referenceExact?: boolean;
}

/**
 * The suite's groups, in order; `npm run test:browser -- --only generator,faceapi` runs some
 * (both sides run the same ones, so the comparison stays case by case).
 */
export const SUITE_GROUPS = [
  'matmul',
  'ops',
  'random',
  'images',
  'augment',
  'recognizer',
  'verification',
  'faceapi',
  'generator',
] as const;
export type SuiteGroup = (typeof SUITE_GROUPS)[number];

/** Throws naming every group that is not one of SUITE_GROUPS. */
export function checkSuiteGroups(groups: readonly string[]): SuiteGroup[] {
  const unknown = groups.filter((g) => !(SUITE_GROUPS as readonly string[]).includes(g));
  if (unknown.length)
    throw new Error(
      `unknown suite group(s) ${unknown.join(', ')}: the groups are ${SUITE_GROUPS.join(', ')}`,
    );
  return groups as SuiteGroup[];
}

export interface SuiteResult {
  adapter: string;
  isCpu: boolean;
  cases: SuiteCase[];
  /** Wall time of the suite in milliseconds (informational). */
  ms: number;
}

// ---------------------------------------------------------------- deterministic inputs

/** Small dyadic values k/16, k in [-8, 8]: products and sums are exact in f32 in any order. */
function dyadic(n: number, salt: number): number[] {
  return Array.from({ length: n }, (_, i) => (((i * 29 + salt * 7) % 17) - 8) / 16);
}

const f32 = (xs: number[]): number[] => Array.from(Float32Array.from(xs));

/** float64 matmul of f32-rounded inputs: a (batch, M, K) @ b (batch|1, K, N). */
function refMatmul(
  a: number[],
  b: number[],
  batch: number,
  M: number,
  K: number,
  N: number,
  bBatched: boolean,
): number[] {
  const A = f32(a),
    B = f32(b);
  const out = new Array<number>(batch * M * N).fill(0);
  for (let t = 0; t < batch; t++) {
    const bo = bBatched ? t * K * N : 0;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A[t * M * K + i * K + k] * B[bo + k * N + j];
        out[t * M * N + i * N + j] = s;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- encoded images in memory

/** Standard base64 to bytes, in plain JS (no atob / Buffer: the same code on both sides). */
function fromBase64(text: string): Uint8Array {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 6) / 8));
  let acc = 0,
    bits = 0,
    o = 0;
  for (const ch of clean) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error(`fromBase64: bad character '${ch}'`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 255;
    }
  }
  return out;
}

function adler32(bytes: Uint8Array): number {
  let a = 1,
    b = 0;
  for (const x of bytes) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

const be32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

function pngChunk(type: string, data: ArrayLike<number>): number[] {
  const body = Uint8Array.from([...Array.from(type, (ch) => ch.charCodeAt(0)), ...Array.from(data)]);
  return [...be32(data.length), ...body, ...be32(crc32(body))];
}

/**
 * A zlib stream of `raw` without compression: header 78 01, stored deflate blocks (BTYPE 00:
 * LEN, ~LEN, then the bytes), Adler-32. `split` cuts the data into two stored blocks.
 */
function zlibStored(raw: Uint8Array, split: number): number[] {
  const out = [0x78, 0x01];
  const parts = [raw.subarray(0, split), raw.subarray(split)];
  parts.forEach((part, i) => {
    const last = i === parts.length - 1 ? 1 : 0;
    out.push(
      last,
      part.length & 255,
      part.length >> 8,
      ~part.length & 255,
      (~part.length >> 8) & 255,
      ...part,
    );
  });
  return [...out, ...be32(adler32(raw))];
}

/**
 * An 8-bit PNG (colour type 0 grey or 2 RGB) of interleaved `pixels`, row y filtered with
 * filter type y % 5 (None, Sub, Up, Average, Paeth), the zlib stream in two stored blocks and
 * two IDAT chunks: every unfiltering path and the stream/chunk joins get exercised.
 */
function encodePng(width: number, height: number, channels: 1 | 3, pixels: Uint8Array): Uint8Array {
  const bpp = channels,
    n = width * channels;
  const raw = new Uint8Array(height * (1 + n));
  const paeth = (a: number, b: number, c: number) => {
    const p = a + b - c,
      pa = Math.abs(p - a),
      pb = Math.abs(p - b),
      pc = Math.abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
  };
  for (let y = 0; y < height; y++) {
    const filter = y % 5;
    raw[y * (1 + n)] = filter;
    for (let i = 0; i < n; i++) {
      const x = pixels[y * n + i];
      const a = i >= bpp ? pixels[y * n + i - bpp] : 0;
      const b = y > 0 ? pixels[(y - 1) * n + i] : 0;
      const c = y > 0 && i >= bpp ? pixels[(y - 1) * n + i - bpp] : 0;
      const pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter];
      raw[y * (1 + n) + 1 + i] = (x - pred) & 255;
    }
  }
  const z = zlibStored(raw, Math.floor(raw.length / 3));
  const cut = Math.floor(z.length / 2);
  const ihdr = [...be32(width), ...be32(height), 8, channels === 3 ? 2 : 0, 0, 0, 0];
  return Uint8Array.from([
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
    ...pngChunk('IHDR', ihdr),
    ...pngChunk(
      'tEXt',
      Array.from('Comment\0synface suite', (ch) => ch.charCodeAt(0)),
    ), // ancillary: skipped
    ...pngChunk('IDAT', z.slice(0, cut)),
    ...pngChunk('IDAT', z.slice(cut)),
    ...pngChunk('IEND', []),
  ]);
}

/** Interleaved u8 pixels from an integer formula (no Math.sin: exact on any engine). */
function pixelPattern(width: number, height: number, channels: number, salt: number): Uint8Array {
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++)
        out[(y * width + x) * channels + c] =
          (x * 37 + y * 11 + c * 80 + ((x * y + salt) % 7) * 9 + salt * 5) & 255;
  return out;
}

/** Flattened numbers of a verification report, in a fixed order. */
function reportValues(r: VerificationReport): number[] {
  return [
    r.accuracy,
    r.std,
    r.meanThreshold,
    r.auc,
    r.tarAtFar1e3,
    r.tarAtFar1e2,
    ...r.foldAccuracies,
    ...r.thresholds,
  ];
}

async function read(t: Tensor): Promise<number[]> {
  try {
    return Array.from(await t.toArray());
  } finally {
    t.dispose();
  }
}

// ---------------------------------------------------------------- the suite

/** Runs the suite's cases (only those of `groups` when given, all by default). */
export async function runSuite(
  readModelFile: ReadModelFile,
  groups?: readonly string[],
): Promise<SuiteResult> {
  const only = groups ? new Set(checkSuiteGroups(groups)) : null;
  const want = (g: SuiteGroup) => !only || only.has(g);
  const t0 = performance.now();
  const cases: SuiteCase[] = [];
  const push = async (name: string, t: Tensor, exact: boolean, extra: Partial<SuiteCase> = {}) => {
    const shape = [...t.shape];
    cases.push({ name, values: await read(t), exact, shape, ...extra });
  };

  // --- matmul: an awkward 2-D shape (not a multiple of any tile size)
  if (want('matmul')) {
    const [M, K, N] = [67, 45, 33];
    const a = wave(M * K, 1),
      b = wave(K * N, 2);
    const c = scope(() => matmul(tensor(a, [M, K]), tensor(b, [K, N])));
    await push('matmul 67x45@45x33', c, false, { reference: refMatmul(a, b, 1, M, K, N, false) });
  }
  // --- matmul with dyadic inputs: every partial sum is exact, so summation order and FMA
  //     cannot matter and the two adapters must agree bit for bit
  if (want('matmul')) {
    const [M, K, N] = [67, 45, 33];
    const a = dyadic(M * K, 3),
      b = dyadic(K * N, 4);
    const c = scope(() => matmul(tensor(a, [M, K]), tensor(b, [K, N])));
    await push('matmul dyadic (exact)', c, true, {
      reference: refMatmul(a, b, 1, M, K, N, false),
      referenceExact: true,
    });
  }
  // --- batched matmul (3 x 17x29 @ 3 x 29x21) and batch-broadcast (3 x 17x29 @ 29x21)
  if (want('matmul')) {
    const [T, M, K, N] = [3, 17, 29, 21];
    const a = wave(T * M * K, 5),
      b = wave(T * K * N, 6),
      b1 = wave(K * N, 7);
    const c = scope(() => matmul(tensor(a, [T, M, K]), tensor(b, [T, K, N])));
    await push('matmul batched 3x17x29@3x29x21', c, false, { reference: refMatmul(a, b, T, M, K, N, true) });
    const d = scope(() => matmul(tensor(a, [T, M, K]), tensor(b1, [K, N])));
    await push('matmul broadcast 3x17x29@29x21', d, false, {
      reference: refMatmul(a, b1, T, M, K, N, false),
    });
  }
  // --- matmul with transposes: a^T @ b^T, a stored (K, M), b stored (N, K)
  if (want('matmul')) {
    const [M, K, N] = [19, 70, 23];
    const at = wave(K * M, 8),
      bt = wave(N * K, 9);
    const c = scope(() => matmul(tensor(at, [K, M]), tensor(bt, [N, K]), { transA: true, transB: true }));
    // reference: transpose on the CPU, then the plain product
    const a = Array.from({ length: M * K }, (_, i) => at[(i % K) * M + Math.floor(i / K)]);
    const b = Array.from({ length: K * N }, (_, i) => bt[(i % N) * K + Math.floor(i / N)]);
    await push('matmul transA transB 19x70@70x23', c, false, {
      reference: refMatmul(a, b, 1, M, K, N, false),
    });
  }

  // --- reductions
  if (want('ops')) {
    const x = wave(13 * 57 * 7, 10);
    const big = wave(5 * 1000, 11); // R >= 256 with few outputs: the workgroup reduction kernel
    const r = scope(() => {
      const t = tensor(x, [13, 57, 7]);
      const tb = tensor(big, [5, 1000]);
      return {
        sumAxis1: sum(t, 1),
        sumAll: sum(t),
        sumWide: sum(tb, 1),
        maxLast: max(t, -1),
        maxAxes02: max(t, [0, 2]),
        lse0: logsumexp(t, 0),
        lseWide: logsumexp(tb, -1),
      };
    });
    await push('sum axis 1 [13,57,7]', r.sumAxis1, false);
    await push('sum all [13,57,7]', r.sumAll, false);
    await push('sum axis 1 [5,1000] (workgroup)', r.sumWide, false);
    await push('max axis -1 [13,57,7]', r.maxLast, true); // max is exact: no rounding anywhere
    await push('max axes [0,2] [13,57,7]', r.maxAxes02, true);
    await push('logsumexp axis 0 [13,57,7]', r.lse0, false);
    await push('logsumexp axis -1 [5,1000]', r.lseWide, false);
  }

  // --- elementwise chain with backward: y = sum(tanh(x * w + b)^2), broadcasting w and b
  if (want('ops')) {
    const [R, C] = [24, 40];
    const xv = wave(R * C, 12),
      wv = wave(C, 13).map((v) => 1.5 * v),
      bv = wave(R, 14).map((v) => 0.5 * v);
    const { x, w, b, y } = scope(() => {
      const x = tensor(xv, [R, C]);
      const w = tensor(wv, [C]);
      const b = tensor(bv, [R, 1]);
      x.requiresGrad = w.requiresGrad = b.requiresGrad = true;
      const y = sum(square(tanh(add(mul(x, w), b))));
      backward(y);
      return { x, w, b, y };
    });
    // float64 reference of y and its gradients
    const X = f32(xv),
      W = f32(wv),
      B = f32(bv);
    let yRef = 0;
    const gx = new Array<number>(R * C),
      gw = new Array<number>(C).fill(0),
      gb = new Array<number>(R).fill(0);
    for (let i = 0; i < R; i++) {
      for (let j = 0; j < C; j++) {
        const th = Math.tanh(X[i * C + j] * W[j] + B[i]);
        yRef += th * th;
        const d = 2 * th * (1 - th * th); // d(th^2)/d(pre-activation)
        gx[i * C + j] = d * W[j];
        gw[j] += d * X[i * C + j];
        gb[i] += d;
      }
    }
    await push('chain y=sum(tanh(x*w+b)^2)', y, false, { reference: [yRef] });
    await push('chain grad x', x.grad!, false, { reference: gx });
    await push('chain grad w', w.grad!, false, { reference: gw });
    await push('chain grad b', b.grad!, false, { reference: gb });
    x.dispose();
    w.dispose();
    b.dispose();
  }

  // --- random: a counter-based stream is a pure function of (seed, offset), so bits and
  //     uniforms on [0, 1) must be identical everywhere (and equal to the CPU Philox)
  if (want('random')) {
    const seed = 20240611,
      offset = 77;
    const gen = new Generator(seed);
    gen.setState({ seed, offset });
    const cpu = new Generator(seed);
    cpu.setState({ seed, offset });
    await push('randomBits seed/offset', randomBits([1003], gen), true, {
      reference: Array.from(cpu.bitsCpu(1003)),
      referenceExact: true,
    });
    // the generator advanced by ceil(1003/4) blocks: the next draw continues the same stream
    const uBits = Array.from(cpu.bitsCpu(517));
    await push('rand [0,1) continued stream', rand([517], 0, 1, gen), true, {
      reference: uBits.map((u) => (u >>> 8) / 16777216),
      referenceExact: true,
    });
    // the same stream with a key above 2^32 (the 64-bit seed path)
    const gen64 = new Generator(2 ** 40 + 12345);
    gen64.setState({ seed: 2 ** 40 + 12345, offset: 2 ** 32 - 3 }); // the counter carries into the high word
    const cpu64 = new Generator(2 ** 40 + 12345);
    cpu64.setState({ seed: 2 ** 40 + 12345, offset: 2 ** 32 - 3 });
    await push('randomBits 64-bit seed, offset carry', randomBits([64], gen64), true, {
      reference: Array.from(cpu64.bitsCpu(64)),
      referenceExact: true,
    });
    // dropout: comparisons of exact uniforms, so exact
    await push('dropoutMask p=0.3', dropoutMask([300], 0.3, gen), true);
    cpu.bitsCpu(300);
    // uniform on [-2, 3): u * 5 - 2 may be fused (FMA) on one adapter and not the other
    await push('rand [-2,3)', rand([256], -2, 3, gen), false);
    cpu.bitsCpu(256);
    // normal (Box-Muller): log/sqrt/sin/cos differ in precision between adapters
    const nBits = Array.from(cpu.bitsCpu(400));
    const nRef: number[] = [];
    for (let j = 0; j < 100; j++) {
      const r = nBits.slice(4 * j, 4 * j + 4);
      const unit = (u: number) => (u >>> 8) / 16777216;
      for (const [ui, vi] of [
        [0, 1],
        [2, 3],
      ]) {
        const rad = Math.sqrt(-2 * Math.log(unit(r[ui]) + 1 / 16777216));
        const th = 2 * Math.PI * unit(r[vi]) - Math.PI;
        nRef.push(0.5 + 2 * rad * Math.cos(th), 0.5 + 2 * rad * Math.sin(th));
      }
    }
    await push('randn mean 0.5 std 2', randn([400], 0.5, 2, gen), false, { reference: nRef });
  }

  // ================================================================ the face pipeline

  const pushValues = (
    name: string,
    values: ArrayLike<number>,
    shape: number[],
    exact: boolean,
    extra: Partial<SuiteCase> = {},
  ) => {
    cases.push({ name, values: Array.from(values), exact, shape, ...extra });
  };
  /** Reads a tensor without disposing it (parameters stay owned by their module). */
  const peek = async (t: Tensor) => Array.from(await t.toArray());

  // --- image decoding and preprocessing: pure JS, so bit for bit on both sides
  if (want('images')) {
    const [W, H] = [20, 18];
    const pixels = pixelPattern(W, H, 3, 1);
    const png = encodePng(W, H, 3, pixels);
    const img = decodePng(png, 'suite.png');
    pushValues(
      'png decode 20x18 RGB (filters 0-4, stored zlib)',
      img.data,
      [img.height, img.width, img.channels],
      true,
      { reference: Array.from(pixels), referenceExact: true },
    );
    // decodeImage picks the PNG decoder by the magic bytes: the same image
    const viaMagic = decodeImage(png, 'suite.png');
    // crop 16x12 centred (top 1, left 4) -> 8x6: an exact 2x2 area average
    const area = centerCropResize(viaMagic, { crop: [16, 12], out: [8, 6] });
    const areaRef: number[] = [];
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < 8; i++)
        for (let j = 0; j < 6; j++) {
          let s = 0;
          for (const [dy, dx] of [
            [0, 0],
            [0, 1],
            [1, 0],
            [1, 1],
          ])
            s += pixels[((1 + 2 * i + dy) * W + 4 + 2 * j + dx) * 3 + c];
          areaRef.push(Math.fround((s / 4 / 255 - 0.5) / 0.5));
        }
    pushValues('centerCropResize png 16x12 -> 8x6 (area)', area, [3, 8, 6], true, {
      reference: areaRef,
      referenceExact: true,
    });
    // a non-integer downscale with a vertical offset, and an upscale (bilinear) to one luma channel
    pushValues(
      'centerCropResize png 15x13 -> 4x5 offset -1',
      centerCropResize(viaMagic, { crop: [15, 13], out: [4, 5], offsetY: -1 }),
      [3, 4, 5],
      true,
    );
    pushValues(
      'centerCropResize png 9x7 -> 13x11 luma (bilinear)',
      centerCropResize(viaMagic, { crop: [9, 7], out: [13, 11], channels: 1 }),
      [1, 13, 11],
      true,
    );
    // a grey PNG: channels replicated to RGB
    const grey = decodeImage(encodePng(11, 9, 1, pixelPattern(11, 9, 1, 2)), 'grey.png');
    pushValues(
      'png grey 11x9 -> centerCropResize 8x8 -> 4x4 RGB',
      centerCropResize(grey, { crop: [8, 8], out: [4, 4] }),
      [3, 4, 4],
      true,
    );
    // a real baseline JPEG (4:2:0): against Pillow's decode, within the JPEG test's +-4
    const jpeg = decodeImage(fromBase64(RGB420_JPEG_BASE64), 'rgb420.jpg');
    if (jpeg.width !== RGB420_WIDTH || jpeg.height !== RGB420_HEIGHT)
      throw new Error(`rgb420.jpg decoded to ${jpeg.width}x${jpeg.height}`);
    pushValues('jpeg rgb420 37x23 decodeImage', jpeg.data, [jpeg.height, jpeg.width, jpeg.channels], true, {
      reference: Array.from(fromBase64(RGB420_PILLOW_PIXELS_BASE64)),
    });
  }

  // --- GPU augmentation: sampled parameters (CPU Philox, exact), then the kernel on a u8 batch
  if (want('augment')) {
    const [N, C, H, W] = [4, 3, 13, 10]; // W % 4 != 0: the padded u32 packing
    const u8 = new Uint8Array(N * C * H * W);
    for (let i = 0; i < u8.length; i++) u8[i] = (i * 29 + ((i * i) % 13) * 17) & 255;
    const gen = new Generator(4242);
    const params = sampleAugmentParams(gen, N, H, W, {
      out: [8, 7],
      flipProb: 0.5,
      zoomMin: 0.6,
      eraseProb: 0.75,
    });
    pushValues(
      'sampleAugmentParams flip/crop/erase',
      [...params.flip, ...params.crop, ...params.erase],
      [N * 9],
      true,
    );
    const out = scope(() => augmentImages(uploadU8Images(u8, N, C, H, W), params));
    const ref = augmentRef.augmentImages(augmentRef.normalizeU8(u8, [N, C, H, W]), params);
    await push('augmentImages u8 4x3x13x10 -> 8x7', out, false, { reference: Array.from(ref.data) });
    // f32 source, the stream continued, upscaling; then flipHorizontal
    const xs = wave(2 * 3 * 6 * 5, 20);
    const p2 = sampleAugmentParams(gen, 2, 6, 5, { out: [9, 8], eraseValue: -0.25 });
    const out2 = scope(() => augmentImages(tensor(xs, [2, 3, 6, 5]), p2));
    const ref2 = augmentRef.augmentImages(nd([2, 3, 6, 5], f32(xs)), p2);
    await push('augmentImages f32 2x3x6x5 -> 9x8', out2, false, { reference: Array.from(ref2.data) });
    const fl = scope(() => flipHorizontal(tensor(xs, [2, 3, 6, 5])));
    await push('flipHorizontal 2x3x6x5', fl, true, {
      reference: Array.from(augmentRef.flipHorizontal(nd([2, 3, 6, 5], f32(xs))).data),
      referenceExact: true,
    });
  }

  // --- a tiny recognizer: IResNet 16x16 (16x16 -> 1x1 in four stride-2 stages) + ArcFace head
  if (want('recognizer')) {
    const config: RecognizerConfig = {
      backbone: {
        input: [16, 16],
        blocks: [1, 1, 1, 1],
        widths: [4, 8, 8, 8],
        stem: 4,
        embedding: 8,
        dropout: 0.1,
      },
      arcface: { s: 16, m: 0.3 },
    };
    const gen = new Generator(777);
    const model = new Recognizer(config, 3, gen);
    let opt: SGD | null = null;
    const B = 4;
    const xv = wave(B * 3 * 16 * 16, 30).map((v) => Math.max(-1, Math.min(1, v)));
    try {
      // eval mode: running statistics, no dropout
      model.eval();
      const emb = noGrad(() => scope(() => model.backbone.forward(tensor(xv, [B, 3, 16, 16]))));
      await push('iresnet eval embeddings 4x8', emb, false);

      // embedRows / evaluatePairs on an in-memory cache of 5 u8 images 3x20x20, resized to 16x16
      const count = 5,
        side = 20;
      const pixels = new Uint8Array(count * 3 * side * side);
      for (let i = 0; i < pixels.length; i++) {
        const n = Math.floor(i / (3 * side * side));
        pixels[i] = (128 + ((i * (n + 3) * 7) % 97) - 48 + (n % 2) * 30) & 255;
      }
      const cache: ImageCache = {
        count,
        C: 3,
        H: side,
        W: side,
        labels: Int32Array.from([0, 0, 1, 1, 2]),
        pixels,
      };
      const { data, dim } = await embedRows(model.backbone, cache, [4, 0, 2], {
        input: [16, 16],
        batch: 2,
        flip: true,
      });
      pushValues('embedRows mirrored, batches of 2', data, [3, dim], false);
      const ref = (k: number) => ({ name: `p${k}`, index: 1 });
      const pairs: LfwPair[] = [
        [0, 1, true],
        [2, 3, true],
        [0, 2, false],
        [1, 4, false],
        [3, 4, false],
        [0, 3, false],
      ].map(([a, b, same], i) => ({
        a: ref(a as number),
        b: ref(b as number),
        same: same as boolean,
        fold: i % 2,
      }));
      const ev = await evaluatePairs(model.backbone, cache, pairs, (r) => Number(r.name.slice(1)), {
        input: [16, 16],
      });
      pushValues('evaluatePairs scores (6 pairs)', ev.scores, [ev.scores.length], false);

      // train mode: one ArcFace loss, backward and SGD step (momentum, weight decay)
      model.train();
      const sgd = (opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }));
      const loss = scope(() => {
        const l = model.loss(tensor(xv, [B, 3, 16, 16]), tensor([0, 2, 1, 2], [B], 'i32'));
        backward(l);
        sgd.step();
        return l;
      });
      await push('recognizer arcface loss (train mode)', loss, false);
      const named = Object.fromEntries(model.namedParameters());
      for (const key of [
        'backbone.conv1.weight',
        'backbone.layer1_0.conv2.weight',
        'backbone.fc.weight',
        'head.weight',
      ]) {
        const p = named[key];
        if (!p) throw new Error(`no parameter ${key}: ${Object.keys(named).join(', ')}`);
        pushValues(`sgd step: ${key}`, await peek(p), [...p.shape], false);
      }
      const buffers = Object.fromEntries(model.namedBuffers());
      const rv = buffers['backbone.features.running_var'];
      if (!rv) throw new Error(`no buffer backbone.features.running_var: ${Object.keys(buffers).join(', ')}`);
      pushValues('batchnorm running_var after a train step', await peek(rv), [...rv.shape], false);
    } finally {
      opt?.dispose();
      model.zeroGrad();
      model.dispose();
    }
  }

  // --- the verification protocol on fixed scores: pure JS, exact
  if (want('verification')) {
    const n = 60;
    const same = Array.from({ length: n }, (_, i) => i % 3 !== 0);
    // scores on a 1/64 grid (many ties, exact thresholds) with overlapping classes
    const scores = Array.from({ length: n }, (_, i) => (((i * 23) % 41) - 20) / 64 + (same[i] ? 0.25 : 0));
    const balanced = verificationReport(scores, same);
    pushValues('verificationReport balanced folds', reportValues(balanced), [6 + 20], true);
    const contiguous = verificationReport(scores, same, { folds: contiguousFolds(n, 5), ties: 'lowest' });
    pushValues(
      'verificationReport 5 contiguous folds, ties lowest',
      reportValues(contiguous),
      [6 + 10],
      true,
    );
    // AUC = P(same score > different score) + P(tie) / 2 (Mann-Whitney), an independent reference
    let wins = 0,
      P = 0,
      Nn = 0;
    for (let i = 0; i < n; i++) same[i] ? P++ : Nn++;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        if (same[i] && !same[j]) wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    pushValues('roc auc vs Mann-Whitney', [balanced.auc], [1], true, { reference: [wins / (P * Nn)] });
  }

  // --- face-api's pretrained networks on one fixed image each (faceapi-cases.ts)
  //     (NaN would equal NaN in run.ts's comparison: a broken net must not pass as "identical")
  if (want('faceapi'))
    for (const { name, t } of await faceApiCases(readModelFile)) {
      const shape = [...t.shape];
      const values = await read(t);
      if (!values.every(Number.isFinite)) throw new Error(`${name}: non-finite output`);
      cases.push({ name, values, exact: false, shape });
    }

  // --- the face generator (base preset) on fixed weights and factors (generator-cases.ts)
  if (want('generator')) cases.push(...(await generatorCases()));

  const dev = getDevice();
  return { adapter: dev.adapter.name, isCpu: dev.adapter.isCpu, cases, ms: performance.now() - t0 };
}
