/**
 * The conv2d lab's version tables: for each pass (forward; dgrad, the input gradient; wgrad, the
 * weight gradient) the numbered versions, each a name, its idea in one line and the
 * configuration of the generator in shaders/conv2d.ts that writes its WGSL.
 *
 * conv2dVersionCode() is the one place that turns (pass, version, geometry) into WGSL: the
 * engine (src/ops/conv.ts, which picks a version per shape and launches it), the lab's
 * `--print` (bench/conv-lab.ts) and the committed copies in shaders/generated/ (written by
 * tools/gen-shaders.ts, checked by test/generated-shaders.test.ts) all show the same text.
 *
 * Two names in each list are routes through other kernels, not versions of this lab: 'mm'
 * (a pointwise convolution is a matmul: shaders/matmul.ts) and 'im2col' (shaders/im2col.ts,
 * then a matmul). They have no WGSL here.
 */
import {
  dgradDirect,
  forwardDirect,
  forwardRegblock,
  forwardRows,
  wgradDirect,
  wgradRows,
  type Geometry,
  type RegConfig,
  type RowsConfig,
  type WgradConfig,
} from './conv2d.js';

export type ConvPass = 'forward' | 'dgrad' | 'wgrad';

export interface ConvVersion<Cfg> {
  name: string;
  about: string;
  cfg: Cfg;
}

/** v1 of every pass: one invocation per output element, every size from the uniform Params. */
export const DIRECT = {
  name: 'v1-direct',
  about: {
    forward: 'one invocation per output element, bounds-checked loops over (c, kh, kw) (teaching)',
    dgrad: 'one invocation per input element, loops over (o, kh, kw) with the stride divisibility test',
    wgrad: 'one invocation per weight element, loops over (n, oh, ow)',
  },
} as const;

/** v2: register-blocked, bounds-checked forward kernels (any shape); dgrad runs them too. */
export const REG: ConvVersion<RegConfig>[] = [
  {
    name: 'v2-regblock',
    about: 'bounds-checked, 4 positions x 4 channels per invocation, scalar loads',
    cfg: { TP: 4, TO: 4, WX: 16 },
  },
  {
    name: 'v2-regblock-o1',
    about: 'v2 for few output channels per group (depthwise): 8 positions x 1 channel',
    cfg: { TP: 8, TO: 1, WX: 16 },
  },
  {
    name: 'v2-regblock-nb',
    about: 'v2 with the batch folded into the lanes: slower (16,128,4,4: 128 ms against v2 42)',
    cfg: { TP: 4, TO: 4, WX: 16, NB: true },
  },
];

