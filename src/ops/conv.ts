/**
 * 2-D convolution, NCHW, with stride, zero padding, dilation and groups:
 *
 *   conv2d(x, w, bias?, {stride, padding, dilation, groups})
 *     x (N, C, H, W), w (O, C/groups, KH, KW), bias (O)  ->  y (N, O, OH, OW)
 *     OH = floor((H + 2 ph - dh (KH - 1) - 1) / sh) + 1, likewise OW
 *
 * Backward: dx = conv2dInputGrad(dy, w, x.shape, opts), dw = conv2dWeightGrad(x, dy, w.shape, opts),
 * dbias = sum(dy, [0, 2, 3]). The two gradient ops are ops themselves, with backwards written
 * with conv2d and each other, so gradients of gradients work (a GAN's R1 penalty):
 *   dx = A_w^T dy is bilinear in (dy, w):  d/d dy <gg, dx> = conv2d(gg, w),
 *                                          d/dw    <gg, dx> = conv2dWeightGrad(gg, dy)
 *   dw = wgrad(x, dy) is bilinear in (x, dy): d/dx <gg, dw> = conv2dInputGrad(dy, gg),
 *                                             d/d dy <gg, dw> = conv2d(x, gg)
 *
 * Kernels: the lab in shaders/conv2d.ts (generators) and shaders/conv2d-versions.ts (the
 * numbered versions, each tested against the CPU reference below; their WGSL, as text, is in
 * shaders/generated/). `*Kernel(..., version)` force a version (tests, benchmarks); without one the
 * fastest measured version that supports the shape is used. 1x1 convolutions with stride 1 and
 * no padding (groups 1) are matmuls and go through src/ops/matmul.ts.
 */
import { record } from '../autograd/tape.js';
import { getDevice, hasSubgroups } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import { Tensor } from '../tensor/tensor.js';
import { nd, type NdArray } from '../tensor/ndarray.js';
import {
  biasAdd,
  FLAT_WG,
  geometryKey,
  packWeights,
  PARAM_FIELDS,
  splitReduce,
  windowCopyPlanes,
  zeroFill,
  type ConvParamName,
  type Geometry,
  type WgradConfig,
} from '../../shaders/conv2d.js';
import {
  conv2dVersionCode,
  conv2dVersions,
  forwardKernelCode,
  REG,
  ROWS,
  WGRAD,
  wgradConfig,
  type ConvPass,
} from '../../shaders/conv2d-versions.js';
import { requireF32 } from '../tensor/kernel.js';
import { flatGrid, SUBGROUP_LANES } from '../../shaders/common.js';
import { matmulKernel } from './matmul.js';
import { conv2dIm2col, conv2dInputGradIm2col, conv2dWeightGradIm2col } from './conv-im2col.js';
import { sum } from './reduce.js';

export interface Conv2dOptions {
  stride?: number | readonly [number, number];
  padding?: number | readonly [number, number];
  dilation?: number | readonly [number, number];
  groups?: number;
}

/** Everything about one convolution's shapes. */
export interface ConvGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  O: number;
  OH: number;
  OW: number;
  G: number;
  Cg: number;
  Og: number;
  KH: number;
  KW: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh: number;
  dw: number;
}

const pair = (
  v: number | readonly [number, number] | undefined,
  fallback: number,
  what: string,
  op: string,
  min: number,
): [number, number] => {
  const r: [number, number] =
    v === undefined ? [fallback, fallback] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (r.length !== 2 || r.some((x) => !Number.isInteger(x) || x < min)) {
    throw new RangeError(
      `${op}: ${what} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer or a pair of them, got ${JSON.stringify(v)}`,
    );
  }
  return r;
};

