/**
 * The generator run's pictures (no Node imports; the run writes them as PNG):
 *
 *   sampleGrid   rows: identities (fixed training images, then new identities from the
 *                identity prior, shown with a grey tile instead of a real image); columns:
 *                  real image | its own factors | expression -/+ | yaw -/+ | lighting -/+
 *                each change 1.5 standard deviations of that factor from the row's own value
 *                (expression: the first PCA component; lighting: the left-right gradient),
 *                from the EMA generator with fixed z and fixed per-pixel noise, so grids of
 *                successive steps show the same requests
 *   ganCurves    losses against kimg: D and G (logistic), the reconstruction, the R1 penalty
 */
import { noGrad } from '../autograd/tape.js';
import { tensor } from '../tensor/create.js';
import { Generator, randn } from '../tensor/random.js';
import { scope } from '../tensor/scope.js';
import { lineChart, type Series } from '../plot/chart.js';
import { stackImages } from '../plot/figures.js';
import { tileImages } from '../plot/histogram.js';
import type { RgbaImage } from '../plot/raster.js';
import type { ImageCache } from '../data/image-cache.js';
import type { FaceGenerator } from '../models/generator/generator.js';
import { standardize, type FactorRows } from '../models/generator/factors.js';

export const GRID_COLUMNS = [
  'real',
  'own factors',
  'expr -',
  'expr +',
  'yaw -',
  'yaw +',
  'light -',
  'light +',
];
/** How far a column moves its factor, in standard deviations. */
const SHIFT = 1.5;
/** Lighting code index of the left-right gradient (src/face/lighting.ts: [a, b, c, ...], b = x). */
const LIGHT_LR = 1;

/** Evenly spaced training rows: the grid's identities. */
export function gridRows(count: number, rows: number): number[] {
  return Array.from({ length: Math.min(rows, count) }, (_, i) => Math.floor(((i + 0.5) * count) / rows));
}

function toRgba(chw: ArrayLike<number>, offset: number, R: number, from: 'unit' | 'u8'): RgbaImage {
  const rgba = new Uint8Array(R * R * 4);
  for (let p = 0; p < R * R; p++) {
    for (let c = 0; c < 3; c++) {
      const v = chw[offset + c * R * R + p];
      rgba[p * 4 + c] = from === 'u8' ? v : Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
    }
    rgba[p * 4 + 3] = 255;
  }
  return { width: R, height: R, rgba };
}

