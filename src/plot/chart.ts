/**
 * Line charts as RGBA images: axes with nice ticks and grid lines, series clipped to the plot
 * area, a legend, a title and axis labels.
 *
 * Layout (chartLayout; all in pixels): the plot area `plot` is framed by a one-pixel line just
 * outside it, and data is clipped to it. The axis ends sit INSET pixels inside it, so that a
 * line or a dot at the end of the range is not cut in half: value x maps to the continuous
 * coordinate
 *   px = plot.x + INSET + 0.5 + f (plot.w - 2 INSET - 1),  f = (x - lo) / (hi - lo)
 * (log10 of x, lo and hi on a log axis): lo at the centre of column plot.x + INSET, hi at the
 * centre of column plot.x + plot.w - 1 - INSET. y the same way upwards, lo at the centre of
 * row plot.y + plot.h - 1 - INSET. Grid lines and ticks sit on the pixel holding the tick's
 * coordinate.
 *
 * Ranges: xRange / yRange when given; otherwise the finite data values (x > 0 on a log axis)
 * rounded out to the covering nice ticks (axis.ts), a log axis to whole decades. No data gives
 * [0, 1] (log: [0.1, 1]) and a "no data" note; a constant gives a widened range (axis.ts widen).
 *
 * Series: points with a non-finite coordinate (and x <= 0 on a log axis) are skipped and break
 * the line; a point alone between breaks is drawn as a dot 3 pixels wider than the line. The
 * legend goes to the corner of the plot where the lines left the fewest pixels.
 */
import {
  axisMap,
  formatLogTick,
  formatTick,
  logMinorTicks,
  logRange,
  logTicks,
  niceTicks,
  type Axis,
} from './axis.js';
import { Canvas, textWidth, type Color, type Point, type Rect, type RgbaImage } from './raster.js';

export interface Series {
  name: string;
  points: readonly Point[];
  /** Default: the next colour of PALETTE. */
  color?: Color;
  /** Line width in pixels; default 2. */
  width?: number;
  dash?: readonly [number, number];
  /** Also mark every point with a dot (for sparse series). */
  markers?: boolean;
}

export interface ChartSpec {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  series: readonly Series[];
  /** Image size; default 640 x 400. */
  width?: number;
  height?: number;
  xRange?: readonly [number, number];
  yRange?: readonly [number, number];
  /** Logarithmic x axis (ticks at powers of ten). */
  xLog?: boolean;
  /** Draw the line y = x (dashed grey; a curve on a log x axis), e.g. chance on a ROC plot. */
  diagonal?: boolean;
  /** Legend name of the diagonal; default "y = x". */
  diagonalName?: string;
  /** Default true when there is at least one series. */
  legend?: boolean;
  /** At least this many pixels left of the plot area (to line up charts stacked one above another). */
  minLeft?: number;
}

export interface ChartLayout {
  plot: Rect;
  x: Axis;
  y: Axis;
  xTicks: number[];
  xTickLabels: string[];
  /** Minor grid values (log axis only). */
  xMinorTicks: number[];
  yTicks: number[];
  yTickLabels: string[];
  titleScale: number;
}

/** Okabe and Ito's colour-blind-safe colours (without yellow, too pale on white), then black. */
export const PALETTE: readonly Color[] = [
  [0, 114, 178],
  [213, 94, 0],
  [0, 158, 115],
  [204, 121, 167],
  [230, 159, 0],
  [86, 180, 233],
  [0, 0, 0],
];

const INK: Color = [33, 33, 33];
const FRAME: Color = [90, 90, 90];
const GRID: Color = [224, 224, 224];
const MINOR_GRID: Color = [242, 242, 242];
const LEGEND_BORDER: Color = [180, 180, 180];
const DIAGONAL: Color = [140, 140, 140];
const PAD = 10; // empty border around everything
const TICK = 4; // tick mark length
const GAP = 4; // between a tick and its label
const LINE = 9; // height of a line of text at scale 1 (with descenders)
const MIN_PLOT = 20;
/** Pixels between the plot frame and the ends of the axes. */
export const INSET = 4;

function checkSpec(spec: ChartSpec): { width: number; height: number } {
  const width = spec.width ?? 640,
    height = spec.height ?? 400;
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0)
      throw new Error(`lineChart: ${name} must be a positive integer, got ${v}`);
  }
  for (const [name, r] of [
    ['xRange', spec.xRange],
    ['yRange', spec.yRange],
  ] as const) {
    if (r && !(Number.isFinite(r[0]) && Number.isFinite(r[1]) && r[0] < r[1]))
      throw new Error(`lineChart: ${name} must be finite [min, max] with min < max, got [${r}]`);
  }
  if (spec.xLog && spec.xRange && !(spec.xRange[0] > 0))
    throw new Error(`lineChart: a log x axis needs xRange above 0, got [${spec.xRange}]`);
  return { width, height };
}