/** Validates shapes and options; `xShape`/`wShape` are the (N, C, H, W) and (O, C/g, KH, KW) shapes. */
export function convGeometry(
  op: string,
  xShape: readonly number[],
  wShape: readonly number[],
  opts: Conv2dOptions = {},
): ConvGeometry {
  if (xShape.length !== 4)
    throw new RangeError(`${op}: input must be 4-D (N, C, H, W), got shape [${xShape}]`);
  if (wShape.length !== 4)
    throw new RangeError(`${op}: weight must be 4-D (O, C/groups, KH, KW), got shape [${wShape}]`);
  const [sh, sw] = pair(opts.stride, 1, 'stride', op, 1);
  const [ph, pw] = pair(opts.padding, 0, 'padding', op, 0);
  const [dh, dw] = pair(opts.dilation, 1, 'dilation', op, 1);
  const G = opts.groups ?? 1;
  if (!Number.isInteger(G) || G < 1)
    throw new RangeError(`${op}: groups must be a positive integer, got ${G}`);
  const [N, C, H, W] = xShape;
  const [O, Cg, KH, KW] = wShape;
  if (C % G)
    throw new RangeError(
      `${op}: groups=${G} does not divide the input's ${C} channels (input [${xShape}], weight [${wShape}])`,
    );
  if (O % G)
    throw new RangeError(
      `${op}: groups=${G} does not divide the weight's ${O} output channels (input [${xShape}], weight [${wShape}])`,
    );
  if (Cg * G !== C) {
    throw new RangeError(
      `${op}: channel mismatch: input [${xShape}] has C=${C} channels, weight [${wShape}] with groups=${G} expects C = ${Cg} x ${G} = ${Cg * G}`,
    );
  }
  if (KH < 1 || KW < 1 || O < 1) throw new RangeError(`${op}: weight [${wShape}] is empty`);
  const OH = Math.floor((H + 2 * ph - dh * (KH - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + 2 * pw - dw * (KW - 1) - 1) / sw) + 1;
  if (OH <= 0 || OW <= 0) {
    throw new RangeError(
      `${op}: output size ${OH}x${OW} <= 0: input [${xShape}] with padding (${ph}, ${pw}) is smaller than the dilated kernel (${dh * (KH - 1) + 1}x${dw * (KW - 1) + 1}) of weight [${wShape}]`,
    );
  }
  return { N, C, H, W, O, OH, OW, G, Cg, Og: O / G, KH, KW, sh, sw, ph, pw, dh, dw };
}

const optsOf = (g: ConvGeometry): Conv2dOptions => ({
  stride: [g.sh, g.sw],
  padding: [g.ph, g.pw],
  dilation: [g.dh, g.dw],
  groups: g.G,
});
const geoOf = (g: ConvGeometry): Geometry => ({ KH: g.KH, KW: g.KW, sh: g.sh, sw: g.sw, dh: g.dh, dw: g.dw });
const ceilDiv = (a: number, b: number) => Math.ceil(a / b);
const roundUp = (a: number, b: number) => ceilDiv(a, b) * b;
const isPointwise = (g: ConvGeometry) =>
  g.KH === 1 && g.KW === 1 && g.sh === 1 && g.sw === 1 && g.ph === 0 && g.pw === 0 && g.G === 1;

// ---------------------------------------------------------------- launching

type P = Partial<Record<ConvParamName, number>>;
function params(v: P): Uint8Array {
  const b = new Params();
  for (const f of PARAM_FIELDS) {
    if (f === 'top' || f === 'left') b.i32(v[f] ?? 0);
    else b.u32(v[f] ?? 0);
  }
  return b.bytes();
}
const geoParams = (g: ConvGeometry): P => ({ ...g });

function flat(total: number): [number, number, number] {
  return flatGrid(total, FLAT_WG);
}

function run(key: string, code: () => string, v: P, buffers: Tensor[], grid: [number, number, number]): void {
  getDevice().dispatch(
    { key, code },
    params(v),
    buffers.map((t) => t.binding()),
    grid,
  );
}

/** dst (planes, Hd, Wd) = src (planes, Hs, Ws) shifted by (top, left), zero-dilated by (sh, sw), zero-filled. */
function windowed(
  src: Tensor,
  planes: number,
  Hs: number,
  Ws: number,
  Hd: number,
  Wd: number,
  top: number,
  left: number,
  sh = 1,
  sw = 1,
): Tensor {
  const dst = Tensor.empty([planes, Hd, Wd]);
  const total = planes * Hd * Wd;
  // windowCopyPlanes: per-plane workgroups, no per-element divisions; measured against
  // windowCopy (ms, lavapipe, interleaved): 256 planes 64x64 -> 66x68 12.9 vs 16.1, 2048 planes
  // 8x8 -> 10x12 4.0 vs 4.4, 512 planes 32x32 -> 34x36 6.8 vs 8.4, stride 2 16x16 -> 34x36 12.8 vs 13.0
  run(
    `conv:window:${sh},${sw}`,
    () => windowCopyPlanes(sh, sw),
    { N: planes, H: Hs, W: Ws, Hp: Hd, Wp: Wd, top, left, sh, sw, total },
    [src, dst],
    flatGrid(planes, 1),
  );
  return dst;
}

/** Packed weights (G, K, width rounded up to `mult`); see packWeights() in the lab. */
function packed(w: Tensor, g: ConvGeometry, flip: boolean, mult: number): { wp: Tensor; OgP: number } {
  const width = flip ? g.Cg : g.Og;
  const K = (flip ? g.Og : g.Cg) * g.KH * g.KW;
  const OgP = roundUp(width, mult);
  const wp = Tensor.empty([g.G, K, OgP]);
  const total = g.G * K * OgP;
  run(
    'conv:pack',
    packWeights,
    { Cg: g.Cg, Og: g.Og, KH: g.KH, KW: g.KW, OgP, flip: flip ? 1 : 0, total },
    [w, wp],
    flat(total),
  );
  return { wp, OgP };
}

/**
 * The convolution the forward kernels compute, in their terms: forward is itself; dgrad is the
 * stride-1 convolution of the dilated, padded dy with flipped weights (in-channels O, out C).
 */
interface KernelConv {
  input: Tensor; // (N, Cin, Hin, Win)
  Cin: number;
  Hin: number;
  Win: number;
  Cout: number;
  Cgi: number;
  Ogo: number;
  G: number;
  OH: number;
  OW: number;
  N: number;
  ph: number;
  pw: number; // padding still to apply (0 when the input is already padded)
  geo: Geometry;
  weight: Tensor; // original w (v1/v2 need flip info too)
  flip: boolean;
  bias?: Tensor;
}

// ---------------------------------------------------------------- versions

// The version tables (names, ideas, generator configs) are in shaders/conv2d-versions.ts, beside
// the generators; this file picks a version per shape and launches it.
export { conv2dVersions };

/** Does `version` apply to this geometry? ('mm' only for pointwise convolutions.) */
export function conv2dSupports(version: string, g: ConvGeometry): boolean {
  if (version === 'mm') return isPointwise(g);
  if (version === 'im2col') return g.G === 1;
  const rows = ROWS.find((v) => v.name === version);
  // shared-weights (and shared-input) versions trade values within subgroups of 8+ lanes
  const shared = rows?.cfg.SG || WGRAD.find((v) => v.name === version)?.cfg.SG;
  if (shared && !hasSubgroups(SUBGROUP_LANES)) return false;
  // multi-row tiles are fully unrolled over (rows, KH, KW): only for small kernels (compile time)
  if (rows && rows.cfg.TR > 1) return g.KH * g.KW <= 9;
  return true;
}

/**
 * The default version for a shape, from bench/conv-lab.ts on lavapipe (ResNet shape N=32,
 * 64->64, 28x28): multi-row tiles for kernels up to 3x3, one-row tiles (runtime kh loop) above;
 * few output channels per group (depthwise) -> v2 with 1 channel per invocation; 1x1 forward ->
 * v2 (matmul is no faster there, and the bias then needs a separate pass); pointwise dgrad and
 * wgrad -> matmul (measured 2-4x faster than the conv kernels at 1x1).
 */
function pickVersion(kind: ConvPass, g: ConvGeometry, version?: string): string {
  if (version) {
    if (!conv2dVersions[kind].includes(version))
      throw new Error(
        `conv2d ${kind}: unknown kernel version '${version}' (known: ${conv2dVersions[kind].join(', ')})`,
      );
    if (!conv2dSupports(version, g)) {
      throw new Error(
        `conv2d ${kind}: version '${version}' does not support kernel ${g.KH}x${g.KW}, stride (${g.sh}, ${g.sw}), padding (${g.ph}, ${g.pw}), groups ${g.G}` +
          (version === 'mm'
            ? ' (it needs a 1x1 kernel, stride 1, no padding, groups 1)'
            : version === 'im2col'
              ? ' (it needs groups 1)'
              : ' (multi-row tiles need KH*KW <= 9)'),
      );
    }
    return version;
  }
  if (isPointwise(g) && kind !== 'forward') return 'mm';
  // The face generator's small 3x3 convs (128 channels, batch 16, 8x8 and 4x4 px), measured on
  // lavapipe with bench/conv-lab.ts (--shape=16,128,8,8,128,3,1,1 and 16,128,4,4,128,3,1,1,
  // training paused, two sittings, ms per op):
  //   8x8 forward  v2-regblock 73 / 90   im2col 77 / 120   (v2 also fuses the bias)
  //   8x8 wgrad    v5-rows-splitK 54 / 76   im2col 81 / 106
  //   4x4 forward  v2-regblock 39 / 42   im2col 73 / 77
  //   4x4 dgrad    v2-regblock 37 / 60   im2col 51 / 76
  // (8x8 dgrad: im2col 80 / 75 against v2's 103 / 87, so it stays; 4x4 wgrad: a tie.) Taken
  // only in the range measured: up to 128 channels, 16..64 output positions.
  // With subgroups (shared weights, shaders/conv2d.ts RowsConfig.SG), measured 2026-12-03 in
  // one conv-lab run each (training stopped; ms per op):
  //   8x8 forward  v19-rows-1x4x16-nb-sg 29.8   v10-rows-nb 69.7   im2col 61.0
  //   8x8 dgrad    v19 26.1   v2-regblock 116.4   im2col 56.4
  //   4x4 forward  v19 14.7   im2col 19.1          4x4 dgrad  v19 11.1   v2-regblock 53.8
  //   8x8 wgrad    v7-rows-splitK-2x4p4-sg 35.4   v5-rows-splitK 63.8   im2col 52.0
  const shared = hasSubgroups(SUBGROUP_LANES);
  const outPerGroup = kind === 'dgrad' ? g.Cg : g.Og;
  // the shared-input wgrad gives each lane 2 out-channels (16 fill a subgroup: depthwise would
  // leave 7 of 8 lanes idle) and puts G * input tiles on the grid's z (at most 65535)
  const sharedWgrad = shared && g.Og >= 16 && g.G * g.Cg <= 65535;
  if (shared && smallGenerator(g) && kind !== 'wgrad' && outPerGroup >= 16) return 'v19-rows-1x4x16-nb-sg';
  if (sharedWgrad && smallGenerator(g) && kind === 'wgrad') return 'v7-rows-splitK-2x4p4-sg';
  if (smallGenerator(g)) {
    const P = g.OH * g.OW;
    if (kind === 'forward') return 'v2-regblock';
    if (kind === 'wgrad' && P >= 64) return 'v5-rows-splitK-4x4p4';
    if (kind === 'dgrad' && P <= 16) return 'v2-regblock';
  }
  // small images (ResNet's late stages): the direct kernels' spatial tiles would be mostly
  // empty; im2col + matmul measured 2-5x faster at 4x4 and 2x2 (N=64, 256-512 channels)
  if (g.G === 1 && g.OH * g.OW <= 64 && !isPointwise(g)) return 'im2col';
  // shared input (one conv-lab run, ms): ResNet shape v7-rows-splitK-2x4p4-sg 154 against v5 316;
  // 16, 64->64, 16x16: 18.4 against 46.5
  if (kind === 'wgrad') return sharedWgrad ? 'v7-rows-splitK-2x4p4-sg' : 'v5-rows-splitK-4x4p4';
  // the gradient into an image (an ungrouped conv's few input channels: a critic's first layer,
  // which the generator's losses backpropagate through). v2-regblock-o1 is for depthwise; here,
  // one conv-lab run each (training running beside it, ms per op, o1 / v12 / im2col):
  //   dlib's 7x7/2 stem, 8 x 3x150x150 from 32 channels   2940 / 402 / 551
  //   3x3/2, 16 x 3x64x64 from 32                          275 /  87 /  37
  //   3x3/1, 16 x 3x64x64 from 32                          211 / 152 / 278
  // (o1 took 63% of the dlib teacher's GPU time: 7.2 s of 11.4 for 8 images.)
  if (kind === 'dgrad' && g.G === 1 && outPerGroup < 4) {
    if (g.sh > 1 && g.KH * g.KW <= 9) return 'im2col';
    if (shared) return 'v12-rows-1x8x4-sg';
    if (g.sh > 1) return 'im2col';
  }
  if (outPerGroup < 4) return 'v2-regblock-o1';
  if (g.KH * g.KW === 1) return 'v2-regblock';
  // shared weights at the ResNet shape (32, 64->64, 28x28, 3x3), two conv-lab runs, ms:
  // forward v15-rows-1x4x16-sg 136.9 / 158.3 against v6 328.4 / 319.0; dgrad v15 100.7, v6 221.0
  if (shared && outPerGroup >= 16) return 'v15-rows-1x4x16-sg';
  return g.KH * g.KW <= 9 ? 'v6-rows-4x8x4' : 'v8-rows-1x8x4';
}

/** A 3x3-or-smaller conv of 16..64 output positions and at most 128 channels, groups 1, stride 1. */
const smallGenerator = (g: ConvGeometry) =>
  g.G === 1 &&
  g.KH * g.KW <= 9 &&
  g.sh === 1 &&
  g.sw === 1 &&
  g.OH * g.OW >= 16 &&
  g.OH * g.OW <= 64 &&
  Math.max(g.C, g.O) <= 128 &&
  !isPointwise(g);

/** Runs a forward-style kernel (v2 or rows) on a KernelConv. */
function runForwardKernel(kc: KernelConv, version: string, g0: ConvGeometry): Tensor {
  const out = Tensor.empty([kc.N, kc.Cout, kc.OH, kc.OW]);
  const reg = REG.find((v) => v.name === version);
  const rows = ROWS.find((v) => v.name === version);
  const TO = reg ? reg.cfg.TO : rows!.cfg.TO;
  const { wp, OgP } = packed(kc.weight, g0, kc.flip, TO);
  const bias = kc.bias ? [kc.bias] : [];
  const common: P = {
    N: kc.N,
    C: kc.Cin,
    H: kc.Hin,
    W: kc.Win,
    O: kc.Cout,
    OH: kc.OH,
    OW: kc.OW,
    G: kc.G,
    Cg: kc.Cgi,
    Og: kc.Ogo,
    KH: kc.geo.KH,
    KW: kc.geo.KW,
    sh: kc.geo.sh,
    sw: kc.geo.sw,
    dh: kc.geo.dh,
    dw: kc.geo.dw,
    OgP,
    oTiles: OgP / TO,
  };
  if (reg) {
    const { TP, WX, NB } = reg.cfg;
    const key = `conv:fwd:${version}:${kc.bias ? 'b' : ''}`;
    run(
      key,
      () => forwardKernelCode(version, kc.geo, !!kc.bias),
      { ...common, ph: kc.ph, pw: kc.pw, Hp: kc.Hin, Wp: kc.Win },
      [kc.input, wp, ...bias, out],
      NB
        ? [ceilDiv(kc.N * ceilDiv(kc.OH * kc.OW, TP), WX), kc.G * (OgP / TO), 1]
        : [ceilDiv(ceilDiv(kc.OH * kc.OW, TP), WX), kc.G * (OgP / TO), kc.N],
    );
  } else {
    const { TR, TP, WX, NB } = rows!.cfg;
    // the padded, 4-aligned input
    const Hp = kc.Hin + 2 * kc.ph;
    const Wp = roundUp(kc.Win + 2 * kc.pw, 4);
    const prePadded = Hp === kc.Hin && Wp === kc.Win; // dgrad: dy was already padded
    const xp = prePadded ? kc.input : windowed(kc.input, kc.N * kc.Cin, kc.Hin, kc.Win, Hp, Wp, kc.ph, kc.pw);
    const tilesW = ceilDiv(kc.OW, TP),
      tilesH = ceilDiv(kc.OH, TR);
    const key = `conv:fwd:${version}:${geometryKey(kc.geo)}:${kc.bias ? 'b' : ''}`;
    run(
      key,
      () => forwardKernelCode(version, kc.geo, !!kc.bias),
      { ...common, Hp, Wp, tilesW, tilesH },
      [xp, wp, ...bias, out],
      NB
        ? [ceilDiv(kc.N * tilesW * tilesH, WX), kc.G * (OgP / TO), 1]
        : [ceilDiv(tilesW * tilesH, WX), kc.G * (OgP / TO), kc.N],
    );
    if (!prePadded) xp.dispose();
  }
  wp.dispose();
  return out;
}

// ---------------------------------------------------------------- raw kernels (no autograd)

/** y = conv2d(x, w) + bias, no autograd. `version` forces a kernel version. */
export function conv2dKernel(
  x: Tensor,
  w: Tensor,
  bias: Tensor | undefined,
  opts: Conv2dOptions = {},
  version?: string,
): Tensor {
  requireF32('conv2d', x, w, ...(bias ? [bias] : []));
  const g = convGeometry('conv2d', x.shape, w.shape, opts);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== g.O)) {
    throw new RangeError(
      `conv2d: bias must have shape [${g.O}] (the weight [${w.shape}] has ${g.O} output channels), got [${bias.shape}]`,
    );
  }
  if (g.N === 0 || g.C === 0) {
    if (g.C === 0 && g.N > 0) throw new RangeError(`conv2d: input [${x.shape}] has no channels`);
    return Tensor.empty([g.N, g.O, g.OH, g.OW]);
  }
  const v = pickVersion('forward', g, version);
  if (v === 'im2col') {
    const y = conv2dIm2col(x, w, g);
    if (!bias) return y;
    const withBias = Tensor.empty(y.shape);
    run(
      'conv:bias',
      biasAdd,
      { N: g.N, O: g.O, OH: g.OH, OW: g.OW, total: y.size },
      [y, bias, withBias],
      flat(y.size),
    );
    y.dispose();
    return withBias;
  }
  if (v === 'v1-direct') {
    const out = Tensor.empty([g.N, g.O, g.OH, g.OW]);
    run(
      `conv:fwd:v1:${bias ? 'b' : ''}`,
      () => conv2dVersionCode('forward', v, geoOf(g), !!bias),
      { ...geoParams(g), total: out.size },
      [x, w, ...(bias ? [bias] : []), out],
      flat(out.size),
    );
    return out;
  }
  if (v === 'mm') {
    // y[n] (O, HW) = w (O, C) @ x[n] (C, HW)
    const out = viewMatmul(w, [g.O, g.C], x, [g.N, g.C, g.H * g.W], {}, [g.N, g.O, g.OH, g.OW]);
    if (!bias) return out;
    const withBias = Tensor.empty(out.shape);
    run(
      'conv:bias',
      biasAdd,
      { N: g.N, O: g.O, OH: g.OH, OW: g.OW, total: out.size },
      [out, bias, withBias],
      flat(out.size),
    );
    out.dispose();
    return withBias;
  }
  return runForwardKernel(
    {
      input: x,
      Cin: g.C,
      Hin: g.H,
      Win: g.W,
      Cout: g.O,
      Cgi: g.Cg,
      Ogo: g.Og,
      G: g.G,
      OH: g.OH,
      OW: g.OW,
      N: g.N,
      ph: g.ph,
      pw: g.pw,
      geo: geoOf(g),
      weight: w,
      flip: false,
      bias,
    },
    v,
    g,
  );
}

