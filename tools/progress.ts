/**
 * A one-line progress bar for long loops: step, epoch, loss, images/s, ETA. On a terminal the
 * line is redrawn in place; otherwise (CI, a log file) a full line is printed every `every`
 * seconds, so logs stay readable.
 *
 * What is not known yet prints as such, never as a number: a field that is undefined, NaN or
 * infinite (the loss before the first read-back) prints '-'; a field named `.../s` is a rate,
 * and a rate of 0 (nothing measured yet) prints '-' too; the ETA prints '--:--' when it is
 * undefined, not finite, negative, or while a rate is unknown (an ETA made from it would be
 * meaningless: remaining / 0).
 */
import type { Progress } from '../src/train/runner.js';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600),
    m = Math.floor((s % 3600) / 60),
    r = s % 60;
  return h > 0
    ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}`
    : `${m}:${String(r).padStart(2, '0')}`;
}

/** A field's value: a number, text formatted by the caller, or undefined (not known yet). */
export type ProgressValue = string | number | undefined;

const UNKNOWN = '-';

/** A field's text, or UNKNOWN. Strings pass as they are, except "NaN" / "Infinity" (from toFixed). */
function fieldText(name: string, value: ProgressValue): string {
  const n = typeof value === 'string' ? Number(value) : value;
  if (value === undefined || value === '' || /^[+-]?(NaN|Infinity)$/.test(String(value))) return UNKNOWN;
  if (typeof value === 'number' && !Number.isFinite(value)) return UNKNOWN;
  if (name.endsWith('/s') && !(typeof n === 'number' && n > 0)) return UNKNOWN; // a rate of 0: not measured
  return typeof value === 'number' ? String(Number(value.toPrecision(4))) : value;
}

export class ProgressBar {
  private lastPrint = 0;
  private readonly tty: boolean;

  constructor(
    readonly total: number,
    readonly every = 10,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = !!stream.isTTY;
  }

  /** `fields` in order, e.g. { epoch: '1.25', loss: 8.213, 'img/s': 84.9 }; `etaSeconds` to the end. */
  update(done: number, fields: Record<string, ProgressValue>, etaSeconds?: number): void {
    const width = 24;
    const filled = Math.round((width * Math.min(done, this.total)) / Math.max(1, this.total));
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    const texts = Object.entries(fields).map(([k, v]) => [k, fieldText(k, v)] as const);
    const rateUnknown = texts.some(([k, t]) => k.endsWith('/s') && t === UNKNOWN);
    const eta = etaSeconds === undefined || rateUnknown ? '--:--' : formatDuration(etaSeconds);
    const text = `[${bar}] ${done}/${this.total} ${texts.map(([k, t]) => `${k} ${t}`).join('  ')}  eta ${eta}`;
    const now = performance.now() / 1000;
    if (this.tty) this.stream.write(`\r${text}\x1b[K`);
    else if (now - this.lastPrint >= this.every || done === this.total) {
      this.stream.write(text + '\n');
      this.lastPrint = now;
    }
  }

  /** Ends the in-place line before other output. */
  break(): void {
    if (this.tty) this.stream.write('\n');
  }
}

/**
 * A training run's console: `onProgress` draws the bar (made at the first step, when the run's
 * length is known), `log` prints a line without breaking it, `end` finishes the bar's line.
 */
export function trainingConsole(
  options: {
    /** The status field that says how far the run is ('epoch' for the recognizer, 'kimg' for the generator). */
    position?: string;
    /** Decimals of images/s. */
    rateDigits?: number;
    print?: (line: string) => void;
  } = {},
): {
  onProgress: (p: Progress) => void;
  log: (line: string) => void;
  end: () => void;
} {
  const { position = 'epoch', rateDigits = 1, print = console.log } = options;
  let bar: ProgressBar | undefined;
  return {
    onProgress: (p) => {
      bar ??= new ProgressBar(p.steps);
      bar.update(
        p.step,
        {
          [position]: (p.status[position] ?? 0).toFixed(2),
          ...(Object.keys(p.losses).length
            ? Object.fromEntries(Object.entries(p.losses).map(([k, v]) => [k, v.toFixed(3)]))
            : { loss: '-' }),
          'img/s': p.imagesPerSecond === undefined ? '-' : p.imagesPerSecond.toFixed(rateDigits),
        },
        p.etaSeconds ?? NaN,
      );
    },
    log: (line) => {
      bar?.break();
      print(line);
    },
    end: () => bar?.break(),
  };
}