/** Whether a point can be drawn on these axes. */
const usable = (p: Point, xLog: boolean) =>
  Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!xLog || p[0] > 0);

/** [min, max] of coordinate `c` over the usable points, or null if there are none. */
function dataExtent(series: readonly Series[], c: 0 | 1, xLog: boolean): [number, number] | null {
  let lo = Infinity,
    hi = -Infinity;
  for (const s of series)
    for (const p of s.points) if (usable(p, xLog)) [lo, hi] = [Math.min(lo, p[c]), Math.max(hi, p[c])];
  return lo <= hi ? [lo, hi] : null;
}

/** Linear ticks for a range that is fixed (ticks inside it) or automatic (ticks cover the data). */
function linearTicks(
  fixed: readonly [number, number] | undefined,
  data: [number, number] | null,
  maxIntervals: number,
): number[] {
  if (fixed) {
    const [lo, hi] = fixed,
      eps = 1e-9 * (hi - lo);
    // a step up to 2.5x the range / maxIntervals may leave fewer than 2 ticks inside: refine
    for (let n = maxIntervals; ; n *= 2) {
      const inside = niceTicks(lo, hi, n).filter((t) => t >= lo - eps && t <= hi + eps);
      if (inside.length >= 2 || n > 64) return inside;
    }
  }
  const [lo, hi] = data ?? [0, 1];
  return niceTicks(lo, hi, maxIntervals); // widens a constant itself
}

const stepOf = (ticks: number[]) => (ticks.length > 1 ? ticks[1] - ticks[0] : 1);

/** Where everything goes; lineChart draws it. Exported so that tests can check the mapping. */
export function chartLayout(spec: ChartSpec): ChartLayout {
  const { width, height } = checkSpec(spec);
  const xLog = spec.xLog ?? false;
  const titleScale = spec.title && textWidth(spec.title, 2) <= width - 2 * PAD ? 2 : 1;
  const top = PAD + (spec.title ? LINE * titleScale + 6 : 4);
  const bottom = TICK + GAP + LINE + (spec.xLabel ? 6 + LINE : 0) + PAD;
  const plotH = height - top - bottom;

  // y: at most one tick interval per 35 pixels (1-2-5 steps give between 40% and 100% of that)
  const yTicks = linearTicks(
    spec.yRange,
    dataExtent(spec.series, 1, xLog),
    Math.max(1, Math.floor(plotH / 35)),
  );
  const yTickLabels = yTicks.map((t) => formatTick(t, stepOf(yTicks)));
  const yLo = spec.yRange?.[0] ?? yTicks[0],
    yHi = spec.yRange?.[1] ?? yTicks[yTicks.length - 1];
  const left = Math.max(
    spec.minLeft ?? 0,
    PAD + (spec.yLabel ? LINE + 6 : 0) + Math.max(...yTickLabels.map((l) => textWidth(l)), 0) + GAP + TICK,
  );
  const right = PAD + 10; // room for half of the last x tick label
  const plotW = width - left - right;
  if (plotW < MIN_PLOT || plotH < MIN_PLOT)
    throw new Error(
      `lineChart: ${width}x${height} is too small: the plot area inside the labels would be ${plotW}x${plotH} pixels (need ${MIN_PLOT}x${MIN_PLOT})`,
    );

  // x: the most ticks whose labels still fit side by side with 12 pixels between them
  const xData = dataExtent(spec.series, 0, xLog);
  let xTicks: number[] = [],
    xTickLabels: string[] = [],
    xMinorTicks: number[] = [];
  let xLo = 0,
    xHi = 1;
  const fits = (labels: string[], spacing: number) =>
    labels.length < 2 || Math.max(...labels.map((l) => textWidth(l))) + 12 <= spacing;
  if (xLog) {
    [xLo, xHi] = spec.xRange
      ? [spec.xRange[0], spec.xRange[1]]
      : xData
        ? logRange(xData[0], xData[1])
        : [0.1, 1];
    const decades = logTicks(xLo, xHi);
    // less than a decade wide: label the 1..9 x 10^k values instead
    const candidates =
      decades.length >= 2 ? decades : [...decades, ...logMinorTicks(xLo, xHi)].sort((a, b) => a - b);
    const axisW = plotW - 2 * INSET - 1; // pixels from lo to hi
    const decadePx = axisW / Math.log10(xHi / xLo);
    for (let every = 1; ; every++) {
      xTicks = candidates.filter((_, i) => i % every === 0);
      xTickLabels = xTicks.map(formatLogTick);
      const spacing = Math.min(...xTicks.slice(1).map((t, i) => decadePx * Math.log10(t / xTicks[i]))); // narrowest gap
      if (fits(xTickLabels, spacing) || xTicks.length <= 2) break;
    }
    xMinorTicks = decadePx >= 40 ? logMinorTicks(xLo, xHi) : [];
  } else {
    for (let n = Math.max(1, Math.floor(plotW / 50)); n >= 1; n--) {
      xTicks = linearTicks(spec.xRange, xData, n);
      xTickLabels = xTicks.map((t) => formatTick(t, stepOf(xTicks)));
      [xLo, xHi] = spec.xRange ? [spec.xRange[0], spec.xRange[1]] : [xTicks[0], xTicks[xTicks.length - 1]];
      if (fits(xTickLabels, ((plotW - 2 * INSET - 1) * stepOf(xTicks)) / (xHi - xLo))) break;
    }
  }
  const plot = { x: left, y: top, w: plotW, h: plotH };
  return {
    plot,
    x: { lo: xLo, hi: xHi, log: xLog, p0: plot.x + INSET + 0.5, p1: plot.x + plot.w - INSET - 0.5 },
    y: { lo: yLo, hi: yHi, log: false, p0: plot.y + plot.h - INSET - 0.5, p1: plot.y + INSET + 0.5 },
    xTicks,
    xTickLabels,
    xMinorTicks,
    yTicks,
    yTickLabels,
    titleScale,
  };
}

