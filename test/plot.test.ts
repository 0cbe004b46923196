/**
 * The plot rasterizer: pixels, lines, text, ticks, line charts, figures and PNG files.
 * Oracle: hand-computed pixels and axis mappings, and a PNG round trip through pngjs.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { Canvas, clipSegment, textWidth, type Color, type RgbaImage } from '../src/plot/raster.js';
import { axisMap, formatLogTick, formatPow10, formatTick, logTicks, niceTicks } from '../src/plot/axis.js';
import { chartLayout, INSET, lineChart, PALETTE, type ChartSpec } from '../src/plot/chart.js';
import { barChart } from '../src/plot/bar-chart.js';
import { rocFigure, stackImages, trainingCurves } from '../src/plot/figures.js';
import { encodePng, writePng } from '../src/plot/png-node.js';

const RED: Color = [200, 0, 0];
const WHITE = [255, 255, 255, 255];

const dir = mkdtempSync(join(tmpdir(), 'synface-plot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The set of "x,y" of pixels that are not white. */
function inked(c: Canvas): Set<string> {
  const s = new Set<string>();
  for (let y = 0; y < c.height; y++)
    for (let x = 0; x < c.width; x++) if (c.getPixel(x, y).some((v, k) => v !== WHITE[k])) s.add(`${x},${y}`);
  return s;
}
const cells = (list: [number, number][]) => new Set(list.map(([x, y]) => `${x},${y}`));
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

function pixel(im: RgbaImage, x: number, y: number): number[] {
  const i = (y * im.width + x) * 4;
  return Array.from(im.rgba.subarray(i, i + 4));
}

describe('raster', () => {
  it('fillRect fills exactly its pixels', () => {
    const c = new Canvas(10, 8);
    c.fillRect(2, 3, 4, 2, RED);
    expect(inked(c)).toEqual(
      cells(
        range(2, 5).flatMap(
          (x) =>
            [
              [x, 3],
              [x, 4],
            ] as [number, number][],
        ),
      ),
    );
    expect(c.getPixel(2, 3)).toEqual([200, 0, 0, 255]);
  });

  it('strokeRect draws the border only', () => {
    const c = new Canvas(6, 6);
    c.strokeRect(1, 1, 4, 3, RED);
    expect(inked(c)).toEqual(
      cells([
        [1, 1],
        [2, 1],
        [3, 1],
        [4, 1],
        [1, 3],
        [2, 3],
        [3, 3],
        [4, 3],
        [1, 2],
        [4, 2],
      ]),
    );
  });

  it('horizontal and vertical lines cover exactly their pixels, anti-aliased or not', () => {
    for (const antialias of [true, false]) {
      const h = new Canvas(10, 6);
      h.line(2.5, 3.5, 7.5, 3.5, RED, { antialias });
      expect(inked(h)).toEqual(cells(range(2, 7).map((x) => [x, 3])));
      for (const x of range(2, 7)) expect(h.getPixel(x, 3)).toEqual([200, 0, 0, 255]);
      const v = new Canvas(10, 8);
      v.line(4.5, 1.5, 4.5, 6.5, RED, { antialias });
      expect(inked(v)).toEqual(cells(range(1, 6).map((y) => [4, y])));
    }
  });

  it('a plain line of width 2 covers two rows; a width-2 anti-aliased line on a pixel border too', () => {
    const a = new Canvas(8, 8);
    a.line(1.5, 3.5, 5.5, 3.5, RED, { antialias: false, width: 2 });
    expect(inked(a)).toEqual(
      cells(
        range(1, 5).flatMap(
          (x) =>
            [
              [x, 3],
              [x, 4],
            ] as [number, number][],
        ),
      ),
    );
    const b = new Canvas(8, 8);
    b.line(1.5, 4, 5.5, 4, RED, { width: 2 }); // rows 3 and 4 at distance 0.5: full coverage
    for (const x of range(1, 5))
      expect([b.getPixel(x, 3), b.getPixel(x, 4)]).toEqual([
        [200, 0, 0, 255],
        [200, 0, 0, 255],
      ]);
    expect(b.getPixel(3, 2)).toEqual(WHITE);
  });

  it("Bresenham's diagonal, dashes, clipping, and breaks at NaN", () => {
    const d = new Canvas(6, 6);
    d.line(0.5, 0.5, 4.5, 4.5, RED, { antialias: false });
    expect(inked(d)).toEqual(cells(range(0, 4).map((i) => [i, i])));

    const dash = new Canvas(10, 3);
    dash.line(0.5, 1.5, 9.5, 1.5, RED, { antialias: false, dash: [2, 2] });
    expect(inked(dash)).toEqual(cells([0, 1, 4, 5, 8, 9].map((x) => [x, 1])));

    const clipped = new Canvas(10, 3);
    clipped.withClip({ x: 3, y: 0, w: 3, h: 3 }, () => clipped.line(-100.5, 1.5, 1e9, 1.5, RED));
    expect(inked(clipped)).toEqual(cells([3, 4, 5].map((x) => [x, 1])));
    expect(clipped.clip).toBeNull();

    const broken = new Canvas(10, 4);
    broken.polyline(
      [
        [0.5, 0.5],
        [5.5, 0.5],
        [NaN, 1],
        [7.5, 2.5],
      ],
      RED,
      { antialias: false },
    );
    expect(inked(broken)).toEqual(cells([...range(0, 5).map((x) => [x, 0] as [number, number]), [7, 2]]));
  });

  it('clipSegment gives the parameter interval inside a rectangle', () => {
    const [t0, t1] = clipSegment([-10, 5], [20, 5], { x: 0, y: 0, w: 10, h: 10 })!;
    expect(t0).toBeCloseTo(10 / 30, 12);
    expect(t1).toBeCloseTo(20 / 30, 12);
    expect(clipSegment([-10, 20], [20, 20], { x: 0, y: 0, w: 10, h: 10 })).toBeNull();
  });

  it('alpha blends over the background', () => {
    const c = new Canvas(2, 1);
    c.fillRect(0, 0, 1, 1, [0, 0, 0, 128]);
    expect(c.getPixel(0, 0)).toEqual([127, 127, 127, 255]); // 255 (1 - 128/255), rounded
  });

  it('rejects bad sizes', () => {
    expect(() => new Canvas(0, 5)).toThrow(/width must be a positive integer, got 0/);
    expect(() => new Canvas(5, -1)).toThrow(/height must be a positive integer, got -1/);
    expect(() => new Canvas(2.5, 5)).toThrow(/width/);
  });
});