/** v3+: row-segment forward kernels on a pre-padded input; dgrad runs them too. */
export const ROWS: ConvVersion<RowsConfig>[] = [
  {
    name: 'v3-rows-1x8x8',
    about: 'pre-padded input, 1 row x 8 cols x 8 channels, row segments reused over KW taps',
    cfg: { TR: 1, TP: 8, TO: 8, WX: 16 },
  },
  {
    name: 'v4-rows-2x8x4',
    about: '2 rows x 8 cols x 4 channels: input rows shared by 2 output rows, fewer channels',
    cfg: { TR: 2, TP: 8, TO: 4, WX: 16 },
  },
  {
    name: 'v5-rows-4x4x4',
    about: '4 rows x 4 cols x 4 channels, 8-invocation workgroups',
    cfg: { TR: 4, TP: 4, TO: 4, WX: 8 },
  },
  {
    name: 'v6-rows-4x8x4',
    about: '4 rows x 8 cols x 4 channels (128 accumulators), 8-invocation workgroups',
    cfg: { TR: 4, TP: 8, TO: 4, WX: 8 },
  },
  {
    name: 'v7-rows-4x4x4-wg4',
    about: 'v5 with 4-invocation workgroups (less idle tail work)',
    cfg: { TR: 4, TP: 4, TO: 4, WX: 4 },
  },
  {
    name: 'v8-rows-1x8x4',
    about: 'one row x 8 cols x 4 channels, runtime kh loop: the version for big kernels (7x7)',
    cfg: { TR: 1, TP: 8, TO: 4, WX: 8 },
  },
  {
    name: 'v9-rows-4x8x4-nb',
    about: 'v6 with the batch folded into the lanes (16,128,8,8 fwd: 97 ms against v6 129)',
    cfg: { TR: 4, TP: 8, TO: 4, WX: 8, NB: true },
  },
  {
    name: 'v10-rows-4x4x4-nb',
    about: 'v5 with the batch folded into the lanes (16,128,8,8 fwd: 77 ms, 4x4: 88 ms, v6 144)',
    cfg: { TR: 4, TP: 4, TO: 4, WX: 8, NB: true },
  },
  {
    name: 'v11-rows-4x8x4-sg',
    about: 'v6 with shared weights: each subgroup loads the taps once and broadcasts them',
    cfg: { TR: 4, TP: 8, TO: 4, WX: 8, SG: true },
  },
  {
    name: 'v12-rows-1x8x4-sg',
    about: 'v8 with shared weights (runtime kh loop, big kernels)',
    cfg: { TR: 1, TP: 8, TO: 4, WX: 8, SG: true },
  },
  {
    name: 'v13-rows-4x4x4-nb-sg',
    about: 'v10 with shared weights (batch in the lanes, small images)',
    cfg: { TR: 4, TP: 4, TO: 4, WX: 8, NB: true, SG: true },
  },
  {
    name: 'v14-rows-1x8x8-sg',
    about: 'shared weights make weights cheap, so more channels per input load: 1 row x 8 cols x 8',
    cfg: { TR: 1, TP: 8, TO: 8, WX: 8, SG: true },
  },
  {
    name: 'v15-rows-1x4x16-sg',
    about: 'shared weights, 1 row x 4 cols x 16 channels',
    cfg: { TR: 1, TP: 4, TO: 16, WX: 8, SG: true },
  },
  {
    name: 'v16-rows-1x8x16-sg',
    about: 'shared weights, 1 row x 8 cols x 16 channels (128 accumulators)',
    cfg: { TR: 1, TP: 8, TO: 16, WX: 8, SG: true },
  },
  {
    name: 'v17-rows-2x8x8-sg',
    about: 'shared weights, 2 rows x 8 cols x 8 channels (input rows shared by 2 output rows)',
    cfg: { TR: 2, TP: 8, TO: 8, WX: 8, SG: true },
  },
  {
    name: 'v18-rows-1x8x8-nb-sg',
    about: 'v14 with the batch in the lanes (small images)',
    cfg: { TR: 1, TP: 8, TO: 8, WX: 8, NB: true, SG: true },
  },
  {
    name: 'v19-rows-1x4x16-nb-sg',
    about: 'v15 with the batch in the lanes (4-pixel-wide images)',
    cfg: { TR: 1, TP: 4, TO: 16, WX: 8, NB: true, SG: true },
  },
];

/** v2+ of the weight gradient; `split`: the (n, oh) reduction is split over slices + a sum pass. */
export const WGRAD: ConvVersion<WgradConfig & { split: boolean }>[] = [
  {
    name: 'v2-rows',
    about: 'TO=4 x TC=2 x all taps per invocation, dy runs and x segments as vec4, no split',
    cfg: { TO: 4, TC: 2, TP: 8, WX: 8, split: false },
  },
  {
    name: 'v3-rows-splitK',
    about: 'v2 with the (n, oh) reduction split over S slices + a reduction pass',
    cfg: { TO: 4, TC: 2, TP: 8, WX: 8, split: true },
  },
  {
    name: 'v4-rows-splitK-8x1',
    about: 'split-K, TO=8 x TC=1 x all taps',
    cfg: { TO: 8, TC: 1, TP: 8, WX: 8, split: true },
  },
  {
    name: 'v5-rows-splitK-4x4p4',
    about: 'split-K, TO=4 x TC=4, 4 columns per step',
    cfg: { TO: 4, TC: 4, TP: 4, WX: 8, split: true },
  },
  {
    name: 'v6-rows-splitK-4x4p4-sg',
    about: 'v5 with shared input: the 8 lanes take 8 out-channel tiles of one input tile',
    cfg: { TO: 4, TC: 4, TP: 4, WX: 8, split: true, SG: true },
  },
  {
    name: 'v7-rows-splitK-2x4p4-sg',
    about: 'shared input, TO=2 (16 out-channels fill the 8 lanes)',
    cfg: { TO: 2, TC: 4, TP: 4, WX: 8, split: true, SG: true },
  },
  {
    name: 'v8-rows-splitK-1x8p4-sg',
    about: 'shared input, TO=1 x TC=8 (more input per broadcast, one dy run per lane)',
    cfg: { TO: 1, TC: 8, TP: 4, WX: 8, split: true, SG: true },
  },
];