/** Draws the chart described by `spec`; see the top of this file for the layout rules. */
export function lineChart(spec: ChartSpec): RgbaImage {
  const L = chartLayout(spec);
  const { plot } = L;
  const canvas = new Canvas(spec.width ?? 640, spec.height ?? 400);
  const px = (v: number) => axisMap(L.x, v),
    py = (v: number) => axisMap(L.y, v);
  const bottom = plot.y + plot.h; // first row below the plot

  // grid, frame, ticks, tick labels
  for (const t of L.xMinorTicks) canvas.fillRect(Math.floor(px(t)), plot.y, 1, plot.h, MINOR_GRID);
  L.xTicks.forEach((t, i) => {
    const col = Math.floor(px(t));
    canvas.fillRect(col, plot.y, 1, plot.h, GRID);
    canvas.fillRect(col, bottom + 1, 1, TICK, FRAME);
    const label = L.xTickLabels[i],
      w = textWidth(label);
    const x = Math.min(Math.max(col - Math.floor(w / 2), 0), canvas.width - w); // kept inside the image
    canvas.text(x, bottom + 1 + TICK + GAP, label, INK);
  });
  L.yTicks.forEach((t, i) => {
    const row = Math.floor(py(t));
    canvas.fillRect(plot.x, row, plot.w, 1, GRID);
    canvas.fillRect(plot.x - 1 - TICK, row, TICK, 1, FRAME);
    const label = L.yTickLabels[i];
    canvas.text(plot.x - 1 - TICK - GAP - textWidth(label), row - 3, label, INK); // 7-row capitals centred on the row
  });
  canvas.strokeRect(plot.x - 1, plot.y - 1, plot.w + 2, plot.h + 2, FRAME);

  // the data, clipped to the plot area; `before` lets the legend find the emptiest corner
  const before = canvas.rgba.slice();
  const entries: LegendEntry[] = []; // the series in order, then the diagonal
  let diagonal: LegendEntry | undefined;
  canvas.withClip(plot, () => {
    if (spec.diagonal) {
      const n = L.x.log ? 200 : 1; // y = x is a curve on a log x axis: sample it
      const pts: Point[] = [];
      for (let k = 0; k <= n; k++) {
        const v = L.x.log ? L.x.lo * (L.x.hi / L.x.lo) ** (k / n) : L.x.lo + (k / n) * (L.x.hi - L.x.lo);
        pts.push([px(v), py(v)]);
      }
      const style = { width: 1.5, dash: [6, 4] as const };
      canvas.polyline(pts, DIAGONAL, style);
      diagonal = { name: spec.diagonalName ?? 'y = x', color: DIAGONAL, ...style };
    }
    spec.series.forEach((s, i) => {
      const color = s.color ?? PALETTE[i % PALETTE.length];
      const width = s.width ?? 2;
      const pts: Point[] = s.points.map((p) => (usable(p, L.x.log) ? [px(p[0]), py(p[1])] : [NaN, NaN]));
      canvas.polyline(pts, color, { width, dash: s.dash });
      // dots: every point with markers, else the points with no neighbour to connect to
      const lone = (k: number) => !Number.isFinite(pts[k - 1]?.[0]) && !Number.isFinite(pts[k + 1]?.[0]);
      const dots = pts.filter((p, k) => Number.isFinite(p[0]) && (s.markers || lone(k)));
      // a NaN after each point makes it a lone point of the polyline: a dot
      canvas.polyline(
        dots.flatMap((p) => [p, [NaN, NaN] as const]),
        color,
        { width: width + 3 },
      );
      entries.push({ name: s.name, color, width, dash: s.dash, markers: s.markers });
    });
  });
  if (diagonal) entries.push(diagonal);

  if (!spec.series.some((s) => s.points.some((p) => usable(p, L.x.log)))) {
    const note = 'no data';
    canvas.text(plot.x + (plot.w - textWidth(note)) / 2, plot.y + (plot.h - 7) / 2, note, FRAME);
  }
  if ((spec.legend ?? true) && spec.series.length > 0) drawLegend(canvas, plot, entries, before);

  // title and axis labels
  if (spec.title) {
    let title = spec.title;
    while (title.length > 3 && textWidth(title, L.titleScale) > canvas.width - 2 * PAD)
      title = `${title.slice(0, -3)}..`; // too long even at scale 1
    const w = textWidth(title, L.titleScale);
    canvas.text(Math.max(PAD, plot.x + (plot.w - w) / 2), PAD, title, INK, { scale: L.titleScale });
  }
  if (spec.xLabel)
    canvas.text(plot.x + (plot.w - textWidth(spec.xLabel)) / 2, canvas.height - PAD - LINE, spec.xLabel, INK);
  if (spec.yLabel)
    canvas.text(PAD, plot.y + (plot.h - textWidth(spec.yLabel)) / 2, spec.yLabel, INK, { vertical: true });
  return { width: canvas.width, height: canvas.height, rgba: canvas.rgba };
}