describe('text', () => {
  // the glyphs, written out here independently of the font table
  const A = ['.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'];
  const g = ['.....', '.....', '.####', '#...#', '#...#', '#...#', '.####', '....#', '.###.'];
  const bits = (art: string[], x0: number, y0: number, s = 1) =>
    cells(
      art.flatMap((row, r) =>
        [...row].flatMap((ch, c) =>
          ch === '#'
            ? range(0, s * s - 1).map(
                (k) => [x0 + c * s + (k % s), y0 + r * s + Math.floor(k / s)] as [number, number],
              )
            : [],
        ),
      ),
    );

  it('draws the bits of a glyph at scale 1 and 2', () => {
    const c = new Canvas(12, 12);
    c.text(3, 2, 'A', RED);
    expect(inked(c)).toEqual(bits(A, 3, 2));
    const c2 = new Canvas(16, 22);
    c2.text(1, 1, 'g', RED, { scale: 2 });
    expect(inked(c2)).toEqual(bits(g, 1, 1, 2));
  });

  it('places characters 6 pixels apart, and rotates vertical text counter-clockwise', () => {
    const c = new Canvas(20, 10);
    c.text(0, 0, ' A', RED);
    expect(inked(c)).toEqual(bits(A, 6, 0));
    expect(textWidth('AB')).toBe(11);
    expect(textWidth('AB', 2)).toBe(22);
    // 'A' vertical: its column c becomes row (4 - c), its row r becomes column r; the top is at the left
    const v = new Canvas(12, 8);
    v.text(1, 1, 'A', RED, { vertical: true });
    const rotated = cells(
      A.flatMap((row, r) =>
        [...row].flatMap((ch, col) => (ch === '#' ? [[1 + r, 1 + 4 - col] as [number, number]] : [])),
      ),
    );
    expect(inked(v)).toEqual(rotated);
  });

  it('draws a box for a character the font lacks', () => {
    const c = new Canvas(8, 9);
    c.text(0, 0, '\u00e9', RED);
    expect(inked(c).size).toBe(5 + 5 + 5 * 2); // a 5 x 7 outline
  });
});

