/**
 * File-system errors as a user should read them. Node's own messages name no file for some
 * calls ("ENOSPC: no space left on device, write") and never say what to do; describeFileError
 * gives one line with the path, the error code and a hint per code. The command line prints it
 * for any error Node's fs raised (tools/synface.ts); writeFileAtomic makes sure its errors carry
 * the path of the file being written. Node only.
 */
import { dirname } from 'node:path';

/** What happened and what to do, per error code; `path` is the file (or folder) involved. */
const HINTS: Record<string, (path: string) => string> = {
  ENOSPC: (p) => `the disk is full: free space in ${dirname(p)}`,
  EDQUOT: (p) => `the disk quota is used up: free space in ${dirname(p)}`,
  ENOENT: () => 'no such file or folder',
  EEXIST: () =>
    'already exists: a file is in the way of a folder (or the other way round), or it is left over',
  EACCES: (p) => `permission denied: check the permissions of it and of ${dirname(p)}`,
  EPERM: (p) => `operation not permitted: check the permissions of it and of ${dirname(p)}`,
  EROFS: () => 'on a read-only file system',
  ENOTDIR: () => 'a part of this path is a file, not a folder',
  EISDIR: () => 'is a folder, a file was expected',
  EMFILE: () => 'too many open files (raise ulimit -n)',
};

/** Marks `e` as an error about `path` when it names no file itself (Node's write and fsync errors). */
export function withPath<E>(e: E, path: string): E {
  const err = e as NodeJS.ErrnoException;
  if (e instanceof Error && typeof err.code === 'string' && !err.path) err.path = path;
  return e;
}

/**
 * One line for a file-system error: `<path>: <hint> (<CODE>)`, or undefined when `e` is not one
 * we know (the caller prints its message as it is).
 */
export function describeFileError(e: unknown): string | undefined {
  const err = e as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof err.code !== 'string' || !HINTS[err.code] || !err.path)
    return undefined;
  return `${err.path}: ${HINTS[err.code](err.path)} (${err.code}${err.syscall ? ` in ${err.syscall}` : ''})`;
}
