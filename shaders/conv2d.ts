/**
 * Conv2d kernel lab: WGSL generators for 2-D convolution (NCHW), forward and both backward
 * passes, as implicit GEMM (no im2col buffer). src/ops/conv.ts launches them; test/conv.test.ts
 * checks every version against the float64 CPU reference; bench/conv-lab.ts times them.
 *
 * Shapes: x (N, C, H, W), w (O, C/G, KH, KW), bias (O), y (N, O, OH, OW) with
 *   OH = floor((H + 2 ph - dh (KH - 1) - 1) / sh) + 1   (likewise OW)
 *   y[n, o, oh, ow] = bias[o] + sum_{c, kh, kw} x[n, g Cg + c, oh sh - ph + kh dh, ow sw - pw + kw dw]
 *                                              * w[o, c, kh, kw],       g = o / Og
 * As GEMMs: forward  M = OH*OW (per sample), N = O, K = Cg*KH*KW;
 *           dgrad    M = H*W (per sample),   N = C, K = Og*KH*KW;
 *           wgrad    M = O, N = Cg*KH*KW,    K = N*OH*OW (the long reduction).
 *
 * The ladder (version names and tile configs live in shaders/conv2d-versions.ts; GFLOPS from
 * bench/conv-lab.ts at the ResNet shape N=32, 64->64, 28x28, 3x3, pad 1 on lavapipe, 2 shared
 * cores, best of 2-4 interleaved rounds, +-20% noise):
 *   forward  v1-direct       one invocation per output, bounds-checked loops (teaching)   ~1.0
 *            v2-regblock     4 positions x 4 channels per invocation, scalar loads,
 *                            bounds checks; any shape (the 1x1 and depthwise default)       ~4.7
 *            v3..v8-rows-RxPxO  "row segment" kernel: the input is first copied into a
 *                            zero-padded, 4-aligned buffer (cheap pre-pass) so the inner loop
 *                            has no bounds checks; an invocation owns R output rows x P columns
 *                            x O channels; per input channel it loads each needed input row
 *                            segment ONCE as vec4s ((P-1) sw + (KW-1) dw + 1 values) and reuses
 *                            it for all KW taps, all O channels and every output row that needs
 *                            it; weights are pre-packed (G, K, O padded) so O channels are O/4
 *                            vec4 loads.  v3 1x8x8 ~3.7, v4 2x8x4 ~7.2, v5 4x4x4 ~12,
 *                            v6 4x8x4 ~13-16 (default up to 3x3), v7 4x4x4 wg4 ~12-15,
 *                            v8 1x8x4 ~11 (runtime kh loop: the default for 5x5/7x7, where
 *                            unrolling R x KH x KW took 20 s to compile).
 *                            Lessons: 4 channels per invocation beat 8 (TO=8 was 2x slower at the
 *                            same accumulator count); more output rows per tile win (input rows
 *                            shared); small workgroups (4-8) win (less idle tail).
 *   dgrad    v1-direct       one invocation per input element, loops over (o, kh, kw) with the
 *                            divisibility test of the stride                                 ~0.3
 *            v2..v8          dgrad as a stride-1 convolution: dy is scattered into a zero-dilated
 *                            (stride), padded buffer by the pre-pass, the weights are flipped and
 *                            transposed by the packing pass, and the forward kernels do the rest
 *                            (same speeds as forward at stride 1; stride s wastes s^2 on zeros).
 *   wgrad    v1-direct       one invocation per weight element, loops over (n, oh, ow)      ~1.9
 *            v2-rows         TO out-channels x TC in-channels x all KH*KW taps per invocation;
 *                            per (n, oh) and TP columns: TO dy vec4 runs and TC*KH x segments,
 *                            each reused by all KW taps; dy padded to a multiple of TP with zeros
 *                                                                                            ~7.0
 *            v3-rows-splitK  v2 with the (n, oh) reduction split over S slices (enough
 *                            workgroups for the cores) + a second pass summing the S partials ~8.6
 *            v4 (8x1), v5 (4x4, TP=4): other tiles; v5 is the default                    ~9.4, ~12
 *   1x1, stride 1, no padding, groups 1: dgrad and wgrad go through the matmul lab (2-4x faster
 *   than these kernels there); the forward does not (v2 with the fused bias is as fast).
 *
 * Binding convention as everywhere: uniform Params at 0, storage buffers 1..n, entry `main`.
 * The fast kernels read their x/w operands as array<vec4<f32>> (sizes are multiples of 4 by
 * construction of the pre-passes).
 *
 * Lavapipe findings (measured, see bench/conv-lab.ts): the same as the matmul lab's (register
 * blocking and vec4 loads win; workgroup memory does not). Specific to conv: bounds checks in the
 * inner loop cost about as much as the loads themselves, so padding once up front wins; reusing
 * one loaded input row segment across the KW taps cuts the loads per FMA by ~KW.
 */

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const lines = (xs: string[], indent = '  ') => xs.map((x) => indent + x).join('\n');

