// The command-line tools backups run (pg_dump, redis-cli, influxd, sqlite3, tar, and server binaries for
// scratch instances), found the same way in both stacks: a `PRISM_<TOOL>_BIN` variable if set, else the
// native stack's built binary (under PRISM_STACK_HOME/bin), else the PATH (the application image installs
// them there).
import { PrismError } from '../errors.ts';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import type { Env } from '../config.ts';

/** Binaries the native stack builds, by the prefix of their cached file name. */
const stackBuilt: Record<string, string> = { weaviate: 'weaviate-server-', influxd: 'influxd-' };

export function resolveTool(name: string, env: Pick<Env, 'PRISM_STACK_HOME'>): string {
  const override = process.env[`PRISM_${name.toUpperCase()}_BIN`];
  if (override) return override;
  const prefix = stackBuilt[name];
  if (prefix) {
    const dir = join(env.PRISM_STACK_HOME, 'bin');
    const built = existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.startsWith(prefix) && !f.endsWith('.partial'))
          .sort(compareVersions)
      : [];
    if (built.length > 0) return join(dir, built.at(-1)!);
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(
    `${name} was not found: install it (the application image has it), run \`prism stack up\` for the native ` +
      `stack's, or set PRISM_${name.toUpperCase()}_BIN`,
  );
}

function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export class ToolError extends PrismError {
  constructor(
    readonly tool: string,
    /** The tool's exit code; null when a signal ended it. */
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    const detail = stderr.trim().split('\n').slice(-5).join('\n');
    super('TOOL_FAILED', `${tool} failed (exit ${exitCode ?? 'signal'})${detail ? `: ${detail}` : ''}`);
    this.name = 'ToolError';
  }
}

/**
 * Runs a tool to completion; resolves with its stdout. Passwords go in `env` (PGPASSWORD, REDISCLI_AUTH),
 * never in `args`, where `ps` shows them. `onTick` is called every `tickMs` while it runs (heartbeats).
 */
export function runTool(
  file: string,
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    onTick?: () => void;
    tickMs?: number;
    label?: string;
  } = {},
): Promise<string> {
  const label = options.label ?? file.split('/').at(-1)!;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-8_000);
    });
    const tick = options.onTick ? setInterval(options.onTick, options.tickMs ?? 5_000) : undefined;
    child.on('error', (e) => {
      clearInterval(tick);
      reject(new Error(`${label} could not be started: ${e.message}`));
    });
    child.on('close', (code) => {
      clearInterval(tick);
      if (code === 0) resolve(Buffer.concat(out).toString());
      else reject(new ToolError(label, code, err));
    });
  });
}

export async function sha256File(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return { sha256: hash.digest('hex'), bytes: (await stat(file)).size };
}

/** A TCP port free on 127.0.0.1 right now (for a scratch instance). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

/**
 * `count` consecutive TCP ports free on 127.0.0.1 right now. Some servers derive one port from another
 * (Weaviate's Raft RPC port is its Raft port + 1, its data port its gossip port + 1).
 */
export async function freePortRange(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if ((await Promise.all(ports.map(canBind))).every(Boolean)) return ports;
  }
  throw new Error(`no ${count} consecutive free ports found on 127.0.0.1`);
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Packs a directory's contents into a gzipped tarball. */
export function tarDirectory(dir: string, file: string, onTick?: () => void): Promise<string> {
  return runTool('tar', ['-czf', file, '-C', dir, '.'], { onTick, label: 'tar' });
}

export function untar(file: string, dir: string, onTick?: () => void): Promise<string> {
  return runTool('tar', ['-xzf', file, '-C', dir], { onTick, label: 'tar' });
}

/** Polls `check` until it returns true or `timeoutMs` passes (then throws `what`). */
export async function until(
  check: () => Promise<boolean>,
  /** What did not happen (a function: evaluated when it is reported, e.g. with a log's last lines). */
  what: string | (() => string),
  timeoutMs = 60_000,
  everyMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) {
      const text = typeof what === 'function' ? what() : what;
      throw new Error(`${text} (waited ${Math.round(timeoutMs / 1000)} s)`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The sha256 of a sequence of strings, each followed by a newline. */
export function digestOf(lines: Iterable<string>): string {
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line).update('\n');
  return hash.digest('hex');
}
