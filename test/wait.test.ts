/**
 * The wait predictor that decides how long to sleep before polling the GPU.
 * Oracle: its rule worked out by hand on given histories.
 */
import { describe, expect, it } from 'vitest';
import { WaitPredictor } from '../src/gpu/wait.js';

describe('WaitPredictor', () => {
  it('sleeps 80% of the last lag, scaled by the pending work, and not without history', () => {
    const w = new WaitPredictor('predict');
    w.submitted(10);
    expect(w.sleepBefore()).toBe(0); // no history yet
    w.completed(100);
    expect(w.sleepBefore()).toBe(0); // nothing pending
    w.submitted(10);
    expect(w.sleepBefore()).toBeCloseTo(80);
    w.submitted(10); // more work than last time: still capped at the last lag's 80%
    expect(w.sleepBefore()).toBeCloseTo(80);
    w.completed(100);
    w.submitted(5); // a quarter of the last wait's 20 dispatches
    expect(w.sleepBefore()).toBeCloseTo(20);
    w.completed(20);
    w.submitted(5);
    expect(w.sleepBefore()).toBeCloseTo(16);
    w.completed(10);
    w.submitted(5);
    expect(w.sleepBefore()).toBe(0); // 8 ms: not worth a timer
  });

  it('an over-long guess decays: a wait that found the work done measures only its sleep', () => {
    const w = new WaitPredictor('predict');
    w.submitted(4);
    w.completed(1000);
    let lag = 1000;
    const sleeps: number[] = [];
    for (let i = 0; i < 25; i++) {
      w.submitted(4);
      lag = w.sleepBefore(); // the work was long done: the wait lasts exactly the sleep
      sleeps.push(lag);
      w.completed(lag);
    }
    expect(sleeps[9]).toBeCloseTo(1000 * 0.8 ** 10);
    expect(sleeps[24]).toBe(0); // below 10 ms a wait spins: a timer would wake too late
  });

  it('does not sleep through streams of tiny dispatches (under 0.5 ms of lag each)', () => {
    const w = new WaitPredictor('predict');
    w.submitted(256);
    w.completed(60); // 0.23 ms per dispatch
    w.submitted(256);
    expect(w.sleepBefore()).toBe(0);
    w.completed(200); // 0.78 ms per dispatch
    w.submitted(256);
    expect(w.sleepBefore()).toBeCloseTo(160);
  });

  it('spin mode never sleeps', () => {
    const w = new WaitPredictor('spin');
    w.submitted(4);
    w.completed(1000);
    w.submitted(4);
    expect(w.sleepBefore()).toBe(0);
  });
});