/** The uniform block shared by every conv kernel (fields unused by a kernel are zero). */
import { enableSubgroups, laneTile, shareAcrossLanes, SUBGROUP_LANES, subgroupParam } from './common.js';

export const PARAMS_WGSL = /* wgsl */ `
struct Params {
  N: u32, C: u32, H: u32, W: u32,
  O: u32, OH: u32, OW: u32, G: u32,
  Cg: u32, Og: u32, KH: u32, KW: u32,
  sh: u32, sw: u32, ph: u32, pw: u32,
  dh: u32, dw: u32, Hp: u32, Wp: u32,
  OgP: u32, tilesW: u32, tilesH: u32, oTiles: u32,
  cTiles: u32, rowsPerSplit: u32, S: u32, OWp: u32,
  total: u32, flip: u32, top: i32, left: i32,
}
@group(0) @binding(0) var<uniform> p: Params;`;

/** Field order of PARAMS_WGSL (src/ops/conv.ts fills it by name). */
export const PARAM_FIELDS = [
  'N',
  'C',
  'H',
  'W',
  'O',
  'OH',
  'OW',
  'G',
  'Cg',
  'Og',
  'KH',
  'KW',
  'sh',
  'sw',
  'ph',
  'pw',
  'dh',
  'dw',
  'Hp',
  'Wp',
  'OgP',
  'tilesW',
  'tilesH',
  'oTiles',
  'cTiles',
  'rowsPerSplit',
  'S',
  'OWp',
  'total',
  'flip',
  'top',
  'left',
] as const;
export type ConvParamName = (typeof PARAM_FIELDS)[number];

/** The forward kernels' last bindings: bias at 3 and y at 4, or y at 3 when there is no bias. */
function outputBindings(bias: boolean): string {
  return bias
    ? '@group(0) @binding(3) var<storage, read> B: array<f32>;\n@group(0) @binding(4) var<storage, read_write> Y: array<f32>;'
    : '@group(0) @binding(3) var<storage, read_write> Y: array<f32>;';
}

export const FLAT_WG = 64;
const flatIndex = /* wgsl */ `
@compute @workgroup_size(${FLAT_WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.y * (nwg.x * ${FLAT_WG}u) + gid.x;
  if (i >= p.total) { return; }`;

// =============================================================================================
// v1: direct (reference / teaching) kernels. Everything from Params; one output per invocation.
// =============================================================================================

/** y = conv2d(x, w) + bias. Bindings: x, w, [bias], y. */
export function forwardDirect(bias: boolean): string {
  return `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
${outputBindings(bias)}
${flatIndex}
  let ow = i % p.OW; let oh = (i / p.OW) % p.OH; let o = (i / (p.OW * p.OH)) % p.O; let n = i / (p.OW * p.OH * p.O);
  let g = o / p.Og;
  var acc = ${bias ? 'B[o]' : '0.0'};
  for (var c = 0u; c < p.Cg; c++) {
    let xc = (n * p.C + g * p.Cg + c) * p.H * p.W;
    for (var kh = 0u; kh < p.KH; kh++) {
      let ih = i32(oh * p.sh + kh * p.dh) - i32(p.ph);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      for (var kw = 0u; kw < p.KW; kw++) {
        let iw = i32(ow * p.sw + kw * p.dw) - i32(p.pw);
        if (iw < 0 || iw >= i32(p.W)) { continue; }
        acc = fma(X[xc + u32(ih) * p.W + u32(iw)], Wt[((o * p.Cg + c) * p.KH + kh) * p.KW + kw], acc);
      }
    }
  }
  Y[i] = acc;
}`;
}

