/**
 * A bar chart with error bars (an experiment's arms: accuracy +- the folds' std). Each bar is
 * drawn from the bottom of the value axis to its value, its error bar from value - error to
 * value + error, its value printed above and its label below. The value axis spans the bars'
 * extent with error (or `yRange`), widened to nice ticks: accuracies near 0.9 are compared on
 * an axis that starts near them, not at 0, and the title says so by showing the axis.
 */
import { axisMap, niceTicks, formatTick, type Axis } from './axis.js';
import { PALETTE } from './chart.js';
import { Canvas, textWidth, type Color, type RgbaImage } from './raster.js';

export interface Bar {
  label: string;
  value: number;
  /** Half-length of the error bar (e.g. a standard deviation); none if absent. */
  error?: number;
  color?: Color;
}

export interface BarChartSpec {
  title?: string;
  yLabel?: string;
  bars: readonly Bar[];
  yRange?: readonly [number, number];
  /** How a value is printed above its bar; default 4 significant digits. */
  format?: (v: number) => string;
  width?: number;
  height?: number;
}

const INK: Color = [33, 33, 33];
const FRAME: Color = [90, 90, 90];
const GRID: Color = [224, 224, 224];

export function barChart(spec: BarChartSpec): RgbaImage {
  const { bars } = spec;
  if (bars.length === 0) throw new Error('barChart: no bars');
  for (const b of bars)
    if (!Number.isFinite(b.value) || (b.error !== undefined && !(b.error >= 0)))
      throw new Error(`barChart: bar '${b.label}' has value ${b.value} and error ${b.error}`);
  const titleWidth = spec.title ? textWidth(spec.title, 2) + 24 : 0;
  const width = spec.width ?? Math.max(360, 90 * bars.length + 80, titleWidth);
  const height = spec.height ?? 360;
  const lo = Math.min(...bars.map((b) => b.value - (b.error ?? 0)));
  const hi = Math.max(...bars.map((b) => b.value + (b.error ?? 0)));
  const span = hi - lo || Math.abs(hi) || 1;
  const ticks = niceTicks(...(spec.yRange ?? ([lo - 0.3 * span, hi + 0.15 * span] as const)));
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
  const [y0, y1] = [ticks[0], ticks[ticks.length - 1]];
  const canvas = new Canvas(width, height);
  const left = 16 + Math.max(...ticks.map((t) => textWidth(formatTick(t, step)))) + 8,
    top = spec.title ? 46 : 24,
    bottom = height - 30,
    right = width - 12;
  const yAxis: Axis = { lo: y0, hi: y1, p0: bottom, p1: top, log: false };
  const py = (v: number) => Math.round(axisMap(yAxis, v));
  if (spec.title)
    canvas.text(Math.round((width - textWidth(spec.title, 2)) / 2), 6, spec.title, INK, { scale: 2 });
  for (const t of ticks) {
    canvas.fillRect(left, py(t), right - left, 1, GRID);
    const label = formatTick(t, step);
    canvas.text(left - 6 - textWidth(label), py(t) - 3, label, INK);
  }
  if (spec.yLabel) canvas.text(left, top - 16, spec.yLabel, INK);
  const slot = (right - left) / bars.length;
  const format = spec.format ?? ((v: number) => v.toPrecision(4));
  bars.forEach((b, i) => {
    const x = Math.round(left + i * slot + slot * 0.2),
      w = Math.max(1, Math.round(slot * 0.6));
    const v = Math.min(Math.max(b.value, y0), y1);
    canvas.fillRect(x, py(v), w, bottom - py(v), b.color ?? PALETTE[i % PALETTE.length]);
    if (b.error) {
      const cx = x + Math.floor(w / 2);
      const [e0, e1] = [py(Math.max(y0, b.value - b.error)), py(Math.min(y1, b.value + b.error))];
      canvas.fillRect(cx, e1, 1, e0 - e1 + 1, INK);
      canvas.fillRect(cx - 4, e1, 9, 1, INK);
      canvas.fillRect(cx - 4, e0, 9, 1, INK);
    }
    const text = format(b.value);
    canvas.text(
      x + Math.round((w - textWidth(text)) / 2),
      py(Math.min(y1, b.value + (b.error ?? 0))) - 12,
      text,
      INK,
    );
    canvas.text(x + Math.round((w - textWidth(b.label)) / 2), bottom + 8, b.label, INK);
  });
  canvas.strokeRect(left - 1, top - 1, right - left + 2, bottom - top + 2, FRAME);
  return canvas;
}
