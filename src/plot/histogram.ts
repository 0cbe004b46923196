/**
 * Histograms: counting values into equal bins, and drawing the counts as a step outline on a
 * line chart (chart.ts). Also tileImages, to lay several charts out as a grid.
 *
 * Bins: `bins` equal intervals [lo + i w, lo + (i + 1) w), w = (hi - lo) / bins, the last one
 * closed ([.., hi]) so that the maximum is counted. Range: the given [lo, hi], else the finite
 * values' [min, max] (a constant c gives [c - 0.5, c + 0.5]). Values outside a given range are
 * counted in `outside`, non-finite ones in `skipped`; neither is drawn.
 *
 * Drawing: the outline (e0, 0), (e0, c0), (e1, c0), (e1, c1), ..., (en, c(n-1)), (en, 0), the
 * count axis from 0 to the largest count (nice ticks above it).
 */
import { lineChart } from './chart.js';
import type { Color, Point, RgbaImage } from './raster.js';

export interface Histogram {
  /** bins + 1 increasing edges. */
  edges: number[];
  counts: number[];
  /** Finite values outside [edges[0], edges[bins]] (only with a given range). */
  outside: number;
  /** Non-finite values. */
  skipped: number;
}

export function histogram(
  values: ArrayLike<number>,
  bins: number,
  range?: readonly [number, number],
): Histogram {
  if (!(Number.isInteger(bins) && bins >= 1))
    throw new RangeError(`histogram: bins must be an integer >= 1, got ${bins}`);
  if (range && !(Number.isFinite(range[0]) && Number.isFinite(range[1]) && range[0] < range[1]))
    throw new RangeError(`histogram: range must be finite [lo, hi] with lo < hi, got [${range}]`);
  let skipped = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) skipped++;
    else [min, max] = [Math.min(min, v), Math.max(max, v)];
  }
  let [lo, hi] = range ?? (min <= max ? [min, max] : [0, 1]);
  if (lo === hi) [lo, hi] = [lo - 0.5, hi + 0.5];
  const w = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + i * w));
  const counts = new Array<number>(bins).fill(0);
  let outside = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo || v > hi) {
      outside++;
      continue;
    }
    counts[Math.min(bins - 1, Math.floor((v - lo) / w))]++;
  }
  return { edges, counts, outside, skipped };
}

export interface HistogramChartSpec {
  title?: string;
  xLabel?: string;
  /** Default 320 x 200. */
  width?: number;
  height?: number;
  color?: Color;
}

/** The histogram's step outline on a chart; y is the count. */
export function histogramChart(h: Histogram, spec: HistogramChartSpec = {}): RgbaImage {
  const n = h.counts.length;
  const points: Point[] = [[h.edges[0], 0]];
  for (let i = 0; i < n; i++) points.push([h.edges[i], h.counts[i]], [h.edges[i + 1], h.counts[i]]);
  points.push([h.edges[n], 0]);
  const top = Math.max(1, ...h.counts);
  return lineChart({
    title: spec.title,
    xLabel: spec.xLabel,
    series: [{ name: 'count', points, color: spec.color, width: 1.5 }],
    width: spec.width ?? 320,
    height: spec.height ?? 200,
    xRange: [h.edges[0], h.edges[n]],
    yRange: [0, top * 1.05],
    legend: false,
  });
}

/** Images in a grid of `columns`, row by row, each in a cell as large as the largest; white elsewhere. */
export function tileImages(images: readonly RgbaImage[], columns: number): RgbaImage {
  if (images.length === 0) throw new Error('tileImages: no images');
  if (!(Number.isInteger(columns) && columns >= 1))
    throw new RangeError(`tileImages: columns must be an integer >= 1, got ${columns}`);
  const cw = Math.max(...images.map((im) => im.width));
  const ch = Math.max(...images.map((im) => im.height));
  const cols = Math.min(columns, images.length);
  const rows = Math.ceil(images.length / cols);
  const width = cw * cols;
  const rgba = new Uint8Array(width * ch * rows * 4).fill(255);
  images.forEach((im, k) => {
    const x = (k % cols) * cw;
    const y = Math.floor(k / cols) * ch;
    for (let j = 0; j < im.height; j++)
      rgba.set(im.rgba.subarray(j * im.width * 4, (j + 1) * im.width * 4), ((y + j) * width + x) * 4);
  });
  return { width, height: ch * rows, rgba };
}