/** matmulKernel on reshaped views of a and b; the result viewed as outShape. */
function viewMatmul(
  a: Tensor,
  aShape: number[],
  b: Tensor,
  bShape: number[],
  o: { transA?: boolean; transB?: boolean },
  outShape: readonly number[],
): Tensor {
  const av = Tensor.view(a, aShape),
    bv = Tensor.view(b, bShape);
  const y = matmulKernel(av, bv, o);
  av.dispose();
  bv.dispose();
  const out = Tensor.view(y, [...outShape]);
  y.dispose();
  return out;
}

/** dx from dy (N, O, OH, OW) and w, for an input of shape xShape; no autograd. */
export function conv2dInputGradKernel(
  dy: Tensor,
  w: Tensor,
  xShape: readonly number[],
  opts: Conv2dOptions = {},
  version?: string,
): Tensor {
  requireF32('conv2dInputGrad', dy, w);
  const g = convGeometry('conv2dInputGrad', xShape, w.shape, opts);
  checkDy('conv2dInputGrad', dy, g);
  if (g.N === 0 || g.C === 0) return Tensor.empty([...xShape]);
  const v = pickVersion('dgrad', g, version);
  if (v === 'im2col') return conv2dInputGradIm2col(dy, w, g);
  if (v === 'v1-direct') {
    const out = Tensor.empty([...xShape]);
    run(
      'conv:dgrad:v1',
      () => conv2dVersionCode('dgrad', v, geoOf(g)),
      { ...geoParams(g), total: out.size },
      [dy, w, out],
      flat(out.size),
    );
    return out;
  }
  if (v === 'mm') {
    // dx[n] (C, HW) = w^T (C, O) @ dy[n] (O, HW)
    return viewMatmul(w, [g.O, g.C], dy, [g.N, g.O, g.OH * g.OW], { transA: true }, xShape);
  }
  // stride-1 convolution of the zero-dilated dy, padded by dh (KH-1) - ph (negative = crop),
  // sized so that the valid convolution yields exactly H x W.
  const topH = g.dh * (g.KH - 1) - g.ph,
    topW = g.dw * (g.KW - 1) - g.pw;
  const Hp = g.H + g.dh * (g.KH - 1);
  const Wp = roundUp(g.W + g.dw * (g.KW - 1), 4);
  const dyp = windowed(dy, g.N * g.O, g.OH, g.OW, Hp, Wp, topH, topW, g.sh, g.sw);
  const out = runForwardKernel(
    {
      input: dyp,
      Cin: g.O,
      Hin: Hp,
      Win: Wp,
      Cout: g.C,
      Cgi: g.Og,
      Ogo: g.Cg,
      G: g.G,
      OH: g.H,
      OW: g.W,
      N: g.N,
      ph: 0,
      pw: 0,
      geo: { KH: g.KH, KW: g.KW, sh: 1, sw: 1, dh: g.dh, dw: g.dw },
      weight: w,
      flip: true,
    },
    v,
    g,
  );
  dyp.dispose();
  return out;
}

