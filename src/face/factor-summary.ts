/**
 * The summary of a factors file (factors-file.ts): a few numbers (ranges of yaw, pitch and roll,
 * how many faces are flagged and why) and one image of histograms, 4 columns x 3 rows:
 *
 *   yaw | pitch | roll | pose fit error
 *   expression code 1 .. 4 (complete files)
 *   lighting a (brightness), b (left-right gradient), c (top-bottom gradient) | top expression
 *
 * Only faces of quality 0 enter the distributions; the title says how many were left out. The
 * last panel counts each face's most probable expression (bins 0..6 in the order of the
 * metadata's `expressions`). No Node imports.
 */
import { histogram, histogramChart, tileImages } from '../plot/histogram.js';
import { Canvas, type RgbaImage } from '../plot/raster.js';
import { explainedFraction } from './expression.js';
import type { FactorsTable } from './factors-file.js';
import { qualityReasons } from './measure-faces.js';

const BINS = 40;

export interface SummaryNumbers {
  /** [min, max] over faces of quality 0 (degrees). */
  yaw: [number, number];
  pitch: [number, number];
  roll: [number, number];
  /** [5th, 95th] percentiles. */
  yaw5: [number, number];
  pitch5: [number, number];
  roll5: [number, number];
  flagged: number;
  /** Faces per quality reason (a face may have several). */
  reasons: Record<string, number>;
  /** Of the expression residuals' variance, the fraction the code keeps (NaN without a code). */
  explained: number;
}

/** Column `k` of an (N, width) array, for the rows that pass `keep`. */
function column(data: Float32Array, width: number, k: number, keep: (r: number) => boolean, n: number) {
  const out: number[] = [];
  for (let r = 0; r < n; r++) if (keep(r)) out.push(data[r * width + k]);
  return out;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(p * (sorted.length - 1))))];
}

export function summaryNumbers(t: FactorsTable): SummaryNumbers {
  const good = (r: number) => t.columns.quality[r] === 0;
  const angle = (k: number) => {
    const v = column(t.columns.pose, 3, k, good, t.done)
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    return {
      range: [v[0] ?? NaN, v[v.length - 1] ?? NaN] as [number, number],
      p: [percentile(v, 0.05), percentile(v, 0.95)] as [number, number],
    };
  };
  const [yaw, pitch, roll] = [0, 1, 2].map(angle);
  const reasons: Record<string, number> = {};
  let flagged = 0;
  for (let r = 0; r < t.done; r++) {
    const q = t.columns.quality[r];
    if (q) flagged++;
    for (const name of qualityReasons(q)) reasons[name] = (reasons[name] ?? 0) + 1;
  }
  return {
    yaw: yaw.range,
    pitch: pitch.range,
    roll: roll.range,
    yaw5: yaw.p,
    pitch5: pitch.p,
    roll5: roll.p,
    flagged,
    reasons,
    explained: t.expression ? explainedFraction(t.expression.model) : NaN,
  };
}

/** The summary image (see the header). */
export function factorSummary(t: FactorsTable): RgbaImage {
  const good = (r: number) => t.columns.quality[r] === 0;
  const n = t.done;
  const panel = (values: number[], title: string, xLabel: string) =>
    histogramChart(histogram(values, BINS), { title, xLabel, width: 300, height: 190 });
  const panels: RgbaImage[] = [
    panel(column(t.columns.pose, 3, 0, good, n), 'yaw', 'degrees (+: turned to their left)'),
    panel(column(t.columns.pose, 3, 1, good, n), 'pitch', 'degrees (+: looking up)'),
    panel(column(t.columns.pose, 3, 2, good, n), 'roll', 'degrees (+: clockwise)'),
    panel(column(t.columns.pose_error, 1, 0, good, n), 'pose error', 'pixels (mean reprojection)'),
  ];
  const k = t.expression?.model.variances.length ?? 0;
  for (let c = 0; c < 4; c++)
    panels.push(
      c < k
        ? panel(column(t.expression!.code, k, c, good, n), `expression ${c + 1}`, 'code, inter-ocular units')
        : panel([], `expression ${c + 1}`, 'not fitted (partial file)'),
    );
  const light = ['a: brightness', 'b: left to right', 'c: top to bottom'];
  light.forEach((title, c) =>
    panels.push(
      panel(
        column(t.columns.lighting, 6, c, good, n),
        `light ${title.slice(0, 1)}`,
        `lighting code ${title}`,
      ),
    ),
  );
  const top: number[] = [];
  for (let r = 0; r < n; r++) {
    if (!good(r)) continue;
    const p = t.columns.expression_probs.subarray(r * 7, r * 7 + 7);
    top.push(p.indexOf(Math.max(...p)));
  }
  const names = (() => {
    try {
      return (JSON.parse(t.info.expressions ?? '[]') as string[]).map((s) => s.slice(0, 3)).join(' ');
    } catch {
      return '';
    }
  })();
  panels.push(
    histogramChart(histogram(top, 7, [-0.5, 6.5]), {
      title: 'top expression',
      xLabel: names || 'expression index',
      width: 300,
      height: 190,
    }),
  );
  const grid = tileImages(panels, 4);
  // a title line above the grid
  const canvas = new Canvas(grid.width, grid.height + 24);
  canvas.rgba.set(grid.rgba, grid.width * 24 * 4);
  const flagged = n - Array.from({ length: n }, (_, r) => r).filter(good).length;
  canvas.text(
    10,
    8,
    `${n} faces${t.complete ? '' : ` (partial: ${n} of ${t.total})`}; ${flagged} flagged by quality and left out`,
    [33, 33, 33],
  );
  return { width: canvas.width, height: canvas.height, rgba: canvas.rgba };
}
