/** Runs a command function in-process with console.log captured: its exit code and output. */
export async function runCommand(
  fn: (args: string[]) => Promise<number>,
  args: string[],
): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  try {
    return { code: await fn(args), out: lines.join('\n') };
  } finally {
    console.log = log;
  }
}