function checkDy(op: string, dy: Tensor, g: ConvGeometry): void {
  const want = [g.N, g.O, g.OH, g.OW];
  if (dy.rank !== 4 || dy.shape.some((d, i) => d !== want[i])) {
    throw new RangeError(
      `${op}: output gradient has shape [${dy.shape}], expected [${want}] for input [${g.N},${g.C},${g.H},${g.W}] and weight [${g.O},${g.Cg},${g.KH},${g.KW}]`,
    );
  }
}

/** Split-K slices for the weight gradient: enough workgroups to keep every core busy. */
function splitCount(g: ConvGeometry, cfg: WgradConfig): number {
  const tiles = g.G * ceilDiv(g.Og, cfg.TO) * ceilDiv(g.Cg, cfg.TC);
  const groups = ceilDiv(tiles, cfg.WX);
  const rows = g.N * g.OH;
  return Math.max(1, Math.min(ceilDiv(64, groups), Math.floor(rows / 4), 64));
}

/** dw (wShape) from x and dy; no autograd. */
export function conv2dWeightGradKernel(
  x: Tensor,
  dy: Tensor,
  wShape: readonly number[],
  opts: Conv2dOptions = {},
  version?: string,
  split?: number,
): Tensor {
  requireF32('conv2dWeightGrad', x, dy);
  const g = convGeometry('conv2dWeightGrad', x.shape, wShape, opts);
  checkDy('conv2dWeightGrad', dy, g);
  const v = pickVersion('wgrad', g, version);
  if (g.N === 0 || g.C === 0) {
    const out = Tensor.empty([...wShape]);
    run('conv:zero', zeroFill, { total: out.size }, [out], flat(out.size));
    return out;
  }
  if (v === 'v1-direct') {
    const out = Tensor.empty([...wShape]);
    run(
      'conv:wgrad:v1',
      () => conv2dVersionCode('wgrad', v, geoOf(g)),
      { ...geoParams(g), total: out.size },
      [x, dy, out],
      flat(out.size),
    );
    return out;
  }
  if (v === 'im2col') return conv2dWeightGradIm2col(x, dy, g);
  if (v === 'mm') {
    // dw (O, C) = sum_n dy[n] (O, HW) @ x[n]^T (HW, C)
    const per = viewMatmul(dy, [g.N, g.O, g.OH * g.OW], x, [g.N, g.C, g.H * g.W], { transB: true }, [
      g.N,
      g.O * g.C,
    ]);
    const out = Tensor.empty([...wShape]);
    run('conv:splitsum', splitReduce, { S: g.N, total: g.O * g.C }, [per, out], flat(g.O * g.C));
    per.dispose();
    return out;
  }
  const cfg = wgradConfig(v, g.KH * g.KW);
  const S = cfg.split ? (split ?? splitCount(g, cfg)) : 1;
  const rows = g.N * g.OH;
  const rowsPerSplit = ceilDiv(rows, S);
  const S2 = ceilDiv(rows, rowsPerSplit);
  const Hp = g.H + 2 * g.ph;
  const Wp = roundUp(Math.max(g.W + 2 * g.pw, 1), 4);
  const xp = windowed(x, g.N * g.C, g.H, g.W, Hp, Wp, g.ph, g.pw);
  const OWp = roundUp(g.OW, cfg.TP);
  const dyp = g.OW === OWp ? dy : windowed(dy, g.N * g.O, g.OH, g.OW, g.OH, OWp, 0, 0);
  const oTiles = ceilDiv(g.Og, cfg.TO),
    cTiles = ceilDiv(g.Cg, cfg.TC);
  const wSize = g.O * g.Cg * g.KH * g.KW;
  const out = Tensor.empty([...wShape]);
  const part = S2 > 1 ? Tensor.empty([S2, wSize]) : out;
  run(
    `conv:wgrad:${v}:${cfg.TO}x${cfg.TC}:${geometryKey(geoOf(g))}`,
    () => conv2dVersionCode('wgrad', v, geoOf(g)),
    { ...geoParams(g), Hp, Wp, OWp, oTiles, cTiles, rowsPerSplit, S: S2 },
    [xp, dyp, part],
    cfg.SG ? [ceilDiv(oTiles, 8), S2, g.G * cTiles] : [ceilDiv(g.G * oTiles * cTiles, cfg.WX), S2, 1],
  );
  if (S2 > 1) {
    run('conv:splitsum', splitReduce, { S: S2, total: wSize }, [part, out], flat(wSize));
    part.dispose();
  }
  xp.dispose();
  if (dyp !== dy) dyp.dispose();
  return out;
}

