// The stack command itself: status contract, idempotent `up`, recovery after unclean kills, and its
// error messages. Runs the real CLI against the real native services.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Destination, type BackupDestination } from '../../src/backup/destination.ts';
import { createKafka } from '../../src/clients/kafka.ts';
import { createS3 } from '../../src/clients/s3.ts';
import { createPgPool } from '../../src/clients/postgres.ts';
import { asPostgresRole } from '../../src/identity.ts';
import { createRedis } from '../../src/clients/redis.ts';
import { parseConfig, rawEnvironment, type Env } from '../../src/config.ts';
import { ensurePortsFree, nativeDown, nativeProcesses, startService } from '../../src/stack/native.ts';
import { ensureDirs, stackPaths, type StackPaths } from '../../src/stack/paths.ts';
import { influxQL } from '../../src/stores/influx/server.ts';
import { nativeServices } from '../../src/stack/services.ts';
import { serviceNames } from '../../src/stack/versions.ts';
import { silentProgress } from '../../src/progress.ts';
import { env, freePorts, waitFor } from '../helpers.ts';

const run = promisify(execFile);
const prism = (...args: string[]) =>
  run(process.execPath, ['bin/prism.js', ...args], { env: process.env, maxBuffer: 16 * 1024 * 1024 });

/** The first of `count` consecutive TCP ports that are all free a moment ago. */
async function freePortBlock(count: number): Promise<number> {
  for (;;) {
    const [base] = await freePorts(1);
    if (base! + count > 65535) continue;
    const free = await Promise.all(
      Array.from(
        { length: count },
        (_, i) =>
          new Promise<boolean>((resolve) => {
            const server = createServer();
            server.once('error', () => resolve(false));
            server.listen(base! + i, '127.0.0.1', () => server.close(() => resolve(true)));
          }),
      ),
    );
    if (free.every(Boolean)) return base!;
  }
}

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

  // A scratch stack of its own (temporary data directory, free ports): the first start of each service that
  // has first-start work (the product database, Kafka's storage format, the InfluxDB admin and database),
  // then an unclean kill and a restart over the stale pid and lock files — without touching the services
  // that the tests (and perhaps a running system) share.
  describe('a scratch stack from an empty data directory', () => {
    const names = ['postgres', 'redis', 'kafka', 'influxdb', 'seaweedfs'];
    const services = nativeServices.filter((s) => names.includes(s.name));
    let scratch: { env: Env; paths: StackPaths; dir: string };
    beforeAll(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'prism-scratch-stack-'));
      const [pgPort, redisPort, redisTlsPort, kafkaPort, kafkaTlsPort, controllerPort, influxPort] =
        await freePorts(7);
      const s3Port = await freePortBlock(9); // SeaweedFS: its S3 API, then its internal ports and /metrics
      const scratchEnv = parseConfig({
        ...rawEnvironment(),
        PRISM_STACK_DATA: dir,
        POSTGRES_PORT: String(pgPort),
        POSTGRES_DB: 'prism_scratch',
        REDIS_PORT: String(redisPort),
        REDIS_TLS_PORT: String(redisTlsPort),
        KAFKA_PORT: String(kafkaPort),
        KAFKA_TLS_PORT: String(kafkaTlsPort),
        KAFKA_CONTROLLER_PORT: String(controllerPort),
        KAFKA_BROKERS: undefined,
        KAFKA_HEAP: '256m',
        INFLUX_PORT: String(influxPort),
        INFLUX_URL: undefined,
        INFLUX_BUCKET: 'prism_scratch',
        S3_PORT: String(s3Port),
        PRISM_BACKUP_S3_ENDPOINT: undefined,
        PRISM_BACKUP_S3_BUCKET: 'prism-scratch',
      });
      const paths = stackPaths(scratchEnv);
      ensureDirs(paths);
      scratch = { env: scratchEnv, paths, dir };
    });
    afterAll(async () => {
      if (!scratch) return;
      await nativeDown(scratch.env, silentProgress);
      rmSync(scratch.dir, { recursive: true, force: true });
      rmSync(keptFile, { force: true });
    });
    const keptFile = join(tmpdir(), `prism-scratch-kept-${process.pid}`);
    const withBucket = async <T>(e: Env, work: (bucket: BackupDestination) => Promise<T>): Promise<T> => {
      writeFileSync(keptFile, 'kept');
      const client = createS3(e);
      try {
        return await work(s3Destination({ client, bucket: e.PRISM_BACKUP_S3_BUCKET }));
      } finally {
        client.destroy();
      }
    };
    const startAll = () =>
      Promise.all(services.map((s) => startService(s, scratch.env, scratch.paths, silentProgress)));
    const pids = () => Object.fromEntries(nativeProcesses(scratch.env).map((p) => [p.name, p.pid] as const));

    it('starts each service on empty data, with its first-start work done', async () => {
      await startAll();
      const { env: e } = scratch;
      // The product's database and roles were made on the first start: the schema's owner creates a table.
      const pool = createPgPool(asPostgresRole(e, 'migrator'));
      try {
        const { rows } = await pool.query<{ db: string }>('SELECT current_database() AS db');
        expect(rows).toEqual([{ db: 'prism_scratch' }]);
        await pool.query('CREATE TABLE kept (v text)');
        await pool.query("INSERT INTO kept VALUES ('kept')");
      } finally {
        await pool.end();
      }
      const redis = createRedis(e);
      await redis.set('kept', 'kept');
      await redis.quit();
      const admin = createKafka(e).admin();
      await admin.connect();
      try {
        await admin.createTopics({ topics: [{ topic: 'kept', numPartitions: 1 }], waitForLeaders: true });
      } finally {
        await admin.disconnect();
      }
      const databases = await influxQL(e, 'SHOW DATABASES');
      expect(databases.map((d) => d.name)).toContain('prism_scratch');
      await influxQL(e, 'CREATE DATABASE kept');
      // SeaweedFS made the backups' bucket on its first start; an object put there is kept.
      await withBucket(e, (bucket) => bucket.put('kept/object', keptFile));
      await new Promise((r) => setTimeout(r, 1500)); // Redis syncs its append-only file every second
    });

    it('restarts them over their stale pid and lock files after SIGKILL, with their data', async () => {
      const before = pids();
      expect(Object.keys(before).filter((n) => before[n] !== null)).toEqual(expect.arrayContaining(names));
      for (const name of names) process.kill(before[name]!, 'SIGKILL');
      // Gone for good (reaped), as after a crash: a dead pid in a lock file must not stop the restart.
      await waitFor('the killed services to be gone', () =>
        names.every((name) => !existsSync(`/proc/${before[name]}`)),
      );
      await startAll();
      const after = pids();
      for (const name of names) expect(after[name], name).not.toBe(before[name]);

      const { env: e } = scratch;
      // Read as the application's role: its privileges on the owner's tables were kept too.
      const pool = createPgPool(e);
      try {
        expect((await pool.query('SELECT v FROM kept')).rows).toEqual([{ v: 'kept' }]);
      } finally {
        await pool.end();
      }
      const redis = createRedis(e);
      expect(await redis.get('kept')).toBe('kept');
      await redis.quit();
      const admin = createKafka(e).admin();
      await admin.connect();
      try {
        expect(await admin.listTopics()).toContain('kept');
      } finally {
        await admin.disconnect();
      }
      expect((await influxQL(e, 'SHOW DATABASES')).map((d) => d.name)).toContain('kept');
      const back = join(scratch.dir, 'kept-back');
      await withBucket(e, (bucket) => bucket.get('kept/object', back));
      expect(readFileSync(back, 'utf8')).toBe('kept');
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
