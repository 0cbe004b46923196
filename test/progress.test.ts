/**
 * The progress bar (tools/progress.ts): what is not known yet prints as unknown, never as a
 * number (issue 14, defect 10: the first line used to read `loss NaN img/s 0.0 eta
 * 524444444:26:40`).
 */
import { describe, expect, it } from 'vitest';
import { formatDuration, ProgressBar } from '../tools/progress.js';

/** The lines a non-terminal bar prints (every update: `every` 0). */
function lines(draw: (bar: ProgressBar) => void): string[] {
  let out = '';
  const stream = { isTTY: false, write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream;
  draw(new ProgressBar(60, 0, stream));
  return out.trim().split('\n');
}

describe('ProgressBar', () => {
  it("the first line, before anything is measured: '-' for the loss and the rate, '--:--' for the ETA", () => {
    // what the training loop passed before its first read-back: NaN.toFixed(3), (0).toFixed(1),
    // and an ETA made from a rate of 0
    const [first] = lines((bar) =>
      bar.update(1, { epoch: '0.00', loss: 'NaN', 'img/s': '0.0' }, (59 * 64) / Math.max(0, 1e-9)),
    );
    expect(first).toBe('[........................] 1/60 epoch 0.00  loss -  img/s -  eta --:--');
    const [raw] = lines((bar) => bar.update(1, { epoch: 0, loss: NaN, 'img/s': 0 }, Infinity));
    expect(raw).toMatch(/loss -  img\/s -  eta --:--$/);
    const [none] = lines((bar) => bar.update(1, { loss: undefined, 'img/s': undefined }));
    expect(none).toMatch(/loss -  img\/s -  eta --:--$/);
  });

  it('known values print, numbers with 4 significant digits; an unknown ETA alone is --:--', () => {
    const [line] = lines((bar) => bar.update(30, { epoch: '1.25', loss: 8.21349, 'img/s': 84.93 }, 3725));
    expect(line).toBe('[############............] 30/60 epoch 1.25  loss 8.213  img/s 84.93  eta 1:02:05');
    const [noEta] = lines((bar) => bar.update(30, { loss: '8.213', 'img/s': '84.9' }, NaN));
    expect(noEta).toMatch(/img\/s 84.9  eta --:--$/);
  });

  it('formatDuration', () => {
    expect(formatDuration(65)).toBe('1:05');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(-1)).toBe('--:--');
    expect(formatDuration(NaN)).toBe('--:--');
  });
});
