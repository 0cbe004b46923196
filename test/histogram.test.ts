/**
 * Histograms (src/plot/histogram.ts): counting into bins (edges, the closed last bin, values
 * outside a given range, non-finite values, a constant), the step outline drawn where the
 * counts say, and tiling charts into a grid. No GPU.
 */
import { describe, expect, it } from 'vitest';
import { chartLayout } from '../src/plot/chart.js';
import { axisMap } from '../src/plot/axis.js';
import { histogram, histogramChart, tileImages } from '../src/plot/histogram.js';
import { Canvas } from '../src/plot/raster.js';

describe('histogram', () => {
  it('counts values into equal bins, the maximum into the last', () => {
    const h = histogram([0, 0.1, 0.5, 0.99, 1, 2, 3, 4], 4);
    expect(h.edges).toEqual([0, 1, 2, 3, 4]);
    expect(h.counts).toEqual([4, 1, 1, 2]);
    expect([h.outside, h.skipped]).toEqual([0, 0]);
  });

  it('counts values outside a given range and non-finite values apart', () => {
    const h = histogram([-1, 0, 5, 9.99, 10, 11, NaN, Infinity], 2, [0, 10]);
    expect(h.counts).toEqual([1, 3]);
    expect(h.outside).toBe(2);
    expect(h.skipped).toBe(2);
  });

  it('widens a constant and names bad arguments', () => {
    expect(histogram([3, 3, 3], 2).edges).toEqual([2.5, 3, 3.5]);
    expect(histogram([3, 3, 3], 2).counts).toEqual([0, 3]);
    expect(histogram([], 3).counts).toEqual([0, 0, 0]);
    expect(() => histogram([1], 0)).toThrow(/bins must be an integer >= 1, got 0/);
    expect(() => histogram([1], 2, [1, 1])).toThrow(/range must be finite \[lo, hi\] with lo < hi/);
  });

  it('draws the step outline at the counts', () => {
    const h = histogram([0.5, 1.5, 1.5, 1.5, 2.5, 2.5], 3, [0, 3]); // counts 1, 3, 2
    const spec = { width: 320, height: 200 };
    const image = histogramChart(h, spec);
    expect([image.width, image.height]).toEqual([320, 200]);
    // the same layout the chart used: x [0, 3], y [0, 3 * 1.05]
    const L = chartLayout({
      ...spec,
      series: [{ name: 'count', points: [] }],
      xRange: [0, 3],
      yRange: [0, 3.15],
    });
    const blue = (x: number, y: number) => {
      const k = (Math.floor(y) * image.width + Math.floor(x)) * 4;
      return image.rgba[k + 2] > 150 && image.rgba[k] < 100;
    };
    // the top of each bar, at the middle of its bin
    h.counts.forEach((count, i) => {
      expect(blue(axisMap(L.x, i + 0.5), axisMap(L.y, count)), `bar ${i}`).toBe(true);
      // and nothing drawn half-way up an empty part of the bar
      expect(blue(axisMap(L.x, i + 0.5), axisMap(L.y, count / 2)), `inside bar ${i}`).toBe(false);
    });
  });

  it('tiles images into a grid', () => {
    const a = new Canvas(3, 2, [255, 0, 0]);
    const b = new Canvas(2, 3, [0, 255, 0]);
    const grid = tileImages([a, b, a], 2);
    expect([grid.width, grid.height]).toEqual([6, 6]);
    const px = (x: number, y: number) => Array.from(grid.rgba.subarray((y * 6 + x) * 4, (y * 6 + x) * 4 + 3));
    expect(px(0, 0)).toEqual([255, 0, 0]);
    expect(px(3, 2)).toEqual([0, 255, 0]);
    expect(px(5, 2)).toEqual([255, 255, 255]); // b is narrower than its cell
    expect(px(2, 4)).toEqual([255, 0, 0]);
    expect(px(4, 4)).toEqual([255, 255, 255]); // no third cell in the second row
    expect(() => tileImages([], 2)).toThrow(/no images/);
  });
});