describe('ticks', () => {
  it('gives 1-2-5 steps covering the range', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.13, 0.87, 6)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-3.7, 12.2, 5)).toEqual([-5, 0, 5, 10, 15]);
    expect(niceTicks(0, 4000, 10)).toEqual([0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000]);
    expect(niceTicks(0.0003, 0.0011, 4)).toEqual([0.0002, 0.0004, 0.0006, 0.0008, 0.001, 0.0012]);
    expect(niceTicks(0.0003, 0.0011, 2)).toEqual([0, 0.0005, 0.001, 0.0015]);
  });

  it('has the 1-2-5 and covering properties on many random ranges', () => {
    let seed = 12345;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let trial = 0; trial < 2000; trial++) {
      const scale = 10 ** Math.floor(rnd() * 16 - 8);
      const a = (rnd() - 0.5) * 20 * scale,
        b = a + rnd() * 10 * scale + 1e-3 * scale;
      const n = 1 + Math.floor(rnd() * 10);
      const t = niceTicks(a, b, n);
      const step = t[1] - t[0];
      const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
      expect([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6)).toBe(true);
      for (let i = 1; i < t.length; i++) expect(Math.abs(t[i] - t[i - 1] - step)).toBeLessThan(1e-9 * step);
      expect(t[0]).toBeLessThanOrEqual(a);
      expect(t[t.length - 1]).toBeGreaterThanOrEqual(b);
      expect(t[0]).toBeGreaterThan(a - step);
      expect(t[t.length - 1]).toBeLessThan(b + step);
      expect(t.length - 1).toBeLessThanOrEqual(n + 1);
      expect((b - a) / step).toBeLessThanOrEqual(n * (1 + 1e-9));
    }
  });

  it('widens a zero-width range and rejects a bad one', () => {
    expect(niceTicks(3, 3, 4)).toEqual([2.6, 2.8, 3, 3.2, 3.4]);
    expect(niceTicks(0, 0, 2)).toEqual([-1, 0, 1]);
    expect(() => niceTicks(2, 1)).toThrow(/bad range/);
    expect(() => niceTicks(NaN, 1)).toThrow(/bad range/);
  });

  it('log ticks, labels, and the axis map', () => {
    expect(logTicks(1e-4, 1)).toEqual([1e-4, 1e-3, 0.01, 0.1, 1]);
    expect(logTicks(1e-4, 1).map(formatPow10)).toEqual(['1e-4', '1e-3', '0.01', '0.1', '1']);
    expect(formatLogTick(0.2)).toBe('0.2');
    expect(formatTick(0.1 + 0.2, 0.1)).toBe('0.3');
    expect(formatTick(0.35, 0.05)).toBe('0.35');
    expect(formatTick(2500, 500)).toBe('2500');
    expect(formatTick(2e-7, 1e-7)).toBe('2e-7');
    expect(formatTick(1500000, 500000)).toBe('1.5e6');
    expect(formatTick(0, 1e-7)).toBe('0');
    expect(axisMap({ lo: 1e-4, hi: 1, log: true, p0: 0, p1: 400 }, 0.01)).toBeCloseTo(200, 9);
    expect(axisMap({ lo: 0, hi: 10, log: false, p0: 300, p1: 100 }, 2.5)).toBeCloseTo(250, 9);
    expect(axisMap({ lo: 1e-4, hi: 1, log: true, p0: 0, p1: 400 }, 0)).toBeNaN();
  });
});

