/**
 * Axes: the map from data values to pixels, and tick values with their labels.
 *
 * Linear ticks use "nice" steps, 1, 2 or 5 times a power of ten: the smallest such step that
 * cuts the range into at most `maxIntervals` pieces. The ticks are the step's multiples from
 * the last one at or below the minimum to the first one at or above the maximum, so they
 * cover the range; a chart with an automatic range uses the first and last tick as its limits.
 *
 * Log axes tick at powers of ten, with minor ticks at 2..9 times them.
 */

export interface Axis {
  /** Data values at the two ends; lo < hi (both > 0 on a log axis). */
  lo: number;
  hi: number;
  log: boolean;
  /** Pixel coordinates (continuous, see raster.ts) of lo and hi; p1 < p0 for an upward y axis. */
  p0: number;
  p1: number;
}

/**
 * The pixel coordinate of value v: p0 + f (p1 - p0), f the fraction of the way from lo to hi,
 * measured on log10(v) for a log axis. Values outside [lo, hi] map outside [p0, p1]; a value
 * <= 0 on a log axis (and NaN) gives NaN.
 */
export function axisMap(axis: Axis, v: number): number {
  const t = (u: number) => (axis.log ? (u > 0 ? Math.log10(u) : NaN) : u);
  const f = (t(v) - t(axis.lo)) / (t(axis.hi) - t(axis.lo));
  return axis.p0 + f * (axis.p1 - axis.p0);
}

/** 10^k as the double nearest to the decimal (1e-4, not 1.0000000000000002e-4). */
export function pow10(k: number): number {
  return k >= 0 ? 10 ** k : 1 / 10 ** -k;
}

/** The smallest step of the form {1, 2, 5} x 10^e with span / step <= maxIntervals. */
export function niceStep(span: number, maxIntervals: number): number {
  if (!(span > 0) || !Number.isFinite(span))
    throw new Error(`niceStep: span must be positive and finite, got ${span}`);
  if (!(maxIntervals >= 1)) throw new Error(`niceStep: maxIntervals must be >= 1, got ${maxIntervals}`);
  const raw = span / maxIntervals;
  const e = Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) {
    const step = m * pow10(e);
    if (step >= raw * (1 - 1e-12)) return step; // tolerance: log10 and the division round
  }
  return 10 * pow10(e); // not reached
}

/**
 * Ticks covering [min, max]: multiples of niceStep(max - min, maxIntervals), from the largest
 * one <= min to the smallest one >= max (at most maxIntervals + 2 values). A zero-width range
 * is first widened to v +- 1 for v = 0, else v +- 10% of |v|.
 */
export function niceTicks(min: number, max: number, maxIntervals = 6): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max)
    throw new Error(`niceTicks: bad range [${min}, ${max}]`);
  if (min === max) [min, max] = widen(min);
  const step = niceStep(max - min, maxIntervals);
  // write step = m 10^e so that tick k is k m / 10^-e: one rounding, so 0.3 prints as 0.3
  const e = Math.floor(Math.log10(step) + 1e-9);
  const m = Math.round(step / pow10(e));
  const value = (k: number) => (e >= 0 ? k * m * pow10(e) : (k * m) / pow10(-e));
  const first = Math.floor(min / step + 1e-9),
    last = Math.ceil(max / step - 1e-9);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push(value(k) + 0); // + 0 turns -0 into 0
  return ticks;
}

/** A zero-width range made visible: v +- 1 for v = 0, else v +- 10% of |v|. */
export function widen(v: number): [number, number] {
  const pad = v === 0 ? 1 : Math.abs(v) * 0.1;
  return [v - pad, v + pad];
}

/** Powers of ten in [lo, hi] (lo > 0). */
export function logTicks(lo: number, hi: number): number[] {
  if (!(lo > 0) || !(hi >= lo)) throw new Error(`logTicks: bad range [${lo}, ${hi}]`);
  const ticks: number[] = [];
  for (let k = Math.ceil(Math.log10(lo) - 1e-9); k <= Math.floor(Math.log10(hi) + 1e-9); k++)
    ticks.push(pow10(k));
  return ticks;
}

/** m x 10^k for m = 2..9 inside [lo, hi]: the minor grid of a log axis. */
export function logMinorTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let k = Math.floor(Math.log10(lo)); k < Math.ceil(Math.log10(hi)); k++) {
    for (let m = 2; m <= 9; m++) {
      const v = m * pow10(k);
      if (v >= lo && v <= hi) ticks.push(v);
    }
  }
  return ticks;
}

/** The decades enclosing [min, max] (min > 0): [10^floor(log10 min), 10^ceil(log10 max)], at least one decade. */
export function logRange(min: number, max: number): [number, number] {
  const a = Math.floor(Math.log10(min) + 1e-9);
  const b = Math.max(a + 1, Math.ceil(Math.log10(max) - 1e-9));
  return [pow10(a), pow10(b)];
}

/**
 * The label of tick v on a linear axis with spacing `step`: as many decimals as the step
 * needs (step 0.05 -> "0.35"), or exponent form ("2e-6", "1.5e7") for very small steps or
 * large values.
 */
export function formatTick(v: number, step: number): string {
  const e = Math.floor(Math.log10(step) + 1e-9);
  if (v === 0) return '0';
  if (e >= -5 && Math.abs(v) < 1e6) return v.toFixed(Math.max(0, -e));
  const digits = Math.max(0, Math.floor(Math.log10(Math.abs(v)) + 1e-9) - e);
  const [mantissa, exponent] = v.toExponential(digits).split('e');
  const m = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
  return `${m}e${exponent.replace('+', '')}`;
}

/** The label of 10^k on a log axis: "0.01" to "1000" written out, "1e-4", "1e6" beyond. */
export function formatPow10(v: number): string {
  const k = Math.round(Math.log10(v));
  return k >= -2 && k <= 3 ? String(pow10(k)) : `1e${k}`;
}

/** A log-axis tick label: formatPow10 for powers of ten, else up to 3 significant digits. */
export function formatLogTick(v: number): string {
  const k = Math.round(Math.log10(v));
  return Math.abs(v / pow10(k) - 1) < 1e-9 ? formatPow10(v) : String(Number(v.toPrecision(3)));
}
