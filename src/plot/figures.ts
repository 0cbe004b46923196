/**
 * The two figures the trainer and the evaluator write.
 *
 * trainingCurves: ONE image, panels stacked top to bottom, each 640 x 300:
 *   1. training loss vs step; with 100 or more values also their running mean over the last
 *      n/50 steps (the raw values are drawn pale behind it);
 *   2. validation accuracy vs step, a dot on every evaluation;
 *   3. learning rate vs step, only when some entry has `lr`.
 * Entries are sorted by step; missing or non-finite values are skipped. A panel without any
 * value says "no data". All panels share one step axis: the nice-tick range (axis.ts) covering
 * every step of the log, and the same left edge of the plot area, so that the panels line up.
 *
 * rocFigure: TAR vs FAR with FAR on a log axis, from the decade of the smallest non-zero FAR
 * (clamped to 1e-6 .. 1e-2; 1e-4 when there is none) to 1, TAR from 0 to 1, and the chance
 * line TAR = FAR. Points with FAR = 0 cannot be placed on a log axis and are left out.
 */
import { chartLayout, lineChart, type ChartSpec } from './chart.js';
import { niceTicks, pow10 } from './axis.js';
import { type Color, type Point, type RgbaImage } from './raster.js';

export interface TrainingLogEntry {
  step: number;
  loss?: number;
  lr?: number;
  val_accuracy?: number;
}

const BLUE: Color = [0, 114, 178];
const PALE_BLUE: Color = [160, 200, 226];
const GREEN: Color = [0, 158, 115];
const ORANGE: Color = [213, 94, 0];

const PANEL_W = 640,
  PANEL_H = 300;

/** 4 significant digits, without a trailing exponent mess for ordinary values. */
const short = (v: number) =>
  Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? String(Number(v.toPrecision(4))) : v.toExponential(2);

/** Mean of the last k values (fewer at the start). */
function runningMean(points: Point[], k: number): Point[] {
  let sum = 0;
  return points.map(([x, y], i) => {
    sum += y - (i >= k ? points[i - k][1] : 0);
    return [x, sum / Math.min(i + 1, k)];
  });
}

export function trainingCurves(log: readonly TrainingLogEntry[]): RgbaImage {
  const sorted = [...log].sort((a, b) => a.step - b.step);
  const column = (key: 'loss' | 'lr' | 'val_accuracy'): Point[] =>
    sorted.flatMap((e) =>
      Number.isFinite(e.step) && Number.isFinite(e[key]) ? [[e.step, e[key] as number] as const] : [],
    );
  const loss = column('loss'),
    acc = column('val_accuracy'),
    lr = column('lr');
  let first = Infinity,
    last = -Infinity; // a loop, not Math.min(...): logs can be long
  for (const series of [loss, acc, lr])
    for (const [step] of series) [first, last] = [Math.min(first, step), Math.max(last, step)];
  const ticks = first <= last ? niceTicks(first, last, 10) : undefined;
  const common = {
    xLabel: 'step',
    width: PANEL_W,
    height: PANEL_H,
    xRange: ticks && ([ticks[0], ticks[ticks.length - 1]] as const),
  };

  const lossSeries = [{ name: 'loss', points: loss, color: BLUE }];
  if (loss.length >= 100) {
    const k = Math.round(loss.length / 50);
    lossSeries[0].color = PALE_BLUE;
    lossSeries.push({ name: `mean of last ${k}`, points: runningMean(loss, k), color: BLUE });
  }
  let best = acc[0];
  for (const p of acc) if (p[1] > best[1]) best = p;
  const specs: ChartSpec[] = [
    {
      title: loss.length ? `Training loss (last ${short(loss[loss.length - 1][1])})` : 'Training loss',
      yLabel: 'loss',
      series: lossSeries,
      ...common,
    },
    {
      title: best ? `Validation accuracy (best ${short(best[1])} at step ${best[0]})` : 'Validation accuracy',
      yLabel: 'accuracy',
      series: [{ name: 'validation', points: acc, color: GREEN, markers: true }],
      ...common,
    },
  ];
  if (lr.length > 0)
    specs.push({
      title: 'Learning rate',
      yLabel: 'lr',
      series: [{ name: 'lr', points: lr, color: ORANGE }],
      ...common,
    });
  const minLeft = Math.max(...specs.map((spec) => chartLayout(spec).plot.x));
  return stackImages(specs.map((spec) => lineChart({ ...spec, minLeft })));
}

export interface RocCurve {
  far: ArrayLike<number>;
  tar: ArrayLike<number>;
}

export function rocFigure(roc: RocCurve, label: string, auc: number): RgbaImage {
  if (roc.far.length !== roc.tar.length)
    throw new Error(`rocFigure: ${roc.far.length} FAR values but ${roc.tar.length} TAR values`);
  const points: Point[] = Array.from({ length: roc.far.length }, (_, i) => [roc.far[i], roc.tar[i]]);
  let minFar = Infinity;
  for (const [far] of points) if (far > 0 && far < minFar) minFar = far;
  const lo = Number.isFinite(minFar)
    ? pow10(Math.min(-2, Math.max(-6, Math.floor(Math.log10(minFar) + 1e-9))))
    : 1e-4;
  return lineChart({
    title: `ROC: ${label}`,
    xLabel: 'FAR (false accept rate, log scale)',
    yLabel: 'TAR (true accept rate)',
    series: [{ name: `${label} (AUC ${Number.isFinite(auc) ? auc.toFixed(4) : 'n/a'})`, points }],
    width: 640,
    height: 480,
    xLog: true,
    xRange: [lo, 1],
    yRange: [0, 1],
    diagonal: true,
    diagonalName: 'chance (TAR = FAR)',
  });
}

/** The images one under the other, left-aligned, on white where one is narrower. */
export function stackImages(images: readonly RgbaImage[]): RgbaImage {
  if (images.length === 0) throw new Error('stackImages: no images');
  const width = Math.max(...images.map((im) => im.width));
  const height = images.reduce((h, im) => h + im.height, 0);
  const rgba = new Uint8Array(width * height * 4).fill(255);
  let y = 0;
  for (const im of images) {
    for (let j = 0; j < im.height; j++)
      rgba.set(im.rgba.subarray(j * im.width * 4, (j + 1) * im.width * 4), (y + j) * width * 4);
    y += im.height;
  }
  return { width, height, rgba };
}