// ---------------------------------------------------------------- differentiable ops

/** 2-D convolution (NCHW) with optional bias; differentiable in x, w and bias, twice. */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const b = bias ?? undefined;
  const out = conv2dKernel(x, w, b, opts);
  const inputs = b ? [x, w, b] : [x, w];
  return record(out, 'conv2d', inputs, (g) => [
    x.requiresGrad ? conv2dInputGrad(g, w, x.shape, opts) : null,
    w.requiresGrad ? conv2dWeightGrad(x, g, w.shape, opts) : null,
    ...(b ? [b.requiresGrad ? sum(g, [0, 2, 3]) : null] : []),
  ]);
}

/** Gradient of conv2d wrt its input: dx (xShape) from dy and w. Differentiable in dy and w. */
export function conv2dInputGrad(
  dy: Tensor,
  w: Tensor,
  xShape: readonly number[],
  opts: Conv2dOptions = {},
): Tensor {
  const out = conv2dInputGradKernel(dy, w, xShape, opts);
  return record(out, 'conv2d_input_grad', [dy, w], (gg) => [
    dy.requiresGrad ? conv2d(gg, w, null, opts) : null,
    w.requiresGrad ? conv2dWeightGrad(gg, dy, w.shape, opts) : null,
  ]);
}

/** Gradient of conv2d wrt its weight: dw (wShape) from x and dy. Differentiable in x and dy. */
export function conv2dWeightGrad(
  x: Tensor,
  dy: Tensor,
  wShape: readonly number[],
  opts: Conv2dOptions = {},
): Tensor {
  const out = conv2dWeightGradKernel(x, dy, wShape, opts);
  return record(out, 'conv2d_weight_grad', [x, dy], (gg) => [
    x.requiresGrad ? conv2dInputGrad(dy, gg, x.shape, opts) : null,
    dy.requiresGrad ? conv2d(x, gg, null, opts) : null,
  ]);
}