/** dx from dy and w. Bindings: dy, w, dx. */
export function dgradDirect(): string {
  return `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> DY: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;
${flatIndex}
  let iw = i % p.W; let ih = (i / p.W) % p.H; let ch = (i / (p.W * p.H)) % p.C; let n = i / (p.W * p.H * p.C);
  let g = ch / p.Cg; let c = ch % p.Cg;
  var acc = 0.0;
  for (var ol = 0u; ol < p.Og; ol++) {
    let o = g * p.Og + ol;
    let dyc = (n * p.O + o) * p.OH * p.OW;
    for (var kh = 0u; kh < p.KH; kh++) {
      let th = i32(ih + p.ph) - i32(kh * p.dh);          // = oh * sh
      if (th < 0 || th % i32(p.sh) != 0) { continue; }
      let oh = u32(th) / p.sh;
      if (oh >= p.OH) { continue; }
      for (var kw = 0u; kw < p.KW; kw++) {
        let tw = i32(iw + p.pw) - i32(kw * p.dw);
        if (tw < 0 || tw % i32(p.sw) != 0) { continue; }
        let ow = u32(tw) / p.sw;
        if (ow >= p.OW) { continue; }
        acc = fma(DY[dyc + oh * p.OW + ow], Wt[((o * p.Cg + c) * p.KH + kh) * p.KW + kw], acc);
      }
    }
  }
  DX[i] = acc;
}`;
}

/** dw from x and dy. Bindings: x, dy, dw. */
export function wgradDirect(): string {
  return `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> DY: array<f32>;
@group(0) @binding(3) var<storage, read_write> DWt: array<f32>;
${flatIndex}
  let kw = i % p.KW; let kh = (i / p.KW) % p.KH; let c = (i / (p.KW * p.KH)) % p.Cg; let o = i / (p.KW * p.KH * p.Cg);
  let ch = (o / p.Og) * p.Cg + c;
  var acc = 0.0;
  for (var n = 0u; n < p.N; n++) {
    let xc = (n * p.C + ch) * p.H * p.W;
    let dyc = (n * p.O + o) * p.OH * p.OW;
    for (var oh = 0u; oh < p.OH; oh++) {
      let ih = i32(oh * p.sh + kh * p.dh) - i32(p.ph);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      for (var ow = 0u; ow < p.OW; ow++) {
        let iw = i32(ow * p.sw + kw * p.dw) - i32(p.pw);
        if (iw < 0 || iw >= i32(p.W)) { continue; }
        acc = fma(X[xc + u32(ih) * p.W + u32(iw)], DY[dyc + oh * p.OW + ow], acc);
      }
    }
  }
  DWt[i] = acc;
}`;
}

// =============================================================================================
// Pre-passes (cheap, memory-bound) used by the fast kernels.
// =============================================================================================

/**
 * Window copy with zero fill and optional zero-dilation:
 *   dst[b, i, j] = src[b, (i - top) / sh, (j - left) / sw]   when i - top >= 0, divisible by sh,
 *                                                            quotient < H (likewise j), else 0
 * over dst (p.N planes, p.Hp, p.Wp) from src (p.N planes, p.H, p.W); p.total = N * Hp * Wp.
 * Forward: pad (top = ph, sh = 1). dgrad: dilate dy by the stride and pad by dh (KH-1) - ph.
 * Bindings: src, dst.
 */
export function windowCopy(): string {
  return `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> S: array<f32>;
@group(0) @binding(2) var<storage, read_write> D: array<f32>;
${flatIndex}
  let j = i32(i % p.Wp); let r = i32((i / p.Wp) % p.Hp); let b = i / (p.Wp * p.Hp);
  let ti = r - p.top; let tj = j - p.left;
  let si = ti / i32(p.sh); let sj = tj / i32(p.sw);
  let ok = ti >= 0 && tj >= 0 && ti % i32(p.sh) == 0 && tj % i32(p.sw) == 0 && si < i32(p.H) && sj < i32(p.W);
  let idx = select(0u, (b * p.H + u32(max(si, 0))) * p.W + u32(max(sj, 0)), ok);
  D[i] = select(0.0, S[idx], ok);
}`;
}

/**
 * The same window copy, one workgroup of 8 per plane, looping over the plane's rows and, lane by
 * lane, its columns; the strides are compile-time constants. Why: windowCopy() spends most of its
 * time in integer divisions (flat index -> (plane, row, column), and by the runtime strides),
 * which x86 has no SIMD instruction for, so lavapipe runs 8 scalar divisions per vector
 * operation; here the row arithmetic is workgroup-uniform (done once, not per lane) and a stride
 * of 1 divides by nothing. Grid: the planes, folded as flatGrid(planes, 1). Bindings: src, dst.
 */
