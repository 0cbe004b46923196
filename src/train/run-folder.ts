/**
 * A training run's folder on disk (Node), the storage of src/train/runner.ts:
 *
 *   run.lock                           held while a process runs here (src/io/lock.ts)
 *   checkpoint.safetensors (+ .prev)   the full training state, replaced atomically
 *   log.jsonl                          the run's records (run-log.ts), appended line by line
 *   ...                                whatever the trainer writes at the end (writeFile)
 *
 * Every file is written atomically (a temp file, then a rename), so a killed process leaves the
 * previous version intact; the log is the one file appended to, and a torn last line is
 * tolerated when the run resumes. Opening the folder takes its lock, so a second process on the
 * same folder is refused with the holder's pid and command; close() releases it.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Checkpoint } from '../io/checkpoint.js';
import { lockRunFolder, type Lock } from '../io/lock.js';
import { readCheckpoint, writeFileAtomic } from '../io/node-files.js';
import { formatRunLog, parseRunLog, recordsUpTo, sameRecordIndex, type LogRecord } from './run-log.js';

export class RunFolder {
  readonly checkpointPath: string;
  readonly logPath: string;
  /** The log's records, as on disk. */
  readonly records: LogRecord[] = [];
  private readonly lock: Lock;

  /** Creates the folder if needed and takes its lock; `command` tells another process who holds it. */
  constructor(
    readonly dir: string,
    private readonly warn: (line: string) => void = (s) => console.warn(s),
    command?: string,
  ) {
    mkdirSync(dir, { recursive: true });
    this.lock = lockRunFolder(dir, command, warn);
    this.checkpointPath = join(dir, 'checkpoint.safetensors');
    this.logPath = join(dir, 'log.jsonl');
  }

  /** Releases the folder's lock (also released when the process exits). */
  close(): void {
    this.lock.release();
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  hasCheckpoint(): boolean {
    return existsSync(this.checkpointPath);
  }

  readCheckpoint(): Checkpoint {
    return readCheckpoint(this.checkpointPath);
  }

  async saveCheckpoint(bytes: Uint8Array): Promise<void> {
    writeFileAtomic(this.checkpointPath, bytes, { keepPrevious: true });
  }

  /** A new run: an empty log. */
  startLog(): void {
    this.records.length = 0;
    this.rewriteLog();
  }

  /**
   * A resumed run at `step`: the log keeps the records up to the checkpoint's step (later ones
   * are made again), and a torn last line (a write the process was killed in) is dropped.
   */
  resumeLog(step: number): void {
    this.records.length = 0;
    if (!existsSync(this.logPath)) {
      this.rewriteLog();
      return;
    }
    const { records, tornTail } = parseRunLog(readFileSync(this.logPath, 'utf8'), this.logPath);
    if (tornTail !== null)
      this.warn(
        `${this.logPath}: the last line was cut off by a killed write; dropped (${tornTail.length} characters)`,
      );
    const kept = recordsUpTo(records, step);
    this.records.push(...kept);
    if (tornTail !== null || kept.length !== records.length) this.rewriteLog();
  }

  /** Adds a record; one of the same type and step is replaced (a step validated again). */
  record(r: LogRecord): void {
    const i = sameRecordIndex(this.records, r);
    if (i >= 0) {
      this.records[i] = r;
      this.rewriteLog();
    } else {
      this.records.push(r);
      appendFileSync(this.logPath, JSON.stringify(r) + '\n');
    }
  }

  /** Writes a file of the run atomically. */
  writeFile(name: string, bytes: Uint8Array | string): void {
    writeFileAtomic(this.path(name), typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes);
  }

  private rewriteLog(): void {
    writeFileAtomic(this.logPath, new TextEncoder().encode(formatRunLog(this.records)));
  }
}