/** The grid (see the header) for training images `picked` (indices into `factors` / `rows`). */
export async function sampleGrid(
  G: FaceGenerator,
  data: { cache: ImageCache; rows: Int32Array; factors: FactorRows },
  picked: number[],
  options: { seed?: number; newIdentities?: Float32Array } = {},
): Promise<RgbaImage> {
  const { seed = 1234, newIdentities } = options;
  const c = G.config,
    R = c.resolution,
    cols = GRID_COLUMNS.length - 1;
  // rows: the picked images, then the new identities (raw descriptors, nobody's image) with
  // the expression, pose and lighting of picked images in turn
  const extra = newIdentities ? newIdentities.length / c.descriptorDim : 0;
  const own = [...picked, ...Array.from({ length: extra }, (_, k) => picked[k % picked.length])];
  const f = standardize(data.factors, c.norm, own);
  for (let k = 0; k < extra; k++)
    for (let j = 0; j < c.descriptorDim; j++) {
      const { mean, std } = c.norm.descriptor;
      f.descriptor[(picked.length + k) * c.descriptorDim + j] =
        (newIdentities![k * c.descriptorDim + j] - mean[j]) / std[j];
    }
  const rowCount = own.length;
  const N = rowCount * cols;
  // row i, column j: the row's own factors with column j's change
  const rep = (a: Float32Array, d: number, edit?: (v: Float32Array, j: number) => void) => {
    const out = new Float32Array(N * d);
    own.forEach((_, i) => {
      for (let j = 0; j < cols; j++) {
        const v = a.slice(i * d, (i + 1) * d);
        edit?.(v, j);
        out.set(v, (i * cols + j) * d);
      }
    });
    return out;
  };
  const shift = (index: number, column: number) => (v: Float32Array, j: number) => {
    if (j === column) v[index] -= SHIFT;
    if (j === column + 1) v[index] += SHIFT;
  };
  // one z per row (an identity's picture), repeated along the row
  const zRows = randn([rowCount, c.zDim], 0, 1, new Generator(seed));
  const z = rep(Float32Array.from(await zRows.toArray()), c.zDim);
  zRows.dispose();
  const images = scope(() =>
    noGrad(() =>
      G.withFixedNoise(new Generator(seed + 1), () =>
        G.forward({
          identity: G.identityCode(tensor(rep(f.descriptor, c.descriptorDim), [N, c.descriptorDim])),
          expression: tensor(rep(f.expression, c.expDim, shift(0, 1)), [N, c.expDim]),
          pose: tensor(rep(f.pose, 3, shift(0, 3)), [N, 3]),
          lighting: tensor(rep(f.lighting, c.lightDim, shift(LIGHT_LR, 5)), [N, c.lightDim]),
          z: tensor(z, [N, c.zDim]),
        }),
      ),
    ),
  );
  const fake = await images.toArray();
  images.dispose();
  const tiles: RgbaImage[] = [];
  own.forEach((k, i) => {
    tiles.push(
      i < picked.length
        ? toRgba(data.cache.pixels, data.rows[k] * 3 * R * R, R, 'u8')
        : toRgba(new Float32Array(3 * R * R), 0, R, 'unit'), // a new identity: no real image (grey)
    );
    for (let j = 0; j < cols; j++) tiles.push(toRgba(fake, (i * cols + j) * 3 * R * R, R, 'unit'));
  });
  return tileImages(tiles, GRID_COLUMNS.length);
}

/** Loss curves of a generator run's log records against kimg. */
export function ganCurves(
  records: readonly { type: string; step: number; [k: string]: unknown }[],
): RgbaImage {
  // (kimg, value) of `key` in the records of one type
  const pointsOf = (type: string, key: string) =>
    records.flatMap((r) =>
      r.type === type && Number.isFinite(r[key]) && Number.isFinite(r.kimg)
        ? [[r.kimg as number, r[key] as number] as const]
        : [],
    );
  const points = (key: string) => pointsOf('train', key);
  const factorPoints: Series[] = [
    ['identity', 'f_id'],
    ['expression', 'f_exp'],
    ['pose', 'f_pose'],
    ['lighting', 'f_light'],
  ].map(([name, key]) => ({ name, points: points(key) }));
  const fd = pointsOf('val', 'fd'),
    rejected = pointsOf('val', 'different_rejected');
  const panel = (title: string, series: Series[]) =>
    lineChart({ title, xLabel: 'kimg', series, width: 640, height: 260 });
  return stackImages([
    panel('Logistic losses', [
      { name: 'D', points: points('loss_d') },
      { name: 'G', points: points('loss_g') },
    ]),
    panel('Reconstruction (L1, low resolution)', [{ name: 'recon', points: points('recon') }]),
    panel('R1 penalty (squared gradient norm)', [{ name: 'r1', points: points('r1') }]),
    ...(factorPoints.some((s) => s.points.length)
      ? [panel('Factor loss read back by the student (MSE, standardized)', factorPoints)]
      : []),
    ...(fd.length
      ? [panel('Frechet distance to held-out real faces (dlib descriptors)', [{ name: 'FD', points: fd }])]
      : []),
    ...(rejected.length
      ? [
          panel("Pairs of new people dlib tells apart (distance >= 0.6; the FD probe's images)", [
            { name: 'rejected', points: rejected },
          ]),
        ]
      : []),
  ]);
}