describe('lineChart', () => {
  const BLUE: Color = [0, 0, 255];
  const isBlue = (p: number[]) => p[0] === 0 && p[1] === 0 && p[2] === 255;
  /** The pixel holding data point (x, y), computed from the plot rectangle and the rule in chart.ts. */
  function pixelOf(spec: ChartSpec, x: number, y: number, xLog = false): [number, number] {
    const { plot } = chartLayout(spec);
    const [xlo, xhi] = spec.xRange!,
      [ylo, yhi] = spec.yRange!;
    const t = (v: number) => (xLog ? Math.log10(v) : v);
    const fx = (t(x) - t(xlo)) / (t(xhi) - t(xlo)),
      fy = (y - ylo) / (yhi - ylo);
    return [
      Math.floor(plot.x + INSET + 0.5 + fx * (plot.w - 2 * INSET - 1)),
      Math.floor(plot.y + plot.h - INSET - 0.5 - fy * (plot.h - 2 * INSET - 1)),
    ];
  }

  it('puts a horizontal and a vertical series where the axis mapping says', () => {
    const spec: ChartSpec = {
      title: 'Known lines',
      xLabel: 'x',
      yLabel: 'y',
      xRange: [0, 10],
      yRange: [0, 10],
      series: [
        {
          name: 'y = 6',
          points: [
            [0, 6],
            [10, 6],
          ],
          color: BLUE,
        },
        {
          name: 'x = 3',
          points: [
            [3, 0],
            [3, 10],
          ],
          color: RED,
        },
      ],
    };
    const im = lineChart(spec);
    expect([im.width, im.height, im.rgba.length]).toEqual([640, 400, 640 * 400 * 4]);
    for (const x of [0, 1, 5, 7.5, 10]) {
      const [col, row] = pixelOf(spec, x, 6);
      expect(isBlue(pixel(im, col, row)), `(${x}, 6) at pixel ${col},${row}`).toBe(true);
      expect(isBlue(pixel(im, col, row - 4))).toBe(false);
      expect(isBlue(pixel(im, col, row + 4))).toBe(false);
    }
    for (const y of [0, 2, 4, 8, 10]) {
      const [col, row] = pixelOf(spec, 3, y);
      expect(pixel(im, col, row).slice(0, 3), `(3, ${y})`).toEqual([200, 0, 0]);
      expect(pixel(im, col + 4, row).slice(0, 3)).not.toEqual([200, 0, 0]);
    }
    // nothing of the series outside the plot area (clipping): the line extends to the frame only
    const { plot } = chartLayout(spec);
    const [, row6] = pixelOf(spec, 0, 6);
    expect(isBlue(pixel(im, plot.x - 2, row6))).toBe(false);
    expect(isBlue(pixel(im, plot.x + plot.w + 1, row6))).toBe(false);
  });

  it('clips data outside the range to the plot area', () => {
    const spec: ChartSpec = {
      xRange: [0, 1],
      yRange: [0, 1],
      series: [
        {
          name: 'far out',
          points: [
            [-5, 0.5],
            [50, 0.5],
          ],
          color: BLUE,
        },
      ],
      legend: false,
    };
    const im = lineChart(spec);
    const { plot } = chartLayout(spec);
    const [, row] = pixelOf(spec, 0, 0.5);
    for (let x = 0; x < im.width; x++)
      expect(isBlue(pixel(im, x, row))).toBe(x >= plot.x && x < plot.x + plot.w);
  });

  it('maps a diagonal and a log axis as computed independently', () => {
    const spec: ChartSpec = {
      xRange: [0, 100],
      yRange: [-1, 1],
      series: [
        {
          name: 'd',
          points: [
            [0, -1],
            [100, 1],
          ],
          color: BLUE,
        },
      ],
    };
    const im = lineChart(spec);
    const [col, row] = pixelOf(spec, 50, 0);
    const p = pixel(im, col, row);
    expect(p[2]).toBe(255);
    expect(p[0]).toBeLessThan(60); // coverage >= ~0.79: the pixel centre is within 0.71 of the line
    expect(isBlue(pixel(im, col, row - 8))).toBe(false);

    const log: ChartSpec = {
      xLog: true,
      xRange: [1e-4, 1],
      yRange: [0, 1],
      series: [
        {
          name: 'h',
          points: [
            [1e-3, 0.5],
            [0.1, 0.5],
          ],
          color: BLUE,
        },
      ],
    };
    const li = lineChart(log);
    for (const x of [1e-3, 3e-3, 0.01, 0.05, 0.1]) {
      const [c, r] = pixelOf(log, x, 0.5, true);
      expect(isBlue(pixel(li, c, r)), `FAR ${x}`).toBe(true);
    }
    const [c4, r4] = pixelOf(log, 5e-4, 0.5, true);
    expect(isBlue(pixel(li, c4, r4))).toBe(false);
    expect(chartLayout(log).xTickLabels).toEqual(['1e-4', '1e-3', '0.01', '0.1', '1']);
  });

  it('draws an automatic range out to nice ticks', () => {
    const L = chartLayout({
      series: [
        {
          name: 's',
          points: [
            [3, 0.03],
            [97, 0.93],
          ],
        },
      ],
    });
    expect([L.x.lo, L.x.hi, L.y.lo, L.y.hi]).toEqual([0, 100, 0, 1]);
    expect(L.xTicks[0]).toBe(0);
    expect(L.yTickLabels[L.yTickLabels.length - 1]).toMatch(/^1(\.0+)?$/);
    expect(chartLayout({ series: [], minLeft: 100 }).plot.x).toBe(100);
  });

  it('survives degenerate data and still draws an image', () => {
    const cases: ChartSpec[] = [
      { series: [] },
      { series: [{ name: 'empty', points: [] }] },
      { series: [{ name: 'one', points: [[1, 1]] }] },
      {
        series: [
          {
            name: 'constant',
            points: [
              [0, 2],
              [1, 2],
              [2, 2],
            ],
          },
        ],
      },
      {
        series: [
          {
            name: 'nan',
            points: [
              [NaN, 1],
              [1, NaN],
              [Infinity, 2],
            ],
          },
        ],
      },
      {
        series: [
          {
            name: 'gaps',
            points: [
              [0, 1],
              [1, NaN],
              [2, 3],
              [3, 4],
            ],
          },
        ],
      },
      { series: [{ name: 'zero', points: [[0, 0]] }] },
      {
        xLog: true,
        series: [
          {
            name: 'non-positive x',
            points: [
              [0, 1],
              [-1, 2],
            ],
          },
        ],
      },
      {
        xLog: true,
        series: [
          {
            name: 'single decade',
            points: [
              [0.5, 1],
              [0.5, 2],
            ],
          },
        ],
      },
      {
        xLog: true,
        xRange: [0.2, 0.8],
        series: [
          {
            name: 'under a decade',
            points: [
              [0.3, 1],
              [0.6, 2],
            ],
          },
        ],
      },
      { xRange: [0.21, 0.29], yRange: [0, 1e-9], series: [{ name: 'narrow', points: [[0.25, 5e-10]] }] },
      {
        width: 120,
        height: 90,
        title: 'A title far too long for this small image',
        series: [
          {
            name: 'small',
            points: [
              [0, 0],
              [1, 1],
            ],
          },
        ],
      },
    ];
    for (const spec of cases) {
      const im = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', ...spec });
      expect(im.rgba.length).toBe(im.width * im.height * 4);
      expect(im.rgba.some((v) => v !== 255)).toBe(true);
    }
    // a constant series is visible: its colour appears in the image
    const c = lineChart({
      series: [
        {
          name: 'constant',
          points: [
            [0, 2],
            [1, 2],
          ],
          color: BLUE,
        },
      ],
    });
    let found = false;
    for (let i = 0; i < c.rgba.length; i += 4) found ||= isBlue(Array.from(c.rgba.subarray(i, i + 3)));
    expect(found).toBe(true);
    expect(
      chartLayout({
        series: [
          {
            name: 'constant',
            points: [
              [0, 2],
              [1, 2],
            ],
          },
        ],
      }).y,
    ).toMatchObject({ lo: 1.8, hi: 2.2 });
    // a lone point between NaNs is drawn as a dot
    const spec: ChartSpec = {
      xRange: [0, 4],
      yRange: [0, 4],
      series: [
        {
          name: 'dot',
          points: [
            [0, 0],
            [NaN, NaN],
            [2, 2],
            [NaN, 0],
          ],
          color: BLUE,
        },
      ],
    };
    const [col, row] = pixelOf(spec, 2, 2);
    expect(isBlue(pixel(lineChart(spec), col, row))).toBe(true);
  });

  it('rejects a bad spec with a clear error', () => {
    const series = [
      {
        name: 's',
        points: [
          [0, 0],
          [1, 1],
        ] as [number, number][],
      },
    ];
    expect(() => lineChart({ series, width: 0 })).toThrow(
      /lineChart: width must be a positive integer, got 0/,
    );
    expect(() => lineChart({ series, height: -10 })).toThrow(
      /lineChart: height must be a positive integer, got -10/,
    );
    expect(() => lineChart({ series, width: 100.5 })).toThrow(/width must be a positive integer/);
    expect(() => lineChart({ series, width: 40, height: 40 })).toThrow(/40x40 is too small/);
    expect(() => lineChart({ series, yRange: [1, 1] })).toThrow(
      /yRange must be finite \[min, max\] with min < max/,
    );
    expect(() => lineChart({ series, xRange: [0, NaN] })).toThrow(/xRange/);
    expect(() => lineChart({ series, xLog: true, xRange: [0, 1] })).toThrow(
      /log x axis needs xRange above 0/,
    );
  });
});

