/**
 * Lock files: one process at a time in a run folder or an image-cache entry. Node only, no dependency.
 *
 * acquireLock(path, what) creates `<path>.lock`, which holds who took it:
 *
 *   {"pid": 4242, "host": "box", "started": "2025-01-31T12:00:00.000Z",
 *    "command": "tools/synface.ts train-recognizer --out runs/a", "what": "the run folder runs/a"}
 *
 * The file is written completely under a temporary name and then hard-linked to `<path>.lock`;
 * link() fails when the name exists, so creating the lock is one atomic step and a reader never
 * sees half a lock file. A second process gets an error naming the lock file, the holder's pid,
 * host, command and start time, and what to do (or, with `wait`, waits for the holder to finish).
 *
 * Semantics, and their limits:
 * - Advisory: only code that calls acquireLock respects the lock; nothing stops other programs.
 * - Same host: whether a holder is alive is asked of this machine (process.kill(pid, 0)). A lock
 *   taken on another host (a shared network folder) is never judged stale; delete it by hand
 *   once that run is over. An unrelated live process that reused a dead holder's pid makes the
 *   lock look held; the message says to delete the file then.
 * - Stale locks: a lock whose pid is dead on this host (a crash, kill -9, a power cut) is
 *   removed, with a log line, and taken. Removal goes through a second lock, `<path>.lock.break`,
 *   so two processes that both find a lock stale cannot remove each other's fresh lock.
 * - Release: lock.release() (call it in a `finally`), and on process exit (process.on('exit'),
 *   which also runs after process.exit() and an uncaught error). After SIGKILL nothing runs;
 *   the next acquireLock finds the lock stale. No signal handlers are installed: a program that
 *   handles Ctrl-C (train-recognizer saves a checkpoint) keeps doing so and then exits normally.
 * - Not re-entrant: taking a lock this process already holds is an error (a bug in the caller).
 */
import { closeSync, linkSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  started: string;
  command: string;
  /** What the lock protects, in words (the run folder runs/a, the image cache ...). */
  what: string;
}

export interface Lock {
  /** The lock file, `<path>.lock`. */
  file: string;
  holder: LockHolder;
  /** Deletes the lock file if it still names this process; calling it twice is harmless. */
  release(): void;
}

export interface LockOptions {
  /** Recorded in the lock file for the message another process sees (default: this process's argv). */
  command?: string;
  /** Wait while a live process holds the lock (polling; one log line) instead of failing. */
  wait?: boolean;
  /** Log lines: a stale lock removed, waiting for a holder. */
  log?: (line: string) => void;
}

/** Whether process `pid` exists on this host. EPERM means it exists but belongs to another user. */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false; // kill(0) or kill(-n) would signal a process group
  try {
    process.kill(pid, 0); // signal 0: only the existence and permission checks
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Locks this process holds, by lock file; released on exit. */
const held = new Map<string, Lock>();
let exitHookInstalled = false;

/** Blocks the thread for `ms` milliseconds (the cache code waiting for a lock is synchronous). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Creates `file` holding `text`, only if it does not exist: the text goes to a temporary file that
 * is then hard-linked to `file` (atomic; fails with EEXIST). Returns false when `file` exists.
 * Filesystems without hard links fall back to an exclusive create (open 'wx') and a write.
 */
function createExclusive(file: string, text: string): boolean {
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, text);
  try {
    linkSync(temp, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw e;
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e2;
    }
    writeSync(fd, text);
    closeSync(fd);
    return true;
  } finally {
    unlinkSync(temp);
  }
}

/** The holder recorded in a lock file: 'gone' when there is no file, 'unreadable' when it is not a lock's JSON. */
function readHolder(file: string): LockHolder | 'gone' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw e;
  }
  try {
    const h = JSON.parse(text);
    if (Number.isSafeInteger(h?.pid) && typeof h.host === 'string' && typeof h.started === 'string') return h;
  } catch {
    // not JSON: fall through
  }
  return 'unreadable';
}

const sameHolder = (a: LockHolder | string, b: LockHolder) =>
  typeof a !== 'string' && a.pid === b.pid && a.host === b.host && a.started === b.started;