// ---------------------------------------------------------------- CPU reference (float64)

/**
 * Every (output element, input element, weight element) triple of a convolution that lies
 * inside the image: the one loop nest from which the forward and both gradients follow.
 * yi indexes y/dy (N, O, OH, OW), xi indexes x/dx (N, C, H, W), wi indexes w/dw (O, C/g, KH, KW).
 */
function visitTaps(g: ConvGeometry, f: (yi: number, xi: number, wi: number) => void): void {
  for (let n = 0; n < g.N; n++)
    for (let o = 0; o < g.O; o++) {
      const grp = Math.floor(o / g.Og);
      for (let oh = 0; oh < g.OH; oh++)
        for (let ow = 0; ow < g.OW; ow++) {
          const yi = ((n * g.O + o) * g.OH + oh) * g.OW + ow;
          for (let c = 0; c < g.Cg; c++)
            for (let kh = 0; kh < g.KH; kh++)
              for (let kw = 0; kw < g.KW; kw++) {
                const ih = oh * g.sh - g.ph + kh * g.dh,
                  iw = ow * g.sw - g.pw + kw * g.dw;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                f(
                  yi,
                  ((n * g.C + grp * g.Cg + c) * g.H + ih) * g.W + iw,
                  ((o * g.Cg + c) * g.KH + kh) * g.KW + kw,
                );
              }
        }
    }
}

