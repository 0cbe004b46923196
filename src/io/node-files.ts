/**
 * The Node edge of saving: crash-safe file replacement and checkpoint files.
 *
 * writeFileAtomic: write a temp file in the same directory, fsync it, rename it over the target,
 * fsync the directory. A crash at any moment leaves the target either old or new, never partial.
 * saveCheckpoint also keeps the previous checkpoint as `<path>.prev` (a hard link, made before
 * the rename, so the target itself is never missing).
 *
 * Temp files are named `<name>.tmp-<pid>-<n>` (and `<name>.prev-tmp-<pid>`), so several processes
 * can write in one folder: after its rename a write deletes the leftovers of earlier writes that
 * crashed before theirs, but only those of this process's pid or of pids no longer running on
 * this host (lock.ts: pidAlive), never a live process's temp file that is being written.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
  copyFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pidAlive } from './lock.js';
import {
  buildCheckpoint,
  parseCheckpoint,
  restoreCheckpoint,
  type Checkpoint,
  type CheckpointParts,
} from './checkpoint.js';
import { withPath } from './file-errors.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Generator } from '../tensor/random.js';

export interface AtomicWriteOptions {
  /** Called after the temp file is complete and synced, before the rename (fault-injection tests). */
  beforeRename?: (tempPath: string) => void;
  /** Also keep the file being replaced as `<path>.prev`. */
  keepPrevious?: boolean;
}

let writes = 0;

/**
 * Deletes `<dir>/<prefix><pid>...` files left by this process's pid or by dead pids: temp files
 * of writes that crashed before their rename. A live process's files are left alone.
 */
function sweepTemps(dir: string, prefix: string): void {
  for (const f of readdirSync(dir)) {
    const pid = f.startsWith(prefix) ? /^(\d+)(-|$)/.exec(f.slice(prefix.length)) : null;
    if (!pid || (Number(pid[1]) !== process.pid && pidAlive(Number(pid[1])))) continue;
    try {
      unlinkSync(join(dir, f));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // another process swept it first
    }
  }
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // not supported everywhere (Windows): the rename is still atomic, only its durability waits
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function writeFileAtomic(path: string, bytes: Uint8Array, options: AtomicWriteOptions = {}): void {
  const dir = dirname(path);
  const name = basename(path);
  const temp = join(dir, `${name}.tmp-${process.pid}-${writes++}`);
  const fd = openSync(temp, 'w');
  try {
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(temp);
    throw withPath(e, path); // Node's write errors (ENOSPC) name no file
  }
  closeSync(fd);
  options.beforeRename?.(temp);
  if (options.keepPrevious && existsSync(path)) {
    const prevTemp = `${path}.prev-tmp-${process.pid}`;
    if (existsSync(prevTemp)) unlinkSync(prevTemp);
    try {
      linkSync(path, prevTemp);
    } catch {
      copyFileSync(path, prevTemp); // filesystems without hard links
    }
    renameSync(prevTemp, `${path}.prev`);
  }
  renameSync(temp, path);
  fsyncDir(dir);
  sweepTemps(dir, `${name}.tmp-`);
  sweepTemps(dir, `${name}.prev-tmp-`);
}

/** Builds the checkpoint (see checkpoint.ts) and replaces `path` atomically, keeping `<path>.prev`. */
export async function saveCheckpoint(
  path: string,
  parts: CheckpointParts,
  options: AtomicWriteOptions = { keepPrevious: true },
): Promise<void> {
  writeFileAtomic(path, await buildCheckpoint(parts), options);
}

/** Reads and validates a checkpoint file; errors name the file (and mention `.prev` when there is one). */
export function readCheckpoint(path: string): Checkpoint {
  try {
    return parseCheckpoint(readFileSync(path), path);
  } catch (e) {
    if (existsSync(`${path}.prev`))
      (e as Error).message += ` (the previous checkpoint ${path}.prev may be intact)`;
    throw e;
  }
}

/** Reads a checkpoint file and restores it into the model, optimizer and generators; returns its step and config. */
export function loadCheckpoint(
  path: string,
  into: { model: Module; optimizer?: Optimizer<{ lr: number }>; rng?: Record<string, Generator> },
): { step: number; config: unknown } {
  const ckpt = readCheckpoint(path);
  return { step: restoreCheckpoint(ckpt, into, path), config: ckpt.config };
}