export function windowCopyPlanes(sh: number, sw: number): string {
  const div = (v: string, s: number) => (s === 1 ? v : `${v} / ${s}`);
  const divisible = (v: string, s: number) => (s === 1 ? 'true' : `${v} % ${s} == 0`);
  return `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> S: array<f32>;
@group(0) @binding(2) var<storage, read_write> D: array<f32>;
@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = wid.y * nwg.x + wid.x;                        // the plane: uniform
  if (b >= p.N) { return; }
  for (var r = 0u; r < p.Hp; r++) {
    let ti = i32(r) - p.top; let si = ${div('ti', sh)};
    let rowOk = ti >= 0 && ${divisible('ti', sh)} && si < i32(p.H);
    let src = (b * p.H + u32(max(si, 0))) * p.W;
    let dst = (b * p.Hp + r) * p.Wp;
    for (var j = lid.x; j < p.Wp; j += 8u) {
      let tj = i32(j) - p.left; let sj = ${div('tj', sw)};
      let ok = rowOk && tj >= 0 && ${divisible('tj', sw)} && sj < i32(p.W);
      D[dst + j] = select(0.0, S[select(0u, src + u32(max(sj, 0)), ok)], ok);
    }
  }
}`;
}

/**
 * Weight packing: (G, K, OgP) with K = Cg*KH*KW in (c, kh, kw) order and output channels
 * innermost, zero-padded to OgP. From w (O, Cg, KH, KW), O = G*Og:
 *   flip = 0 (forward): dst[g, (c, kh, kw), o] = w[g Og + o, c, kh, kw]
 *   flip = 1 (dgrad):   the weight of the transposed convolution, in-channels Og, out-channels Cg:
 *                       dst[g, (o, kh, kw), c] = w[g Og + o, c, KH-1-kh, KW-1-kw]
 * Here p.Cg/p.Og describe w; p.OgP is the padded width of the packed output-channel axis, and
 * p.total = G * K * OgP. Bindings: w, dst.
 */
export function packWeights(): string {
  return `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> S: array<f32>;
@group(0) @binding(2) var<storage, read_write> D: array<f32>;
${flatIndex}
  let taps = p.KH * p.KW;
  let K = select(p.Cg, p.Og, p.flip == 1u) * taps;
  let col = i % p.OgP; let k = (i / p.OgP) % K; let g = i / (p.OgP * K);
  let tap = k % taps; let kin = k / taps;                    // kin: c (forward) or o (dgrad)
  let width = select(p.Og, p.Cg, p.flip == 1u);
  let ok = col < width;
  let colc = min(col, width - 1u);
  let o = g * p.Og + select(colc, kin, p.flip == 1u);
  let c = select(kin, colc, p.flip == 1u);
  let t = select(tap, taps - 1u - tap, p.flip == 1u);
  D[i] = select(0.0, S[(o * p.Cg + c) * taps + t], ok);
}`;
}

/** out[i] = sum_s part[s * total + i]. Bindings: part, out. */
export function splitReduce(): string {
  return `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read_write> D: array<f32>;
${flatIndex}
  var acc = 0.0;
  for (var s = 0u; s < p.S; s++) { acc += P[s * p.total + i]; }
  D[i] = acc;
}`;
}

/** d = y + bias[o] over y (N, O, OH, OW), for the routes without a fused bias (mm, im2col). Bindings: y, bias, d. */
export function biasAdd(): string {
  return `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> Y: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> D: array<f32>;
@compute @workgroup_size(${FLAT_WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.y * (nwg.x * ${FLAT_WG}u) + gid.x;
  if (i >= p.N * p.O * p.OH * p.OW) { return; }
  D[i] = Y[i] + B[(i / (p.OH * p.OW)) % p.O];
}`;
}

/** d[i] = 0 for i < p.total (the weight gradient of an empty batch). Bindings: d. */
export function zeroFill(): string {
  return `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read_write> D: array<f32>;
@compute @workgroup_size(${FLAT_WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.y * (nwg.x * ${FLAT_WG}u) + gid.x;
  if (i < p.total) { D[i] = 0.0; }
}`;
}

// =============================================================================================
// v2: register-blocked direct forward (bounds-checked, scalar loads; any shape, any groups).
// Reads packed weights (G, K, OgP) with OgP a multiple of TO (zero padding), so weight loads need
// no clamp. Invocation: TP consecutive flat output positions (oh, ow) x TO output channels.
// Grid: x = position tiles / WX, y = G * oTiles, z = N (NB: x = N * position tiles / WX, z = 1).
// Bindings: x, wpack, [bias], y.
// =============================================================================================