/** A lock left by a process that no longer runs on this host (or by this process's pid before us). */
function isStale(h: LockHolder): boolean {
  if (h.host !== hostname()) return false;
  if (h.pid === process.pid) return ![...held.values()].some((l) => sameHolder(h, l.holder));
  return !pidAlive(h.pid);
}

/** Removes the stale lock `file` of `stale`, unless it changed meanwhile; guarded by `<file>.break`. */
function removeStale(file: string, stale: LockHolder, log: (line: string) => void): void {
  const guard = `${file}.break`;
  const me = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  if (!createExclusive(guard, JSON.stringify(me))) {
    // another process is removing it; if that process died doing so, its guard is stale too
    const other = readHolder(guard);
    if (other !== 'gone' && other !== 'unreadable' && other.host === hostname() && !pidAlive(other.pid))
      unlinkIfExists(guard);
    return;
  }
  try {
    if (sameHolder(readHolder(file), stale)) {
      unlinkSync(file);
      log(
        `lock: removed the stale lock ${file} of pid ${stale.pid} (${stale.command}, started ${stale.started}), which no longer runs`,
      );
    }
  } finally {
    unlinkSync(guard);
  }
}

function unlinkIfExists(file: string): void {
  try {
    unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** "pid 4242 on box (command), started <time>" */
const describeHolder = (h: LockHolder) => `pid ${h.pid} on ${h.host} (${h.command}), started ${h.started}`;

function refusal(file: string, h: LockHolder | 'unreadable', what: string): string {
  if (h === 'unreadable')
    return `${what} is locked: ${file} exists but is not a lock file this program wrote; if no other process uses ${what}, delete ${file}`;
  const mine = h.pid === process.pid && h.host === hostname();
  return (
    `${what} is in use: ${file} is held by ${describeHolder(h)}. ` +
    (mine
      ? 'That is this process: it took the lock twice.'
      : `Wait for that process to finish or stop it; if it no longer runs (another host, or its pid reused), delete ${file}.`)
  );
}

/** Takes the lock `<path>.lock` for this process, or throws (see the header); `what` names the thing locked. */
export function acquireLock(path: string, what: string, options: LockOptions = {}): Lock {
  const file = `${path}.lock`;
  const log = options.log ?? (() => {});
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    command: options.command ?? process.argv.slice(1).join(' '),
    what,
  };
  let waiting = false;
  // retries after a lock vanished or was found stale; a live holder (with `wait`) is not counted
  for (let retries = 0; ;) {
    if (createExclusive(file, JSON.stringify(holder) + '\n')) return hold(file, holder);
    const other = readHolder(file);
    if (other === 'unreadable') throw new Error(refusal(file, other, what)); // no holder to wait for
    if (other !== 'gone' && !isStale(other)) {
      if (!options.wait) throw new Error(refusal(file, other, what));
      if (!waiting) log(`lock: waiting for ${describeHolder(other)} to release ${file} ...`);
      waiting = true;
      sleepSync(200);
      continue;
    }
    if (other !== 'gone') removeStale(file, other, log);
    if (++retries > 50)
      throw new Error(
        `${what}: could not take ${file} in 50 tries; if no process is starting, delete ${file}.break`,
      );
    sleepSync(Math.min(200, 5 * retries)); // others may be contending for the same lock: back off
  }
}

function hold(file: string, holder: LockHolder): Lock {
  const lock: Lock = {
    file,
    holder,
    release() {
      if (held.get(file) !== lock) return;
      held.delete(file);
      if (sameHolder(readHolder(file), holder)) unlinkIfExists(file);
    },
  };
  held.set(file, lock);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const l of [...held.values()]) l.release();
    });
  }
  return lock;
}

/**
 * The lock of a training run's folder, `<out>/run.lock`: held for the whole run so that a second
 * run on the same --out is refused (rather than interleaving log.jsonl and racing on renames).
 */
export function lockRunFolder(out: string, command?: string, log?: (line: string) => void): Lock {
  return acquireLock(join(out, 'run'), `the run folder ${out}`, { command, log });
}