describe('barChart', () => {
  /** Rows of column x (from the bottom up) painted in `color`. */
  const column = (img: RgbaImage, x: number, color: Color) => {
    const rows: number[] = [];
    for (let y = 0; y < img.height; y++) {
      const i = 4 * (y * img.width + x);
      if (img.rgba[i] === color[0] && img.rgba[i + 1] === color[1] && img.rgba[i + 2] === color[2])
        rows.push(y);
    }
    return rows;
  };

  it('bar heights are proportional to value minus the axis bottom, each in its palette colour', () => {
    const img = barChart({
      bars: [
        { label: 'a', value: 60 },
        { label: 'b', value: 80 },
        { label: 'c', value: 70 },
      ],
      yRange: [50, 90],
      width: 400,
      height: 300,
    });
    // heights (rows painted) 10 : 30 : 20 above the axis bottom 50
    const heights = [0, 1, 2].map((i) => {
      let best = 0; // the tallest run of this bar's colour over every column
      for (let x = 0; x < img.width; x++) best = Math.max(best, column(img, x, PALETTE[i]).length);
      return best;
    });
    expect(heights[1] / heights[0]).toBeCloseTo(3, 1);
    expect(heights[2] / heights[0]).toBeCloseTo(2, 1);
  });

  it('refuses no bars, a non-finite value and a negative error, naming the bar', () => {
    expect(() => barChart({ bars: [] })).toThrow(/no bars/);
    expect(() => barChart({ bars: [{ label: 'syn', value: NaN }] })).toThrow(/bar 'syn' has value NaN/);
    expect(() => barChart({ bars: [{ label: 'dm', value: 1, error: -1 }] })).toThrow(
      /bar 'dm' has value 1 and error -1/,
    );
  });
});

