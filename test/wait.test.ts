/**
 * The wait predictor that decides how long to sleep before polling the GPU.
 * Oracle: its rule worked out by hand on given histories.
 */
import { describe, expect, it } from 'vitest';
import { FOUND_DONE_MS, WaitPredictor } from '../src/gpu/wait.js';

describe('WaitPredictor', () => {
  it('sleeps 80% of the median of the last three lags, scaled by the pending work', () => {
    const w = new WaitPredictor('predict');
    w.submitted(10);
    expect(w.sleepBefore()).toBe(0); // no history yet
    w.completed(100);
    expect(w.sleepBefore()).toBe(0); // nothing pending
    w.submitted(10);
    expect(w.sleepBefore()).toBeCloseTo(80);
    w.submitted(10); // more work than last time: still capped at the lag's 80%
    expect(w.sleepBefore()).toBeCloseTo(80);
    w.completed(100); // history: 100 ms for 10 dispatches, 100 ms for 20
    w.submitted(5); // guesses 50 and 25: the lower of two
    expect(w.sleepBefore()).toBeCloseTo(20);
    w.completed(20); // history: (100, 10), (100, 20), (20, 5)
    w.submitted(5); // guesses 50, 25, 20: the median is 25
    expect(w.sleepBefore()).toBeCloseTo(20);
    w.completed(10); // history: (100, 20), (20, 5), (10, 5)
    w.submitted(5); // guesses 25, 20, 10
    expect(w.sleepBefore()).toBeCloseTo(16);
    w.completed(10); // history: (20, 5), (10, 5), (10, 5)
    w.submitted(5); // median 10: 8 ms is not worth a timer
    expect(w.sleepBefore()).toBe(0);
  });

  it('does not sleep away one stalled wait (the process stopped for minutes)', () => {
    const w = new WaitPredictor('predict');
    for (let i = 0; i < 3; i++) {
      w.submitted(100);
      w.completed(5000);
    }
    w.submitted(100);
    w.completed(300_000); // stopped for 5 minutes during the wait
    w.submitted(100);
    expect(w.sleepBefore()).toBeCloseTo(4000); // the median of 5000, 5000, 300000
  });

  it('drops an over-long guess: a wait whose await returned at once measured only its sleep', () => {
    const w = new WaitPredictor('predict');
    w.submitted(4);
    w.completed(1000); // heavy work: 250 ms a dispatch
    w.submitted(4); // light work of as many dispatches, done in 30 ms
    const slept = w.sleepBefore();
    expect(slept).toBeCloseTo(800);
    w.completed(slept + 0.2, 0.2); // the await after the sleep found the work done
    w.submitted(4);
    expect(w.sleepBefore()).toBe(0); // no history: this wait awaits at once...
    w.completed(30, undefined); // ...and measures the true lag
    w.submitted(4);
    expect(w.sleepBefore()).toBeCloseTo(24);
  });

  it('keeps predicting when the await after the sleep still waited for the work', () => {
    const w = new WaitPredictor('predict');
    w.submitted(4);
    w.completed(100);
    w.submitted(4);
    expect(w.sleepBefore()).toBeCloseTo(80);
    w.completed(100, 20); // slept 80, then awaited 20 ms: the guess was right
    w.submitted(4);
    expect(w.sleepBefore()).toBeCloseTo(80);
    w.completed(80 + FOUND_DONE_MS, FOUND_DONE_MS); // just at the threshold: still a real wait
    w.submitted(4); // so the history is kept: the median of 100, 100, 81
    expect(w.sleepBefore()).toBeCloseTo(80);
  });

  it('does not sleep through streams of tiny dispatches (under 0.5 ms of lag each)', () => {
    const w = new WaitPredictor('predict');
    w.submitted(256);
    w.completed(60); // 0.23 ms per dispatch
    w.submitted(256);
    expect(w.sleepBefore()).toBe(0);
    w.completed(200); // 0.78 ms per dispatch
    w.submitted(256);
    expect(w.sleepBefore()).toBeCloseTo(48); // the lower of 60 and 200
    w.completed(200);
    w.submitted(256);
    expect(w.sleepBefore()).toBeCloseTo(160); // the median of 60, 200, 200
  });

  it('spin mode never sleeps', () => {
    const w = new WaitPredictor('spin');
    w.submitted(4);
    w.completed(1000);
    w.submitted(4);
    expect(w.sleepBefore()).toBe(0);
  });
});
