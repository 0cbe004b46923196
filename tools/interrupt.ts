/**
 * Ctrl-C for long commands: the first SIGINT aborts the returned signal (the training loop
 * finishes its step, saves a checkpoint and stops), a second one exits at once (code 130).
 */
export function interruptOnSigint(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    console.error('\ninterrupted: finishing the step and saving a checkpoint (Ctrl-C again to quit now)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}