interface LegendEntry {
  name: string;
  color: Color;
  width: number;
  dash?: readonly [number, number];
  markers?: boolean;
}

/** A boxed legend in the plot corner where the fewest pixels changed since `before`. */
function drawLegend(canvas: Canvas, plot: Rect, entries: LegendEntry[], before: Uint8Array): void {
  const pad = 5,
    sample = 20,
    rowH = LINE + 3,
    inset = 6;
  const w = pad + sample + 5 + Math.max(...entries.map((e) => textWidth(e.name))) + pad;
  const h = pad + entries.length * rowH - 3 + pad;
  const corners = [
    { x: plot.x + plot.w - inset - w, y: plot.y + inset }, // top right first: ties go there
    { x: plot.x + inset, y: plot.y + inset },
    { x: plot.x + plot.w - inset - w, y: plot.y + plot.h - inset - h },
    { x: plot.x + inset, y: plot.y + plot.h - inset - h },
  ];
  const changed = (c: { x: number; y: number }) => {
    let n = 0;
    for (let j = Math.max(0, c.y); j < Math.min(canvas.height, c.y + h); j++) {
      for (let i = Math.max(0, c.x); i < Math.min(canvas.width, c.x + w); i++) {
        const k = (j * canvas.width + i) * 4;
        if (
          canvas.rgba[k] !== before[k] ||
          canvas.rgba[k + 1] !== before[k + 1] ||
          canvas.rgba[k + 2] !== before[k + 2]
        )
          n++;
      }
    }
    return n;
  };
  const counts = corners.map(changed);
  const at = corners[counts.indexOf(Math.min(...counts))];
  canvas.withClip(plot, () => {
    canvas.fillRect(at.x, at.y, w, h, [255, 255, 255]);
    canvas.strokeRect(at.x, at.y, w, h, LEGEND_BORDER);
    entries.forEach((e, i) => {
      const top = at.y + pad + i * rowH;
      const mid = top + 3.5; // middle of the capitals
      canvas.line(at.x + pad, mid, at.x + pad + sample, mid, e.color, { width: e.width, dash: e.dash });
      if (e.markers)
        canvas.line(at.x + pad + sample / 2, mid, at.x + pad + sample / 2, mid, e.color, {
          width: e.width + 3,
        });
      canvas.text(at.x + pad + sample + 5, top, e.name, INK);
    });
  });
}
