/**
 * Waiting for the GPU without burning the CPU it runs on.
 *
 * In Node, a pending `mapAsync` or `onSubmittedWorkDone` of the `webgpu` package keeps the
 * main thread polling Dawn in a loop. On a CPU adapter (lavapipe) that loop takes a core from
 * the very threads that execute the kernels: measured here, 8 matmuls of 1024^3 took 1.9-2.4 s
 * when awaited at once and 1.2 s when the thread first slept through most of the work.
 *
 * So before awaiting, sleep (setTimeout: no polling) for most of the expected wait. The
 * expectation is the previous wait: how long it took from the call to completion (the GPU's
 * lag behind the code that queues its work), scaled down when fewer dispatches are pending now
 * than then. Sleeping 80% of it keeps a wrong guess cheap. A loop that reads its loss every N
 * steps has a steady lag, where this is accurate.
 *
 * An over-long guess (heavy work, then light work of as many dispatches) shows itself: the
 * work was done before the sleep ended, so the await after it returns at once. Such a wait
 * measured nothing but its own sleep, so the history is dropped and the next wait awaits at
 * once, measuring the true lag again. (Before this rule, the guess only decayed by 0.8 a wait:
 * after the bench's matmuls, its 1M-element adds slept ~1 s a run for a dozen runs, and their
 * measured bandwidth fell 17x in Chromium.)
 *
 * Measured trade-off (lavapipe, 2 cores): matmul-heavy work gains 30-60% (1024^3 products
 * 7.3 -> 12.7 GFLOPS; the spiral demo 167 -> 226 steps/s), but a stream of hundreds of tiny
 * dispatches loses (58 -> 91 us each): sleeping lets the cores idle between lavapipe's many
 * short jobs. So the thread sleeps only when the last wait's work averaged at least 0.5 ms of
 * lag per dispatch. SYNFACE_WAIT=spin (or device.waiting.mode = 'spin') turns prediction off.
 */
export type WaitMode = 'predict' | 'spin';

const MIN_SLEEP_MS = 10;
const MIN_MS_PER_DISPATCH = 0.5;
/** An await after a sleep that returns within this found the work already done. */
export const FOUND_DONE_MS = 1;

export class WaitPredictor {
  mode: WaitMode;
  private lastLagMs = 0;
  private lastPending = 0;
  private pending = 0;

  constructor(mode: WaitMode = 'predict') {
    this.mode = mode;
  }

  /** Called when a batch of `dispatches` is submitted. */
  submitted(dispatches: number): void {
    this.pending += dispatches;
  }

  /** How long to sleep before awaiting completion (ms; 0 = await at once). */
  sleepBefore(): number {
    if (this.mode === 'spin' || this.pending === 0 || this.lastPending === 0) return 0;
    // Streams of tiny dispatches run slower while the thread sleeps (see above): sleep only
    // when the work waited for last time was made of heavy dispatches.
    if (this.lastLagMs / this.lastPending < MIN_MS_PER_DISPATCH) return 0;
    const ms = 0.8 * this.lastLagMs * Math.min(1, this.pending / this.lastPending);
    // Short waits are cheaper spun than slept: a timer wakes late (a millisecond or more) and
    // hundreds of tiny dispatches measured 85 us each with sleeps against 62 us spinning.
    return ms >= MIN_SLEEP_MS ? ms : 0;
  }

  /**
   * Called when everything submitted so far is done: `waitedMs` since the wait began, of which
   * `afterSleepMs` came after its sleep (when it slept).
   */
  completed(waitedMs: number, afterSleepMs?: number): void {
    if (this.pending === 0) return;
    const overslept = afterSleepMs !== undefined && afterSleepMs < FOUND_DONE_MS;
    this.lastLagMs = overslept ? 0 : waitedMs;
    this.lastPending = overslept ? 0 : this.pending;
    this.pending = 0;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
