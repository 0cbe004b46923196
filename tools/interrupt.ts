/**
 * Ctrl-C for long commands: the first SIGINT aborts the returned signal (the training loop
 * finishes its step, saves a checkpoint and stops), a second one exits at once (code 130).
 *
 * One Ctrl-C can arrive more than once: the terminal signals every process of the foreground
 * group, and a parent that forwards signals (npm run, npx) sends its own copy a moment later.
 * Copies handled within REPEAT_MS of the first are that same Ctrl-C, not a second one (a loop
 * busy with synchronous work handles queued signals back to back, so a person's second press
 * also lands here when pressed during such work: they press again).
 *
 * tsx's command-line runner (`npx tsx file.ts`) is another such parent, and a harsher one: when
 * its child has not reported the signal within 30 ms (its report runs on the child's event loop,
 * which a training step keeps busy for longer), it sends a copy, and 30 ms later SIGKILL: the
 * step is lost and no checkpoint written. Long runs therefore go through `node --import tsx`
 * (`npm run synface -- <command>`), which has no such parent.
 */
export const REPEAT_MS = 1000;

export function interruptOnSigint(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  let firstAt = 0;
  const onSigint = () => {
    if (controller.signal.aborted) {
      if (performance.now() - firstAt < REPEAT_MS) return; // the same Ctrl-C, forwarded
      process.exit(130);
    }
    firstAt = performance.now();
    console.error('\ninterrupted: finishing the step and saving a checkpoint (Ctrl-C again to quit now)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}