export interface RegConfig {
  TP: number;
  TO: number;
  WX: number;
  /** Batch in the lanes, as RowsConfig.NB: x runs over (sample, position tile), grid z = 1. */
  NB?: boolean;
}

export function forwardRegblock(c: RegConfig, bias: boolean): string {
  const { TP, TO, WX, NB } = c;
  const I = range(TP),
    J = range(TO);
  const tile = NB
    ? [
        `let tiles = (P + ${TP - 1}u) / ${TP}u; let nt = wid.x * ${WX}u + lid.x;`,
        `if (nt >= tiles * p.N) { return; }`,
        `let n = nt / tiles; let pos0 = (nt % tiles) * ${TP}u;`,
      ]
    : [`let pos0 = (wid.x * ${WX}u + lid.x) * ${TP}u;`, `if (pos0 >= P) { return; }`, `let n = wid.z;`];
  return `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Wp: array<f32>;
${outputBindings(bias)}
@compute @workgroup_size(${WX})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let P = p.OH * p.OW;
${lines(tile)}
  let g = wid.y / p.oTiles; let ol0 = (wid.y % p.oTiles) * ${TO}u;
${lines(
  I.flatMap((i) => [
    `let q${i} = min(pos0 + ${i}u, P - 1u);`,
    `let ihb${i} = i32((q${i} / p.OW) * p.sh) - i32(p.ph); let iwb${i} = i32((q${i} % p.OW) * p.sw) - i32(p.pw);`,
  ]),
)}
${lines(I.flatMap((i) => J.map((j) => `var a${i}_${j} = 0.0;`)))}
  let K = p.Cg * p.KH * p.KW;
  var wk = g * K * p.OgP + ol0;
  var xc = (n * p.C + g * p.Cg) * p.H * p.W;
  for (var c = 0u; c < p.Cg; c++) {
    for (var kh = 0u; kh < p.KH; kh++) {
${lines(
  I.map((i) => `let ih${i} = ihb${i} + i32(kh * p.dh); let rv${i} = ih${i} >= 0 && ih${i} < i32(p.H);`),
  '      ',
)}
      for (var kw = 0u; kw < p.KW; kw++) {
${lines(
  [
    ...J.map((j) => `let w${j} = Wp[wk + ${j}u];`),
    ...I.flatMap((i) => [
      `let iw${i} = iwb${i} + i32(kw * p.dw);`,
      `let v${i} = rv${i} && iw${i} >= 0 && iw${i} < i32(p.W);`,
      `let x${i} = select(0.0, X[select(0u, xc + u32(ih${i}) * p.W + u32(iw${i}), v${i})], v${i});`,
    ]),
    ...I.flatMap((i) => J.map((j) => `a${i}_${j} = fma(x${i}, w${j}, a${i}_${j});`)),
    'wk += p.OgP;',
  ],
  '        ',
)}
      }
    }
    xc += p.H * p.W;
  }
${lines(
  J.flatMap((j) => [
    `if (ol0 + ${j}u < p.Og) {`,
    `  let o = g * p.Og + ol0 + ${j}u; let yb = (n * p.O + o) * P;`,
    ...I.map((i) => `  if (pos0 + ${i}u < P) { Y[yb + pos0 + ${i}u] = a${i}_${j}${bias ? ' + B[o]' : ''}; }`),
    '}',
  ]),
)}
}`;
}

// =============================================================================================
// v3+: the row-segment forward kernel on a pre-padded input (see the header comment).
// Input xp: (N, C, Hp, Wp), Wp % 4 == 0, zero padding included, read as vec4.
// Weights: packed (G, K, OgP), OgP % TO == 0, read as vec4. Stride/dilation/kernel compile-time.
// Invocation: TR output rows x TP output columns x TO output channels.
// Grid: x = tilesH * tilesW / WX, y = G * oTiles, z = N (NB: x = N * tilesH * tilesW / WX, z = 1).
// Bindings: xp, wpack, [bias], y.
// =============================================================================================

export interface Geometry {
  KH: number;
  KW: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
}
export interface RowsConfig {
  TR: number;
  TP: number;
  TO: number;
  WX: number;
  /**
   * Batch in the lanes: the x grid runs over (sample, spatial tile) instead of the spatial
   * tiles of one sample (grid z = 1). At small images a sample has fewer tiles than a workgroup
   * has invocations (8x8 px: 2 tiles of 4x8, so 6 of 8 lanes idle); folding the batch in fills
   * them. The weights stay workgroup-uniform.
   */
  NB?: boolean;
  /**
   * Shared weights: every lane of a workgroup needs the same weights, but lavapipe loads them
   * lane by lane (see shaders/matmul.ts), 8 times over. Here lane x of each subgroup of 8 loads
   * the x-th vec4 of the channel's taps and subgroupBroadcast hands each to all lanes: one load
   * per 8 vec4s. Needs subgroups of at least 8 lanes; idle tail lanes compute a clamped tile
   * and skip the store instead of returning (subgroup operations need every lane).
   */
  SG?: boolean;
}

export const geometryKey = (g: Geometry) => `${g.KH}x${g.KW}s${g.sh},${g.sw}d${g.dh},${g.dw}`;

export function forwardRows(c: RowsConfig, geo: Geometry, bias: boolean): string {
  const { TR, TP, TO, WX, NB, SG } = c;
  const { KH, KW, sh, sw, dh, dw } = geo;
  if (TP % 4 || TO % 4) throw new Error('forwardRows: TP and TO must be multiples of 4');
  const lane = `wid.x * ${WX}u + lid.x`;
  const tileIndex = NB
    ? [
        `let tiles = p.tilesW * p.tilesH;`,
        ...laneTile('nt', lane, 'tiles * p.N', SG),
        `let n = nt / tiles; let t = nt % tiles;`,
      ]
    : [...laneTile('t', lane, 'p.tilesW * p.tilesH', SG), `let n = wid.z;`];
  const L = (TP - 1) * sw + (KW - 1) * dw + 1,
    L4 = Math.ceil(L / 4);
  const R = range(TR),
    I = range(TP),
    J = range(TO),
    Q = range(TO / 4);
  const seg = (e: number) => `s${e >> 2}[${e & 3}]`;
  // input rows rr used by (r, kh): rr = r*sh + kh*dh
  const rows = new Map<number, [number, number][]>();
  for (const r of R)
    for (const kh of range(KH)) {
      const rr = r * sh + kh * dh;
      if (!rows.has(rr)) rows.set(rr, []);
      rows.get(rr)!.push([r, kh]);
    }
  const body: string[] = [];
  // SG: the vec4s of `taps` taps (Q per tap) from `base`, loaded once per subgroup:
  // wt_f = vec4 f = tap f / Q, quarter f % Q
  const sharedTaps = (taps: number, base: string) =>
    shareAcrossLanes('wt_', taps * Q.length, (f) =>
      Q.length === 1
        ? `Wv[${base} + ${f} * ws]`
        : `Wv[${base} + (${f} / ${Q.length}u) * ws + ${f} % ${Q.length}u]`,
    );
  const taps = (kh: string, kw: number, rs: number[], tap = 0) => [
    '  {',
    ...Q.map((q) =>
      SG
        ? `    let w${q} = wt_${(tap * KW + kw) * Q.length + q};`
        : `    let w${q} = Wv[wb + (${kh} * ${KW}u + ${kw}u) * ws + ${q}u];`,
    ),
    ...rs.flatMap((r) =>
      I.flatMap((i) =>
        J.map(
          (j) =>
            `    a${r}_${i}_${j} = fma(${seg(i * sw + kw * dw)}, w${j >> 2}[${j & 3}], a${r}_${i}_${j});`,
        ),
      ),
    ),
    '  }',
  ];
  if (TR === 1) {
    // one output row: a runtime loop over kh (code size ~ KW, so 7x7 kernels compile quickly)
    body.push(`for (var kh = 0u; kh < ${KH}u; kh++) {`);
    if (SG) body.push(...sharedTaps(KW, `wb + kh * ${KW}u * ws`).map((l) => `  ${l}`));
    body.push(...range(L4).map((q) => `  let s${q} = X[xb + kh * ${dh}u * wp4 + ${q}u];`));
    for (const kw of range(KW)) body.push(...taps('kh', kw, [0]));
    body.push('}');
  } else {
    // several output rows: fully unrolled over the input rows they share
    if (SG) body.push(...sharedTaps(KH * KW, 'wb'));
    for (const [rr, uses] of [...rows.entries()].sort((a, b) => a[0] - b[0])) {
      body.push('{');
      body.push(...range(L4).map((q) => `  let s${q} = X[xb + ${rr}u * wp4 + ${q}u];`));
      for (const kh of [...new Set(uses.map((u) => u[1]))]) {
        for (const kw of range(KW))
          body.push(
            ...taps(
              `${kh}u`,
              kw,
              uses.filter((u) => u[1] === kh).map((u) => u[0]),
              kh,
            ),
          );
      }
      body.push('}');
    }
  }
  const store: string[] = [];
  for (const j of J) {
    store.push(
      `if (ol0 + ${j}u < p.Og) {`,
      `  let o = g * p.Og + ol0 + ${j}u;${bias ? ' let bo = B[o];' : ''}`,
    );
    for (const r of R) {
      store.push(
        `  if (oh0 + ${r}u < p.OH) {`,
        `    let yb = ((n * p.O + o) * p.OH + oh0 + ${r}u) * p.OW + ow0;`,
      );
      for (const i of I)
        store.push(`    if (ow0 + ${i}u < p.OW) { Y[yb + ${i}u] = a${r}_${i}_${j}${bias ? ' + bo' : ''}; }`);
      store.push('  }');
    }
    store.push('}');
  }
  return `${enableSubgroups(SG)}${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> Wv: array<vec4<f32>>;
${outputBindings(bias)}
@compute @workgroup_size(${WX})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u${subgroupParam(SG)}) {
${lines(tileIndex)}
  let oh0 = (t / p.tilesW) * ${TR}u; let ow0 = (t % p.tilesW) * ${TP}u;
  let g = wid.y / p.oTiles; let ol0 = (wid.y % p.oTiles) * ${TO}u;
  let wp4 = p.Wp / 4u; let plane4 = p.Hp * wp4;
  var xb = ((n * p.C + g * p.Cg) * p.Hp + oh0 * ${sh}u) * wp4 + (ow0 * ${sw}u) / 4u;
  let ws = p.OgP / 4u;                                   // vec4s per packed k row
  var wb = (g * p.Cg * ${KH * KW}u * p.OgP + ol0) / 4u;
${lines(R.flatMap((r) => I.flatMap((i) => J.map((j) => `var a${r}_${i}_${j} = 0.0;`))))}
  for (var c = 0u; c < p.Cg; c++) {
${lines(body, '    ')}
    xb += plane4;
    wb += ${KH * KW}u * ws;
  }
${SG ? `  if (live) {\n${lines(store, '    ')}\n  }` : lines(store)}
}`;
}

// =============================================================================================
// Weight gradient, row-segment kernel.
// xp: (N, C, Hp, Wp) padded as for the forward (Wp % 4 == 0), read as vec4.
// dyp: (N, O, OH, OWp), OWp % TP == 0, zero beyond OW, read as vec4.
// out: (S, O, Cg*KH*KW) partial sums (S = 1: dw itself).
// Invocation: TO out-channels x TC in-channels x all KH*KW taps; loops over its slice of the
// flattened (n, oh) rows and over the columns in steps of TP.
// Grid: x = G * oTiles * cTiles / WX, y = S. Bindings: xp, dyp, out.
// =============================================================================================

export interface WgradConfig {
  TO: number;
  TC: number;
  TP: number;
  WX: number;
  /**
   * Shared input: the lanes of a subgroup take 8 consecutive out-channel tiles of one
   * (group, in-channel tile), so they all need the same x segments; lane x loads the x-th of
   * them and subgroupBroadcast hands each to every lane (one load per 8 instead of 8).
   * Grid: x = oTiles / 8, y = S, z = G * cTiles; WX must be 8. Needs subgroups of 8+ lanes.
   */
  SG?: boolean;
}

export function wgradRows(c: WgradConfig, geo: Geometry): string {
  const { TO, TC, TP, WX, SG } = c;
  if (SG && WX !== SUBGROUP_LANES) throw new Error('wgradRows: shared input needs WX = 8 (one subgroup)');
  const { KH, KW, sh, sw, dh, dw } = geo;
  if (TP % 4) throw new Error('wgradRows: TP must be a multiple of 4');
  const L = (TP - 1) * sw + (KW - 1) * dw + 1,
    L4 = Math.ceil(L / 4);
  const J = range(TO),
    Cc = range(TC),
    KHs = range(KH),
    KWs = range(KW),
    I = range(TP);
  const acc = (j: number, cc: number, kh: number, kw: number) => `a${j}_${cc}_${kh}_${kw}`;
  const inner: string[] = [
    ...J.flatMap((j) => range(TP / 4).map((q) => `let d${j}_${q} = DY[dr${j} + q0 + ${q}u];`)),
  ];
  if (SG) {
    // the step's TC * KH * L4 x segments, loaded once per subgroup: xs_f = (cc * KH + kh) * L4 + q
    const channel = (f: string) => `g * p.Cg + min(c0 + ${f} / ${KH * L4}u, p.Cg - 1u)`;
    const row = (f: string) => `oh * ${sh}u + ((${f} / ${L4}u) % ${KH}u) * ${dh}u`;
    inner.push(
      ...shareAcrossLanes(
        'xs_',
        TC * KH * L4,
        (f) => `X[((n * p.C + ${channel(f)}) * p.Hp + ${row(f)}) * wp4 + xq + ${f} % ${L4}u]`,
      ),
    );
  }
  for (const cc of Cc)
    for (const kh of KHs) {
      inner.push('{');
      inner.push(
        ...range(L4).map((q) =>
          SG
            ? `  let s${q} = xs_${(cc * KH + kh) * L4 + q};`
            : `  let s${q} = X[xr${cc}_${kh} + xq + ${q}u];`,
        ),
      );
      for (const kw of KWs)
        for (const j of J)
          for (const i of I) {
            const e = i * sw + kw * dw;
            inner.push(
              `  ${acc(j, cc, kh, kw)} = fma(d${j}_${i >> 2}[${i & 3}], s${e >> 2}[${e & 3}], ${acc(j, cc, kh, kw)});`,
            );
          }
      inner.push('}');
    }
  const store: string[] = [];
  for (const j of J)
    for (const cc of Cc) {
      store.push(`if (${SG ? 'live && ' : ''}ol0 + ${j}u < p.Og && c0 + ${cc}u < p.Cg) {`);
      store.push(`  let ob = outBase + ((g * p.Og + ol0 + ${j}u) * p.Cg + c0 + ${cc}u) * ${KH * KW}u;`);
      for (const kh of KHs)
        for (const kw of KWs) store.push(`  Out[ob + ${kh * KW + kw}u] = ${acc(j, cc, kh, kw)};`);
      store.push('}');
    }
  const tile = SG
    ? [
        ...laneTile('ot', `wid.x * ${WX}u + lid.x`, 'p.oTiles', SG),
        `let ol0 = ot * ${TO}u;`,
        `let g = wid.z / p.cTiles; let c0 = (wid.z % p.cTiles) * ${TC}u;`,
      ]
    : [
        ...laneTile('t', `wid.x * ${WX}u + lid.x`, 'p.G * p.oTiles * p.cTiles', SG),
        `let c0 = (t % p.cTiles) * ${TC}u; let rest = t / p.cTiles;`,
        `let ol0 = (rest % p.oTiles) * ${TO}u; let g = rest / p.oTiles;`,
      ];
  return `${enableSubgroups(SG)}${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> DY: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;
@compute @workgroup_size(${WX})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u${subgroupParam(SG)}) {
${lines(tile)}
  let s = wid.y;
  let outBase = s * p.O * p.Cg * ${KH * KW}u;
  let rowBegin = s * p.rowsPerSplit;
  let rowEnd = min(rowBegin + p.rowsPerSplit, p.N * p.OH);
  let wp4 = p.Wp / 4u; let owp4 = p.OWp / 4u;
${lines(J.map((j) => `let o${j} = g * p.Og + min(ol0 + ${j}u, p.Og - 1u);`))}
${lines(Cc.map((cc) => `let ch${cc} = g * p.Cg + min(c0 + ${cc}u, p.Cg - 1u);`))}
${lines(J.flatMap((j) => Cc.flatMap((cc) => KHs.flatMap((kh) => KWs.map((kw) => `var ${acc(j, cc, kh, kw)} = 0.0;`)))))}
  for (var row = rowBegin; row < rowEnd; row++) {
    let n = row / p.OH; let oh = row % p.OH;
${lines(
  J.map((j) => `let dr${j} = ((n * p.O + o${j}) * p.OH + oh) * owp4;`),
  '    ',
)}
${lines(
  Cc.flatMap((cc) =>
    KHs.map((kh) => `let xr${cc}_${kh} = ((n * p.C + ch${cc}) * p.Hp + oh * ${sh}u + ${kh * dh}u) * wp4;`),
  ),
  '    ',
)}
    for (var q0 = 0u; q0 < owp4; q0 += ${TP / 4}u) {
      let xq = (q0 * 4u * ${sw}u) / 4u;
${lines(inner, '      ')}
    }
  }
${lines(store)}
}`;
}
