/**
 * Dawn's two adapter warnings, kept off the command line's stderr (Node only).
 *
 * While it discovers the adapters (the first requestAdapter), Dawn prints to the process's
 * stderr, from C++, for every adapter whose driver reports more dynamic buffers per pipeline
 * layout than Dawn supports (lavapipe reports 1000000):
 *
 *   Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.
 *   Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.
 *
 * Nothing in WebGPU or Dawn's options turns them off: they come from Dawn's
 * PhysicalDeviceBase::Initialize -> NormalizeLimits, which runs on the driver's limits before
 * any device is requested (so requiredLimits cannot help), unconditionally (no toggle), through
 * dawn::WarningLog, which is a plain fprintf(stderr) with no level to set. They are harmless
 * here: the engine uses no dynamic offsets. And Node cannot catch a native fprintf.
 *
 * So, as a last resort, quietAdapterDiscovery runs the discovery with file descriptor 2 pointing
 * at a temporary file, then points it back and copies everything printed meanwhile (by Dawn,
 * the Vulkan loader, the driver or Node) back to stderr, except exactly those two lines. Node
 * has no dup2, but open() returns the lowest free descriptor: close(2) then open() gives 2
 * again, and /dev/fd/N reopens what descriptor N is. This is done only where it is safe: on
 * Linux and macOS (/dev/fd), when stderr is a terminal or a pipe (`| tee log`), not with
 * SYNFACE_DEBUG (which shows everything). Elsewhere the warnings print as before: a regular
 * file (`2> log`: reopening it would start a second file offset and overwrite the log) and a
 * socket (the pipes of Node's child_process: /dev/fd cannot reopen a socket).
 */
import {
  closeSync,
  constants,
  fstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Exactly Dawn's two lines (Dawn's wording, any numbers). */
export const DAWN_LIMIT_WARNING =
  /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/;

/** `text` without Dawn's two warning lines; every other line kept, in order. */
export function withoutDawnWarnings(text: string): string {
  return text
    .split(/(?<=\n)/)
    .filter((line) => !DAWN_LIMIT_WARNING.test(line.replace(/\r?\n$/, '')))
    .join('');
}

function canRedirectStderr(): boolean {
  if (process.env.SYNFACE_DEBUG || (process.platform !== 'linux' && process.platform !== 'darwin'))
    return false;
  try {
    const stat = fstatSync(2);
    return stat.isFIFO() || stat.isCharacterDevice(); // a pipe, or a terminal (or /dev/null)
  } catch {
    return false;
  }
}

/** Runs `discover` (the first requestAdapter) with Dawn's two warnings filtered out of stderr. */
export async function quietAdapterDiscovery<T>(discover: () => Promise<T>): Promise<T> {
  if (!canRedirectStderr()) return discover();
  const { O_WRONLY, O_APPEND, O_NOCTTY, O_NONBLOCK } = constants;
  let saved: number;
  try {
    // a handle on what stderr is (non-blocking: never wait for a pipe's reader here; it is only reopened)
    saved = openSync('/dev/fd/2', O_WRONLY | O_NOCTTY | O_NONBLOCK);
  } catch {
    return discover();
  }
  void process.stderr.fd; // Node's stderr stream is set up now, on the real stderr
  const dir = mkdtempSync(join(tmpdir(), 'synface-dawn-'));
  const capture = join(dir, 'stderr');
  closeSync(2);
  openSync(capture, 'w+'); // the lowest free descriptor: 2
  try {
    return await discover();
  } finally {
    closeSync(2);
    openSync(`/dev/fd/${saved}`, O_WRONLY | O_APPEND | O_NOCTTY); // 2 again: the real stderr
    closeSync(saved);
    const printed = withoutDawnWarnings(readFileSync(capture, 'utf8'));
    rmSync(dir, { recursive: true, force: true });
    if (printed) writeSync(2, printed);
  }
}
