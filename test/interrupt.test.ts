/**
 * Ctrl-C of long commands (tools/interrupt.ts), in a real process run as long runs are run
 * (`node --import tsx`): a loop that blocks its event loop 150 ms at a time, as a training step
 * does, gets SIGINT twice 40 ms apart (the terminal's copy, then a parent's forwarded one)
 * and still finishes with its "checkpoint"; a second SIGINT well after the first quits at once
 * (130). About 5 s.
 * Oracle: the process's exit code and output.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPEAT_MS } from '../tools/interrupt.js';

const script = join(mkdtempSync(join(tmpdir(), 'synface-interrupt-')), 'busy.mts');
writeFileSync(
  script,
  `import { interruptOnSigint } from ${JSON.stringify(resolve('tools/interrupt.ts'))};
const { signal } = interruptOnSigint();
const busy = (ms: number) => { const s = performance.now(); while (performance.now() - s < ms) {} };
console.log('ready');
while (!signal.aborted) { busy(150); await new Promise((r) => setTimeout(r, 2)); }
// the "checkpoint": SAVE_MS of work that yields now and then
for (let t = 0; t < Number(process.env.SAVE_MS); t += 100) { busy(100); await new Promise((r) => setTimeout(r, 2)); }
console.log('saved');
`,
);

/** Runs the script, sends SIGINT at each of `at` ms after it is ready; its exit code and output. */
function run(at: number[], saveMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, SAVE_MS: String(saveMs) },
    });
    let out = '';
    const take = (d: Buffer) => {
      const first = !out.includes('ready');
      out += d.toString();
      if (first && out.includes('ready'))
        for (const ms of at) setTimeout(() => child.kill('SIGINT'), 300 + ms);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', fail);
    child.on('exit', (code) => done({ code, out }));
  });
}

describe('interruptOnSigint', () => {
  it('one Ctrl-C delivered twice (40 ms apart, as tsx relays it; the loop busy): the checkpoint is still written', async () => {
    const { code, out } = await run([0, 40], 600);
    expect(out).toMatch(/interrupted: finishing the step and saving a checkpoint/);
    expect(out).toMatch(/saved/);
    expect(code).toBe(0);
  }, 30_000);

  it('a second Ctrl-C after REPEAT_MS quits at once with 130, before the checkpoint', async () => {
    const { code, out } = await run([0, REPEAT_MS + 500], 4000);
    expect(out).toMatch(/interrupted/);
    expect(out).not.toMatch(/saved/);
    expect(code).toBe(130);
  }, 30_000);
});