export const reference = {
  /** y[n, o, oh, ow] = bias[o] + sum over taps of x * w. */
  conv2d(x: NdArray, w: NdArray, bias?: NdArray | null, opts: Conv2dOptions = {}): NdArray {
    const g = convGeometry('conv2d', x.shape, w.shape, opts);
    const y = nd([g.N, g.O, g.OH, g.OW]);
    if (bias)
      for (let i = 0; i < y.data.length; i++) y.data[i] = bias.data[Math.floor(i / (g.OH * g.OW)) % g.O];
    visitTaps(g, (yi, xi, wi) => (y.data[yi] += x.data[xi] * w.data[wi]));
    return y;
  },
  /** The adjoint of conv2d in x: each dy element flows back through its window. */
  conv2dInputGrad(dy: NdArray, w: NdArray, xShape: readonly number[], opts: Conv2dOptions = {}): NdArray {
    const g = convGeometry('conv2dInputGrad', xShape, w.shape, opts);
    const dx = nd(xShape);
    visitTaps(g, (yi, xi, wi) => (dx.data[xi] += dy.data[yi] * w.data[wi]));
    return dx;
  },
  /** The adjoint of conv2d in w. */
  conv2dWeightGrad(x: NdArray, dy: NdArray, wShape: readonly number[], opts: Conv2dOptions = {}): NdArray {
    const g = convGeometry('conv2dWeightGrad', x.shape, wShape, opts);
    const dw = nd(wShape);
    visitTaps(g, (yi, xi, wi) => (dw.data[wi] += dy.data[yi] * x.data[xi]));
    return dw;
  },
};
