// `prism stack logs`, `prism stack restart` and `down --remove-data` (spec 5.2) through the real CLI: the
// logs of the running PostgreSQL (a line it wrote because of this test), and a restart and a data removal
// on a scratch Redis of this test's own — a temporary data directory and free ports — so that nothing the
// other tests (or a running system) use is stopped or deleted.
import { execFile, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appStatus, stopApp } from '../../src/app/index.ts';
import { createRedis } from '../../src/clients/redis.ts';
import { parseConfig, rawEnvironment, secretsFile, stackDataDir, type Env } from '../../src/config.ts';
import { context, nativeDown, startService } from '../../src/stack/native.ts';
import { ensureDirs, stackPaths } from '../../src/stack/paths.ts';
import { isAlive, ownedPid } from '../../src/stack/process.ts';
import { nativeServices } from '../../src/stack/services.ts';
import { silentProgress } from '../../src/progress.ts';
import { env, freePorts, testId, waitFor } from '../helpers.ts';

const execFileAsync = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `prism <args>` with `extraEnv`; its exit code and output, whatever the code. */
async function prism(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['bin/prism.js', ...args], {
      env: { ...process.env, ...extraEnv },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A login PostgreSQL refuses, so that it writes a line naming `user` into its log. */
async function failedLogin(user: string): Promise<void> {
  const client = new pg.Client({
    host: env.POSTGRES_HOST?.split(',')[0] ?? '127.0.0.1',
    port: env.POSTGRES_PORT,
    user,
    password: 'not-the-password',
    database: env.POSTGRES_DB,
  });
  await expect(client.connect()).rejects.toThrow(/password authentication failed/);
  await client.end().catch(() => undefined);
}

describe('prism stack logs', () => {
  const probe = testId('logs');

  beforeAll(async () => {
    await failedLogin(`${probe}_a`);
  });

  it('prints the lines a running service wrote, filtered by --grep and --since', async () => {
    const lines = await waitFor(
      'PostgreSQL to log the refused login',
      async () => {
        const run = await prism(['stack', 'logs', 'postgres', '--since', '10m', '--grep', probe]);
        expect(run.code, run.stderr).toBe(0);
        return run.stdout.includes(`${probe}_a`) && run.stdout.trimEnd().split('\n');
      },
      30_000,
      500,
    );
    // PostgreSQL's own line, and nothing that does not match.
    expect(
      lines.some((l) => /FATAL: +password authentication failed for user "test_logs_\w+_a"/.test(l)),
    ).toBe(true);
    for (const line of lines) expect(line).toContain(probe);
    // A pattern nothing matches: nothing; the last N lines without one: N of them.
    expect((await prism(['stack', 'logs', 'postgres', '--grep', `${probe}_nothing`])).stdout).toBe('');
    const tail = await prism(['stack', 'logs', 'postgres', '--lines', '5']);
    expect(tail.stdout.trimEnd().split('\n')).toHaveLength(5);
    // A time after the line: it is left out.
    const later = await prism([
      'stack',
      'logs',
      'postgres',
      '--since',
      new Date(Date.now() + 60_000).toISOString(),
      '--grep',
      probe,
    ]);
    expect(later).toEqual(expect.objectContaining({ code: 0, stdout: '' }));
  });

  it("of every service at once, each line prefixed with its service's name", async () => {
    const run = await prism(['stack', 'logs', '--since', '10m', '--grep', probe]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(new RegExp(`^postgres +\\| .*${probe}`));
  });

  it('follows the log until interrupted, printing what is written after it started', async () => {
    const child = spawn(
      process.execPath,
      ['bin/prism.js', 'stack', 'logs', 'postgres', '-f', '--grep', `${probe}_(b|c)`],
      {
        env: process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      // Written until the command (slow to start on a loaded machine) has shown it: then it follows.
      await waitFor(
        'the follower to show the first refused login',
        async () => {
          if (!out.includes(`${probe}_b`)) await failedLogin(`${probe}_b`);
          return out.includes(`${probe}_b`);
        },
        60_000,
        1_000,
      );
      await failedLogin(`${probe}_c`);
      await waitFor(
        'the follower to show a line written while it follows',
        () => out.includes(`${probe}_c`),
        20_000,
      );
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });

  it('exits 2 on an unknown service, listing the known ones', async () => {
    for (const command of [
      ['stack', 'logs', 'postgresql'],
      ['stack', 'restart', 'postgresql'],
    ]) {
      const run = await prism(command);
      expect(run.code, command.join(' ')).toBe(2);
      expect(run.stderr).toMatch(
        /no service or process named "postgresql"\. Known: services: postgres, redis, kafka/,
      );
      expect(run.stderr).toMatch(/processes of `prism up`: worker, maintenance-worker/);
      expect(run.stderr).toContain('[UNKNOWN_SERVICE]');
    }
  });
});

// A Redis of this test's own in a temporary data directory, with the stack's secrets (copied beside it, as
// `stack up` keeps them), driven by the CLI with that directory and its ports.
describe('restart and --remove-data on a scratch stack', () => {
  const redis = nativeServices.find((s) => s.name === 'redis')!;
  let dir: string;
  let scratch: Env;
  let cliEnv: NodeJS.ProcessEnv;
  const pid = () => ownedPid(context(redis, scratch, stackPaths(scratch)).pidFile, redis.marker);
  const mainRedisPid = () => ownedPid(context(redis, env, stackPaths(env)).pidFile, redis.marker);
  let mainBefore: number | null;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'prism-stack-management-'));
    const [port, tlsPort, apiPort] = await freePorts(3);
    scratch = parseConfig({
      ...rawEnvironment(),
      PRISM_STACK_DATA: dir,
      PRISM_TOPOLOGY: 'single',
      REDIS_PORT: String(port),
      REDIS_TLS_PORT: String(tlsPort),
      API_PORT: String(apiPort),
    });
    cliEnv = {
      PRISM_STACK_DATA: dir,
      PRISM_TOPOLOGY: 'single',
      PRISM_STACK_MODE: 'native',
      REDIS_PORT: String(port),
      REDIS_TLS_PORT: String(tlsPort),
      // A process of `prism up` on it: the API, on a port of its own (it consumes nothing others would miss).
      API_PORT: String(apiPort),
    };
    // Never the default stack: the directory is this test's own temporary one.
    expect(resolve(dir).startsWith(resolve(tmpdir()))).toBe(true);
    expect(resolve(dir)).not.toBe(stackDataDir({}));
    expect(resolve(dir)).not.toBe(stackPaths(env).data);
    ensureDirs(stackPaths(scratch));
    if (existsSync(secretsFile())) copyFileSync(secretsFile(), join(dir, 'secrets.env'));
    mainBefore = mainRedisPid();
    await startService(redis, scratch, stackPaths(scratch), silentProgress);
  });

  afterAll(async () => {
    if (!scratch) return;
    await stopApp(scratch, silentProgress);
    await nativeDown(scratch, silentProgress);
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}-beside`, { recursive: true, force: true });
  });

  it('restarts the service: a new pid, ready again, its data kept', async () => {
    const client = createRedis(scratch);
    await client.set('kept', 'before the restart');
    await client.quit();
    await new Promise((r) => setTimeout(r, 1_500)); // its append-only file is synced every second
    const before = pid();
    expect(before).not.toBeNull();

    const run = await prism(['stack', 'restart', 'redis', '--json'], cliEnv);
    expect(run.code, run.stderr).toBe(0);
    const [result] = JSON.parse(run.stdout) as {
      name: string;
      before: number;
      after: number;
      healthy: boolean;
    }[];
    expect(result).toEqual(expect.objectContaining({ name: 'redis', before, healthy: true }));
    expect(result!.after).not.toBe(before);
    expect(pid()).toBe(result!.after);
    expect(isAlive(before!)).toBe(false);
    expect(run.stderr).toContain(`stopping redis (pid ${before})`);

    const again = createRedis(scratch);
    expect(await again.get('kept')).toBe('before the restart');
    await again.quit();
    // The shared Redis was not touched.
    expect(mainRedisPid()).toBe(mainBefore);
  });

  it('restarts a process of `prism up` (the API) by its pid, until it serves again', async () => {
    const apiPid = () => appStatus(scratch).find((p) => p.name === 'api')!.pid;
    const first = await prism(['stack', 'restart', 'api', '--json'], cliEnv);
    expect(first.code, first.stderr).toBe(0);
    const [started] = JSON.parse(first.stdout) as {
      before: number | null;
      after: number;
      healthy: boolean;
    }[];
    expect(started).toEqual(expect.objectContaining({ before: null, healthy: true }));
    const second = await prism(['stack', 'restart', 'api', '--json'], cliEnv);
    expect(second.code, second.stderr).toBe(0);
    const [restarted] = JSON.parse(second.stdout) as { before: number; after: number; healthy: boolean }[];
    expect(restarted).toEqual(expect.objectContaining({ before: started!.after, healthy: true }));
    expect(restarted!.after).not.toBe(started!.after);
    expect(isAlive(started!.after)).toBe(false);
    expect(apiPid()).toBe(restarted!.after);
    const health = await fetch(`http://127.0.0.1:${scratch.API_PORT}/healthz`);
    expect(health.status).toBe(200);
  });

  it('prints the log of the scratch service, written by it', async () => {
    const run = await prism(['stack', 'logs', 'redis', '--grep', 'Ready to accept connections'], cliEnv);
    expect(run.code, run.stderr).toBe(0);
    // Once for the first start and once for the restart.
    expect(run.stdout.trimEnd().split('\n').length).toBeGreaterThanOrEqual(2);
  });

  it('--remove-data refuses without a terminal and without --yes, and changes nothing', async () => {
    const running = pid();
    for (const command of [
      ['stack', 'down', '--remove-data'],
      ['down', '--remove-data'],
    ]) {
      const run = await prism(command, cliEnv);
      expect(run.code, command.join(' ')).toBe(2);
      expect(run.stderr).toContain(join(dir, 'redis'));
      expect(run.stderr).toMatch(/no terminal to confirm it on: pass --yes[\s\S]*\[CONFIRMATION_REQUIRED\]/);
    }
    expect(pid()).toBe(running);
    expect(existsSync(join(dir, 'redis'))).toBe(true);
  });

  it('--remove-data at a terminal removes nothing unless "yes" is typed', async () => {
    // `script` gives the command a terminal; its input is what is typed.
    const command = `${process.execPath} bin/prism.js stack down --remove-data`;
    const typed = await new Promise<Run>((done) => {
      const child = execFile(
        'script',
        ['-qec', command, '/dev/null'],
        { env: { ...process.env, ...cliEnv } },
        (err, stdout, stderr) =>
          done({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
      );
      child.stdin!.end('no\n');
    });
    expect(typed.stdout).toContain('Type "yes" to stop the services and delete it');
    expect(typed.stdout).toContain('--remove-data was not confirmed');
    expect(typed.code).toBe(2);
    expect(pid()).not.toBeNull();
    expect(existsSync(join(dir, 'redis'))).toBe(true);
  });

  it("prism down --remove-data --yes stops the processes and the stack, and deletes only its services' data directories", async () => {
    const running = pid()!;
    writeFileSync(join(dir, 'keep-me'), 'kept');
    mkdirSync(`${dir}-beside`);
    writeFileSync(join(`${dir}-beside`, 'keep-me'), 'kept');
    const api = appStatus(scratch).find((p) => p.name === 'api')!.pid;
    expect(api).not.toBeNull();
    const before = readdirSync(dir).sort();
    const run = await prism(['down', '--remove-data', '--yes'], cliEnv);
    expect(run.code, run.stderr).toBe(0);
    // It said exactly what it deletes: the one service's data directory there is.
    const listed = run.stderr.split('\n').filter((l) => l.startsWith('  /'));
    expect(listed.map((l) => l.trim())).toEqual([join(dir, 'redis')]);
    expect(isAlive(running)).toBe(false);
    expect(isAlive(api!)).toBe(false); // `prism down` stops the processes of `prism up` first
    expect(existsSync(join(dir, 'redis'))).toBe(false);
    // Everything else in the data directory is still there: the logs, pid files, secrets, a file of the user's.
    expect(readdirSync(dir).sort()).toEqual(before.filter((f) => f !== 'redis'));
    expect(before).toEqual(expect.arrayContaining(['keep-me', 'logs', 'redis', 'run']));
    expect(existsSync(join(dir, 'logs', 'redis.log'))).toBe(true);
    expect(existsSync(join(`${dir}-beside`, 'keep-me'))).toBe(true);
    expect(mainRedisPid()).toBe(mainBefore);
  });
});