describe('figures and PNG files', () => {
  it('writes a PNG that reads back with the same size and pixels, leaving no temp file', () => {
    const im = lineChart({
      title: 'png',
      series: [
        {
          name: 's',
          points: [
            [0, 0],
            [1, 1],
          ],
        },
      ],
      width: 200,
      height: 150,
    });
    const path = join(dir, 'sub', 'chart.png');
    writePng(path, im);
    const back = PNG.sync.read(readFileSync(path));
    expect([back.width, back.height]).toEqual([200, 150]);
    expect(new Uint8Array(back.data)).toEqual(im.rgba);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['chart.png']);
    expect(() => encodePng({ width: 2, height: 2, rgba: new Uint8Array(15) })).toThrow(
      /needs 16 bytes, got 15/,
    );
  });

  it('trainingCurves stacks a loss, an accuracy and (with lr) a learning-rate panel', () => {
    const log = Array.from({ length: 300 }, (_, i) => ({
      step: i * 10,
      loss: 5 * Math.exp(-i / 50) + 0.1 * Math.sin(i),
      lr: 0.1,
      ...(i % 50 === 49 ? { val_accuracy: 0.5 + i / 1000 } : {}),
    }));
    expect(trainingCurves(log)).toMatchObject({ width: 640, height: 900 });
    const noLr = trainingCurves(log.map(({ lr, ...e }) => e));
    expect([noLr.width, noLr.height]).toEqual([640, 600]);
    expect(trainingCurves([]).height).toBe(600);
    expect(
      trainingCurves([
        { step: 0, loss: NaN },
        { step: 1, loss: Infinity },
        { step: 2, val_accuracy: 0.5 },
      ]).height,
    ).toBe(600);
  });

  it('rocFigure draws TAR vs log FAR and checks its input', () => {
    const far = [0, 0, 1e-3, 1e-2, 0.1, 1],
      tar = [0, 0.5, 0.7, 0.9, 0.97, 1];
    const im = rocFigure({ far: Float64Array.from(far), tar }, 'test', 0.95);
    expect([im.width, im.height]).toEqual([640, 480]);
    expect(() => rocFigure({ far: [0, 1], tar: [1] }, 'bad', 0.5)).toThrow(/2 FAR values but 1 TAR values/);
    expect(rocFigure({ far: [0, 1], tar: [0, 1] }, 'chance', NaN).width).toBe(640);
  });

  it('stackImages puts images one under the other', () => {
    const a = new Canvas(2, 1, [1, 2, 3]),
      b = new Canvas(3, 2, [4, 5, 6]);
    const s = stackImages([a, b]);
    expect([s.width, s.height]).toEqual([3, 3]);
    expect(pixel(s, 0, 0)).toEqual([1, 2, 3, 255]);
    expect(pixel(s, 2, 0)).toEqual([255, 255, 255, 255]);
    expect(pixel(s, 2, 2)).toEqual([4, 5, 6, 255]);
  });
});
