// The stack command itself: status contract, idempotent `up`, recovery after unclean kills, and its
// error messages. Runs the real CLI against the real native services.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgPool } from '../../src/clients/postgres.ts';
import { createRedis } from '../../src/clients/redis.ts';
import { ensurePortsFree, nativeProcesses, startService } from '../../src/stack/native.ts';
import { stackPaths } from '../../src/stack/paths.ts';
import { nativeServices } from '../../src/stack/services.ts';
import { serviceNames } from '../../src/stack/versions.ts';
import { silentProgress } from '../../src/stack/progress.ts';
import { env, testId } from '../helpers.ts';

const run = promisify(execFile);
const prism = (...args: string[]) =>
  run(process.execPath, ['bin/prism.js', ...args], { env: process.env, maxBuffer: 16 * 1024 * 1024 });

function pidsOf(names: string[]): Record<string, number | null> {
  return Object.fromEntries(
    nativeProcesses(env)
      .filter((p) => names.includes(p.name))
      .map((p) => [p.name, p.pid]),
  );
}

describe('prism stack', () => {
  it('status --json reports every service healthy with its version', async () => {
    const { stdout } = await prism('stack', 'status', '--json');
    const status = JSON.parse(stdout) as {
      services: { name: string; url: string; healthy: boolean; version: string }[];
    };
    expect(status.services.map((s) => s.name)).toEqual([...serviceNames]);
    for (const s of status.services) {
      expect(Object.keys(s).sort()).toEqual(['healthy', 'name', 'url', 'version']);
      expect(s.healthy, `${s.name} healthy`).toBe(true);
      expect(s.version, `${s.name} version`).toMatch(/^\d+\.\d+/);
      expect(s.url).toMatch(/^[a-z]+:\/\/127\.0\.0\.1:\d+/);
    }
  });

  it('up on a running stack changes nothing', async () => {
    const before = pidsOf(nativeServices.map((s) => s.name));
    const { stdout } = await prism('stack', 'up', '--json');
    expect(
      (JSON.parse(stdout) as { services: { healthy: boolean }[] }).services.every((s) => s.healthy),
    ).toBe(true);
    expect(pidsOf(Object.keys(before))).toEqual(before);
  });

  describe('after services were killed uncleanly', () => {
    const schema = testId('kill');
    const table = `${schema}.kept`;
    const key = testId('kill');
    afterAll(async () => {
      const pool = createPgPool(env);
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pool.end();
      const redis = createRedis(env);
      await redis.del(key);
      await redis.quit();
    });

    it('up restarts them over their stale pid and lock files, with their data', async () => {
      const pool = createPgPool(env);
      await pool.query(`CREATE SCHEMA ${schema}`);
      await pool.query(`CREATE TABLE ${table} (v text)`);
      await pool.query(`INSERT INTO ${table} VALUES ('kept')`);
      const redis = createRedis(env);
      await redis.set(key, 'kept');
      await redis.quit();
      await new Promise((r) => setTimeout(r, 1500)); // Redis syncs its append-only file every second

      await pool.end();

      const before = pidsOf(['postgres', 'redis']);
      for (const pid of Object.values(before)) process.kill(pid!, 'SIGKILL');

      const { stdout } = await prism('stack', 'up', '--json');
      expect(
        (JSON.parse(stdout) as { services: { healthy: boolean }[] }).services.every((s) => s.healthy),
      ).toBe(true);
      const after = pidsOf(['postgres', 'redis']);
      expect(after.postgres).not.toBe(before.postgres);
      expect(after.redis).not.toBe(before.redis);

      const fresh = createPgPool(env);
      expect((await fresh.query(`SELECT v FROM ${table}`)).rows).toEqual([{ v: 'kept' }]);
      await fresh.end();
      const redis2 = createRedis(env);
      expect(await redis2.get(key)).toBe('kept');
      await redis2.quit();
    });
  });

  it('names the port and its owner when a port is taken', async () => {
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const redis = nativeServices.find((s) => s.name === 'redis')!;
      await expect(ensurePortsFree(redis, { ...env, REDIS_PORT: port })).rejects.toThrow(
        new RegExp(`port ${port}, needed by redis, is already in use by node \\(pid ${process.pid}\\)`),
      );
    } finally {
      server.close();
    }
  });

  it('shows the tail of the log of a service that dies while starting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-stack-test-'));
    const paths = { ...stackPaths(env), data: dir, logs: dir, run: dir };
    const failing = {
      name: 'failing',
      serves: ['grafana' as const], // never healthy natively
      marker: 'sh',
      ports: () => [],
      start: async ({ logFile, pidFile }: { logFile: string; pidFile: string }) => {
        const { spawnDetached } = await import('../../src/stack/process.ts');
        return spawnDetached({
          command: 'sh',
          args: ['-c', 'echo "FATAL: cannot open data directory"; sleep 1; exit 3'],
          logFile,
          pidFile,
        });
      },
    };
    await expect(startService(failing, env, paths, silentProgress)).rejects.toThrow(
      /failing exited while starting[\s\S]*FATAL: cannot open data directory/,
    );
  });
});