/** The routes through other kernels that each pass may also take (see the header). */
export const ROUTES = {
  mm: 'a pointwise (1x1, stride 1, no padding, groups 1) convolution as a matmul: see shaders/matmul.ts',
  im2col: 'im2col (shaders/im2col.ts) + a matmul (shaders/matmul.ts): for small images',
} as const;

/** Every name each pass accepts, lab versions in ladder order, then the routes. */
export const conv2dVersions: Record<ConvPass, string[]> = {
  forward: [DIRECT.name, ...REG.map((v) => v.name), ...ROWS.map((v) => v.name), 'mm', 'im2col'],
  dgrad: [DIRECT.name, ...REG.map((v) => v.name), ...ROWS.map((v) => v.name), 'mm', 'im2col'],
  wgrad: [DIRECT.name, ...WGRAD.map((v) => v.name), 'mm', 'im2col'],
};

/** The versions of a pass that have WGSL of their own (all but the routes). */
export const labVersions = (pass: ConvPass): string[] => conv2dVersions[pass].filter((n) => !(n in ROUTES));

/**
 * A wgrad version's configuration for a kernel of `taps` = KH*KW: TC, then TO, are halved until
 * the TO x TC x taps accumulators fit a budget (big kernels would spill registers).
 */
export function wgradConfig(name: string, taps: number, budget = 96): WgradConfig & { split: boolean } {
  const v = WGRAD.find((w) => w.name === name);
  if (!v)
    throw new Error(`conv2d wgrad: '${name}' is not a row-segment version (${WGRAD.map((w) => w.name)})`);
  let { TO, TC } = v.cfg;
  while (TO * TC * taps > budget && TC > 1) TC >>= 1;
  while (TO * TC * taps > budget && TO > 1) TO >>= 1;
  return { ...v.cfg, TO, TC };
}

/** The same geometry seen by dgrad's v2+: the stride-1 convolution of the zero-dilated dy. */
export const dgradGeometry = (geo: Geometry): Geometry => ({ ...geo, sh: 1, sw: 1 });

/**
 * The WGSL of a version's main kernel, specialized to `geo` (the row-segment kernels unroll
 * over kernel size, stride and dilation; the others read everything from Params) and to the
 * bias flag (forward only: the bias is added in the kernel's epilogue).
 *
 * dgrad's v2+ are the forward kernels run on the transposed convolution: pre-passes dilate dy
 * by the stride and flip the weights, so the kernel sees stride 1 and no bias.
 */
export function conv2dVersionCode(pass: ConvPass, name: string, geo: Geometry, bias = false): string {
  if (name in ROUTES)
    throw new Error(
      `conv2d ${pass}: '${name}' has no WGSL of its own: ${ROUTES[name as keyof typeof ROUTES]}`,
    );
  if (pass === 'wgrad') {
    if (name === DIRECT.name) return wgradDirect();
    return wgradRows(wgradConfig(name, geo.KH * geo.KW), geo);
  }
  if (pass === 'dgrad') {
    if (name === DIRECT.name) return dgradDirect();
    return forwardKernelCode(name, dgradGeometry(geo), false);
  }
  if (name === DIRECT.name) return forwardDirect(bias);
  return forwardKernelCode(name, geo, bias);
}

/**
 * A v2 or row-segment kernel: `geo` as the kernel sees it (for dgrad, already the transposed
 * convolution's). src/ops/conv.ts calls this for both forward and dgrad.
 */
export function forwardKernelCode(name: string, geo: Geometry, bias: boolean): string {
  const reg = REG.find((v) => v.name === name);
  if (reg) return forwardRegblock(reg.cfg, bias);
  const rows = ROWS.find((v) => v.name === name);
  if (rows) return forwardRows(rows.cfg, geo, bias);
  throw new Error(
    `conv2d: '${name}' is not a forward kernel version (${[...REG, ...ROWS].map((v) => v.name)})`,
  );
}
