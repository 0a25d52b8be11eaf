// Process bookkeeping for the native stack: every service it starts has a pid file, and `down` stops only
// processes whose pid file names them *and* whose command line is still that service (pids get reused
// after a machine restart or a CI run that killed everything).
import { spawn, execFile } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection } from 'node:net';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a process we started ourselves is still running: alive and not a zombie waiting to be reaped.
 * Used while a service starts, where its command line is not a reliable sign (it was read empty once, on a
 * loaded machine, for a process that went on to run normally).
 */
export function stillRunning(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ..." — comm may hold spaces and parentheses, so read after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return isAlive(pid);
  }
}

export function commandLine(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return null;
  }
}

export function readPidFile(file: string): number | null {
  if (!existsSync(file)) return null;
  const pid = Number.parseInt(readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** The pid in `file` if that process is alive and its command line contains `marker`; else null. */
export function ownedPid(file: string, marker: string): number | null {
  const pid = readPidFile(file);
  if (pid === null || !isAlive(pid)) return null;
  return commandLine(pid)?.includes(marker) ? pid : null;
}

export interface SpawnSpec {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  pidFile: string;
  uid?: number;
  gid?: number;
}

/** Starts a long-running process detached from this one, its output appended to its log file. */
export function spawnDetached(spec: SpawnSpec): number {
  const out = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', out, out],
      uid: spec.uid,
      gid: spec.gid,
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.command}`);
    child.unref();
    writeFileSync(spec.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(out);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM (or `signal`), then SIGKILL after `graceMs`. Resolves once the process is gone. */
export async function stopProcess(
  pid: number,
  graceMs = 15_000,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    while (isAlive(pid)) await sleep(50);
  }
}

export function removeFile(file: string): void {
  rmSync(file, { force: true });
}

/** What a (log) file holds from byte `from` on; empty when it does not exist. Reads only that part. */
export function readFrom(file: string, from: number): string {
  if (!existsSync(file)) return '';
  const fd = openSync(file, 'r');
  try {
    const length = Math.max(0, fstatSync(fd).size - from);
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, from);
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** True when something accepts TCP connections on host:port. */
export function portAnswers(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Who listens on a TCP port, as `name (pid N)`, when `ss` can tell; null when nobody does. */
export async function portListener(
  port: number,
  address?: string,
): Promise<{ pid: number | null; description: string } | null> {
  try {
    const { stdout } = await execFileAsync('ss', ['-Hltnp', `sport = :${port}`]);
    // A listener on another address of this box leaves the port free on `address` (the machines of the
    // cluster topology are loopback addresses); one on every address does not.
    const wildcard = (host: string) => ['0.0.0.0', '*', '[::]', '::'].includes(host);
    const line = stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .find((l) => {
        const local = l.trim().split(/\s+/)[3] ?? '';
        const host = local.slice(0, local.lastIndexOf(':')).replace(/^\[::ffff:(.*)\]$/, '$1');
        return !address || wildcard(address) || wildcard(host) || host === address;
      });
    if (!line) return null;
    const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(line);
    if (!m) return { pid: null, description: 'an unknown process' };
    return { pid: Number(m[2]), description: `${m[1]} (pid ${m[2]})` };
  } catch {
    return null;
  }
}

export async function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; uid?: number; gid?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(command, args, { ...options, maxBuffer: 64 * 1024 * 1024 });
}
