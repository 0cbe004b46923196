// Lock files (src/io/lock.ts) between real processes, stale-lock recovery, and writeFileAtomic's
// clean-up of temp files per process (src/io/node-files.ts). No GPU.
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock, lockRunFolder, pidAlive } from '../src/io/lock.js';
import { writeFileAtomic } from '../src/io/node-files.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TMP = mkdtempSync(join(tmpdir(), 'synface-lock-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

/** The pid of a process that has exited (a child that ran and ended). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  expect(pidAlive(r.pid!)).toBe(false);
  return r.pid!;
}

/**
 * A child process (node with tsx, so its pid is the one in the lock) that locks the run folder
 * `out`, prints "held" and keeps the lock until its stdin closes.
 */
function holder(out: string) {
  const script = join(TMP, 'hold.ts');
  writeFileSync(
    script,
    `import { lockRunFolder } from ${JSON.stringify(join(ROOT, 'src/io/lock.ts'))};\n` +
      `lockRunFolder(process.argv[2], 'holder ' + process.argv[2]);\n` +
      `console.log('held');\n` +
      `process.stdin.resume();\nprocess.stdin.on('end', () => process.exit(0));\n`,
  );
  return spawn(process.execPath, ['--import', 'tsx', script, out], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs a child that tries to lock the run folder `out`; resolves with its exit code and stderr. */
function contender(out: string): Promise<{ code: number | null; stderr: string }> {
  const script = join(TMP, 'contend.ts');
  writeFileSync(
    script,
    `import { lockRunFolder } from ${JSON.stringify(join(ROOT, 'src/io/lock.ts'))};\n` +
      `try { lockRunFolder(process.argv[2], 'contender'); console.log('got it'); }\n` +
      `catch (e) { console.error(e.message); process.exit(3); }\n`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script, out], { cwd: ROOT });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((done) => child.on('exit', (code) => done({ code, stderr })));
}

describe('acquireLock between processes', () => {
  it('a second process is refused with a message naming the lock, pid, command and start time; the lock is released on exit', async () => {
    const out = join(TMP, 'run-a');
    mkdirSync(out);
    const a = holder(out);
    await new Promise<void>((ok, fail) => {
      a.stdout.on('data', (d) => String(d).includes('held') && ok());
      a.on('exit', (code) => fail(new Error(`holder exited with ${code}`)));
    });
    const lockFile = join(out, 'run.lock');
    const held = JSON.parse(readFileSync(lockFile, 'utf8'));
    expect(held).toMatchObject({ pid: a.pid, host: hostname(), command: `holder ${out}` });

    const b = await contender(out);
    expect(b.code).toBe(3);
    expect(b.stderr).toContain(`the run folder ${out} is in use: ${lockFile} is held by pid ${a.pid}`);
    expect(b.stderr).toContain(`(holder ${out}), started ${held.started}`);
    expect(b.stderr).toContain('Wait for that process to finish or stop it');

    a.stdin.end(); // the holder exits normally: process.on('exit') releases the lock
    await new Promise((ok) => a.on('exit', ok));
    expect(existsSync(lockFile)).toBe(false);
    const c = await contender(out);
    expect(c).toEqual({ code: 0, stderr: '' });
  });
  it('processes racing for a stale lock: exactly one takes it, the stale lock is removed once', async () => {
    const out = join(TMP, 'run-race');
    mkdirSync(out);
    const stale = { pid: deadPid(), host: hostname(), started: 'then', command: 'crashed', what: 'x' };
    writeFileSync(join(out, 'run.lock'), JSON.stringify(stale));
    const script = join(TMP, 'race.ts');
    writeFileSync(
      script,
      `import { lockRunFolder } from ${JSON.stringify(join(ROOT, 'src/io/lock.ts'))};\n` +
        `try { lockRunFolder(process.argv[2], 'racer', console.log); console.log('got it'); }\n` +
        `catch (e) { console.error(e.message); process.exit(3); }\n` +
        `process.stdin.resume();\nprocess.stdin.on('end', () => process.exit(0));\n`,
    );
    const racers = Array.from({ length: 4 }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, out], { cwd: ROOT });
      const r = { child, stdout: '', stderr: '', code: undefined as number | null | undefined };
      child.stdout.on('data', (d) => (r.stdout += d));
      child.stderr.on('data', (d) => (r.stderr += d));
      return r;
    });
    // every racer either exits refused or prints "got it" (and then holds the lock until its stdin ends)
    await Promise.all(
      racers.map(
        (r) =>
          new Promise<void>((ok) => {
            r.child.on('exit', (code) => ((r.code = code), ok()));
            r.child.stdout.on('data', () => r.stdout.includes('got it') && ok());
          }),
      ),
    );
    const winners = racers.filter((r) => r.stdout.includes('got it'));
    expect(winners.length).toBe(1);
    const winner = winners[0].child.pid;
    for (const r of racers.filter((r) => r !== winners[0])) {
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`is held by pid ${winner} on ${hostname()} (racer)`);
    }
    expect(
      racers
        .map((r) => r.stdout)
        .join('')
        .match(/removed the stale lock/g)?.length,
    ).toBe(1);
    winners[0].child.stdin.end();
    await new Promise((ok) => winners[0].child.on('exit', ok));
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('acquireLock in one process', () => {
  it('a stale lock (pid dead on this host) is recovered with a log line', () => {
    const path = join(TMP, 'stale');
    const pid = deadPid();
    const stale = {
      pid,
      host: hostname(),
      started: '2020-01-01T00:00:00.000Z',
      command: 'crashed run',
      what: 'x',
    };
    writeFileSync(`${path}.lock`, JSON.stringify(stale));
    const lines: string[] = [];
    const lock = acquireLock(path, 'the stale thing', { log: (s) => lines.push(s) });
    expect(lines).toEqual([
      `lock: removed the stale lock ${path}.lock of pid ${pid} (crashed run, started 2020-01-01T00:00:00.000Z), which no longer runs`,
    ]);
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(readdirSync(TMP).filter((f) => f.startsWith('stale'))).toEqual([]); // no .break or temp files left
  });

  it('a lock of another host is never judged stale; taking a held lock twice is an error', () => {
    const path = join(TMP, 'remote');
    const other = {
      pid: deadPid(),
      host: `not-${hostname()}`,
      started: 's',
      command: 'elsewhere',
      what: 'x',
    };
    writeFileSync(`${path}.lock`, JSON.stringify(other));
    expect(() => acquireLock(path, 'the remote thing')).toThrow(
      `the remote thing is in use: ${path}.lock is held by pid ${other.pid} on not-${hostname()} (elsewhere)`,
    );
    const out = join(TMP, 'run-twice');
    mkdirSync(out);
    const lock = lockRunFolder(out);
    expect(() => lockRunFolder(out)).toThrow(/That is this process: it took the lock twice/);
    lock.release();
    lock.release(); // harmless
    lockRunFolder(out).release();
  });

  it('an unreadable lock file is refused, naming it', () => {
    const path = join(TMP, 'garbage');
    writeFileSync(`${path}.lock`, 'not json');
    expect(() => acquireLock(path, 'the garbage thing')).toThrow(
      `the garbage thing is locked: ${path}.lock exists but is not a lock file this program wrote`,
    );
  });
});

describe('writeFileAtomic temp files', () => {
  it("cleans its own and dead processes' leftovers, never a live process's temp file", () => {
    const dir = join(TMP, 'shared');
    mkdirSync(dir);
    const path = join(dir, 'data.bin');
    const live = process.ppid; // the test runner: alive while this test runs
    expect(pidAlive(live)).toBe(true);
    const dead = deadPid();
    const names = {
      live: `data.bin.tmp-${live}-0`,
      dead: `data.bin.tmp-${dead}-0`,
      own: `data.bin.tmp-${process.pid}-99`,
      livePrev: `data.bin.prev-tmp-${live}`,
      deadPrev: `data.bin.prev-tmp-${dead}`,
      other: 'other.bin.tmp-1-0',
    };
    for (const f of Object.values(names)) writeFileSync(join(dir, f), 'partial');
    writeFileAtomic(path, Uint8Array.of(1, 2, 3));
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    expect(readdirSync(dir).sort()).toEqual(['data.bin', names.live, names.livePrev, names.other].sort());
    expect(readFileSync(join(dir, names.live), 'utf8')).toBe('partial');
  });
});
