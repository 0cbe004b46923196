/**
 * Waiting for the GPU without burning the CPU it runs on.
 *
 * In Node, a pending `mapAsync` or `onSubmittedWorkDone` of the `webgpu` package keeps the
 * main thread polling Dawn in a loop. On a CPU adapter (lavapipe) that loop takes a core from
 * the very threads that execute the kernels: measured here, 8 matmuls of 1024^3 took 1.9-2.4 s
 * when awaited at once and 1.2 s when the thread first slept through most of the work.
 *
 * So before awaiting, sleep (setTimeout: no polling) for most of the expected wait. Each past
 * wait gives an expectation: how long it took from the call to completion (the GPU's lag
 * behind the code that queues its work), scaled down when fewer dispatches are pending now
 * than then. The guess is the median of the last three waits' expectations, and the thread
 * sleeps 80% of it, which keeps a wrong guess cheap. A loop that reads its loss every N steps
 * has a steady lag, where this is accurate. The median ignores one wait that stalled for
 * reasons of its own: a process stopped for minutes (Ctrl-Z, a suspended laptop, a benchmark
 * pausing the trainer) measured minutes of "lag", and with the last wait alone as the guess
 * the next wait slept most of that away with the GPU idle (seen here: a training step that
 * took 4 minutes after a pause).
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

/** How many past waits the guess looks at (their median). */
const HISTORY = 3;

export class WaitPredictor {
  mode: WaitMode;
  /** The last waits, oldest first: lag from call to completion, and dispatches waited for. */
  private history: { lagMs: number; pending: number }[] = [];
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
    const last = this.history.at(-1);
    if (this.mode === 'spin' || this.pending === 0 || !last) return 0;
    // Streams of tiny dispatches run slower while the thread sleeps (see above): sleep only
    // when the work waited for last time was made of heavy dispatches.
    if (last.lagMs / last.pending < MIN_MS_PER_DISPATCH) return 0;
    const guesses = this.history
      .map((h) => h.lagMs * Math.min(1, this.pending / h.pending))
      .sort((a, b) => a - b);
    const ms = 0.8 * guesses[(guesses.length - 1) >> 1]; // the median (the lower of two)
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
    if (overslept) this.history = [];
    else this.history = [...this.history, { lagMs: waitedMs, pending: this.pending }].slice(-HISTORY);
    this.pending = 0;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
