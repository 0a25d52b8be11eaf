// Backups of every store, as the product takes and restores them: the backupRun workflow on a maintenance
// worker of the tests' deployment writes to a backup directory of the test's own; `prism backup restore` (the CLI, as an
// operator runs it) puts it back. Data in every store → backup → wipe → restore → identical; a flipped byte
// or a missing manifest is refused and nothing changes; the drill records its result and alerts when it
// fails; retention deletes exactly what its policy does not keep; the schedules exist once however often
// provisioning runs.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { createAlertStore } from '../../src/alerts/store.ts';
import { fetchVerified, listBackups, readManifest } from '../../src/backup/backup.ts';
import { compareContents } from '../../src/backup/manifest.ts';
import { postgresStore } from '../../src/backup/stores/postgres.ts';
import { persistentKeys } from '../../src/backup/stores/redis.ts';
import { runKafkaAgent } from '../../src/agents/kafka-transport.ts';
import { silentLogger } from '../../src/agents/logger.ts';
import { monitoringAgent } from '../../src/agents/reference/monitoring.ts';
import { sensorReading } from '../../src/stores/influx/points.ts';
import { createInfluxWriter } from '../../src/stores/influx/writer.ts';
import { startTask, waitForTask } from '../../src/task/client.ts';
import { workflowIdFor } from '../../src/task/contract.ts';
import { localDestination } from '../../src/backup/destination.ts';
import type { BackupManifest } from '../../src/backup/manifest.ts';
import { createRedis } from '../../src/clients/redis.ts';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { connectWeaviate } from '../../src/clients/weaviate.ts';
import type { Env } from '../../src/config.ts';
import { asBackup } from '../../src/identity.ts';
import { createPrisma, type PrismaClient } from '../../src/db/prisma.ts';
import { influxQL } from '../../src/stores/influx/server.ts';
import { provisionSchedules } from '../../src/stores/temporal/schedules.ts';
import { collectionName } from '../../src/stores/weaviate/schema.ts';
import { loadGloveEmbedder } from '../../src/stores/weaviate/glove-embedder.ts';
import { silentProgress } from '../../src/progress.ts';
import { startWorker, type RunningWorker } from '../../src/worker/index.ts';
import { startMaintenanceWorker } from '../../src/worker/maintenance.ts';
import { env as testEnv, testId, waitFor } from '../helpers.ts';

const run = promisify(execFile);

describe('backups of every store', () => {
  let dir: string;
  let env: Env;
  let worker: RunningWorker;
  let maintenance: RunningWorker;
  let temporal: Client;
  let prisma: PrismaClient;
  const redis = createRedis(testEnv);
  const marker = testId('backup');
  const knowledge = collectionName('ExternalKnowledge', testEnv.WEAVIATE_COLLECTION_PREFIX);
  const objectIds = [randomUUID(), randomUUID()];
  const measurement = `backup_test_${marker.slice(-8)}`;
  let backupId: string;

  /** `prism backup ...` as an operator runs it, with the test's backup directory. */
  const prism = (...args: string[]) =>
    run('node', ['bin/prism.js', 'backup', ...args], {
      env: { ...process.env, PRISM_BACKUP_DIR: dir },
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        stdout: e.stdout,
        stderr: e.stderr,
      }),
    );

  const startBackup = async (args: Record<string, unknown> = {}) =>
    temporal.workflow.execute('backupRun', {
      workflowId: `backup-test-${randomUUID()}`,
      taskQueue: env.TEMPORAL_MAINTENANCE_TASK_QUEUE,
      args: [{ reason: 'test', ...args }],
    }) as Promise<{ backupId: string; bytes: number }>;

  /** What the test put in each store, read back. */
  async function snapshot() {
    const client = await connectWeaviate(env);
    try {
      const collection = client.collections.use(knowledge);
      const objects = await Promise.all(
        objectIds.map((id) => collection.query.fetchObjectById(id, { includeVector: true })),
      );
      return {
        task: await prisma.task.findMany({
          where: { requestId: marker },
          include: { queries: true },
        }),
        tables: {
          tasks: await prisma.task.count(),
          userQueries: await prisma.userQuery.count(),
          history: await prisma.taskHistory.count(),
        },
        redis: {
          string: await redis.get(`${marker}:s`),
          ttl: (await redis.pttl(`${marker}:s`)) > 0,
          hash: await redis.hgetall(`${marker}:h`),
          stream: await redis.xrange(`${marker}:x`, '-', '+'),
          // The keys a backup counts and compares: those without a TTL.
          keys: (await persistentKeys(redis)).length,
        },
        weaviate: objects.map((o) => o && { uuid: o.uuid, properties: o.properties, vectors: o.vectors }),
        influx: await influxQL(env, `SELECT * FROM "${measurement}" ORDER BY time`, env.INFLUX_BUCKET),
      };
    } finally {
      await client.close();
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'prism-backup-test-'));
    // The workers of this test alone (their own task queues), the maintenance one writing to the test's
    // directory.
    const queue = `backup-test-${randomUUID().slice(0, 8)}`;
    env = {
      ...testEnv,
      PRISM_BACKUP_DIR: dir,
      TEMPORAL_TASK_QUEUE: queue,
      TEMPORAL_MAINTENANCE_TASK_QUEUE: `${queue}-maintenance`,
    };
    // With the bridge: the tasks of the "while tasks run" test need their agent's answers signalled back.
    [worker, maintenance] = await Promise.all([
      startWorker(env, { metricsPort: null, log: () => {}, withIngress: false }),
      startMaintenanceWorker(env, { metricsPort: null, log: () => {} }),
    ]);
    temporal = await connectTemporal(env);
    prisma = createPrisma(env);

    // Data in every store.
    await prisma.task.create({
      data: {
        requestId: marker,
        workflowId: `task-${marker}`,
        status: 'COMPLETED',
        result: { note: 'ünïcode ✓', values: [1.5, 2] },
        queries: { create: [{ queryText: `backup test ${marker}`, queryType: 'MONITORING' }] },
      },
    });
    await redis.set(`${marker}:s`, 'ünïcode value ✓', 'PX', 3_600_000);
    await redis.hset(`${marker}:h`, { a: '1', b: 'two' });
    await redis.xadd(`${marker}:x`, '*', 'event', 'first');
    const embedder = await loadGloveEmbedder();
    const vectors = await embedder.embed(['spindle bearing temperature', 'coolant pressure drop']);
    const client = await connectWeaviate(env);
    try {
      const collection = client.collections.use(knowledge);
      for (const [i, id] of objectIds.entries()) {
        await collection.data.insert({
          id,
          properties: {
            title: `${marker} ${i}`,
            content: `backup test object ${i}`,
            documentType: 'FAQ',
            createdAt: new Date('2026-11-30T00:00:00Z'),
            accessCount: i,
          },
          vectors: vectors[i]!,
        });
      }
    } finally {
      await client.close();
    }
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    const lines = Array.from(
      { length: 25 },
      (_, i) =>
        `${measurement},machine=m${i % 3} value=${(i * 1.5).toFixed(1)},label="p${i}" ${base + i * 1000}000000`,
    ).join('\n');
    const res = await fetch(`${env.INFLUX_URL}/write?db=${env.INFLUX_BUCKET}`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from(env.INFLUX_TOKEN).toString('base64')}` },
      body: lines,
    });
    expect(res.status).toBe(204);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([worker?.stop(), maintenance?.stop()]);
    await temporal?.connection.close();
    const db = createPrisma(env);
    await db.task.deleteMany({ where: { requestId: marker } }).catch(() => undefined);
    await db.backupRun
      .deleteMany({ where: { runKey: { startsWith: 'backup-test-' } } })
      .catch(() => undefined);
    await db.$disconnect();
    await prisma?.$disconnect();
    const keys = await redis.keys(`${marker}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    const client = await connectWeaviate(env);
    for (const id of objectIds)
      await client.collections
        .use(knowledge)
        .data.deleteById(id)
        .catch(() => undefined);
    await client.close();
    await influxQL(env, `DROP MEASUREMENT "${measurement}"`, env.INFLUX_BUCKET).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('backs up every store, with a manifest written last that describes each', async () => {
    const before = await snapshot();
    const result = await startBackup();
    backupId = result.backupId;
    const manifest = await readManifest(localDestination(dir), backupId);
    expect(manifest.stores.map((s) => s.store)).toEqual([
      'postgres',
      'redis',
      'weaviate',
      'influxdb',
      'temporal',
    ]);
    const part = (store: string) => manifest.stores.find((s) => s.store === store)!;
    expect(part('postgres').scope).toEqual({ database: env.POSTGRES_DB });
    expect(part('postgres').counts.tasks).toBe(before.tables.tasks);
    expect(part('redis').counts[`db${env.REDIS_DB}`]).toBe(before.redis.keys);
    expect(part('weaviate').counts[knowledge]).toBeGreaterThanOrEqual(2);
    expect(part('influxdb').counts[measurement]).toBe(25);
    // Its databases' tables, each under its database's name.
    expect(part('temporal').counts['temporal/executions']).toBeGreaterThan(0);
    for (const s of manifest.stores) {
      expect(s.files.length).toBeGreaterThan(0);
      for (const f of s.files) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(manifest.totals.bytes).toBe(
      manifest.stores.flatMap((s) => s.files).reduce((n, f) => n + f.bytes, 0),
    );
    // The run is recorded once, and findable by its search attributes — once Temporal's visibility store
    // has caught up: the server on PostgreSQL writes visibility asynchronously, seconds behind when busy.
    const row = await prisma.backupRun.findFirst({ where: { backupId, kind: 'BACKUP' } });
    expect(row?.ok).toBe(true);
    const listed = async () => {
      const found: string[] = [];
      for await (const w of temporal.workflow.list({
        query: `BackupId = '${backupId}' AND BackupOutcome = 'COMPLETED'`,
      }))
        found.push(w.workflowId);
      return found;
    };
    const found = await waitFor(
      `backup ${backupId} in Temporal's visibility`,
      async () => {
        const ids = await listed();
        return ids.length > 0 && ids;
      },
      60_000,
      500,
    );
    expect(found).toHaveLength(1);
  }, 300_000);

  it('restores every store after a wipe: rows, keys, objects with their vectors, points are as they were', async () => {
    const before = await snapshot();
    expect(before.task).toHaveLength(1);
    expect(before.weaviate.every(Boolean)).toBe(true);
    // Wipe what the test put in each store.
    await prisma.task.deleteMany({ where: { requestId: marker } });
    await redis.del(`${marker}:s`, `${marker}:h`, `${marker}:x`);
    const client = await connectWeaviate(env);
    for (const id of objectIds) await client.collections.use(knowledge).data.deleteById(id);
    await client.close();
    await influxQL(env, `DROP MEASUREMENT "${measurement}"`, env.INFLUX_BUCKET);
    expect((await snapshot()).task).toHaveLength(0);

    const restored = await prism('restore', backupId, '--yes', '--json');
    // On failure, the command's own words: which store and step, and why.
    expect(restored.code, `prism backup restore failed:\n${restored.stdout}\n${restored.stderr}`).toBe(0);
    expect(restored.stderr + restored.stdout).not.toMatch(/Error:/);
    const result = JSON.parse(restored.stdout) as { replaced: string[]; safetyBackup: string };
    expect(result.replaced).toHaveLength(4);
    // The data the restore replaced is itself kept, as a backup of its own.
    const safety = await readManifest(localDestination(dir), result.safetyBackup);
    expect(safety.reason).toBe('pre-restore');

    // The database was swapped: new connections see the restored one.
    await prisma.$disconnect();
    prisma = createPrisma(env);
    const after = await snapshot();
    expect(after).toEqual(before);
    // ...with the live database's own settings: its owner, and only the product's roles may connect.
    const [settings] = await prisma.$queryRaw<{ owner: string; connecting: string[] }[]>`
      SELECT pg_get_userbyid(d.datdba)::text AS owner,
             array(SELECT coalesce(pg_get_userbyid(nullif(a.grantee, 0))::text, 'PUBLIC')
                     FROM aclexplode(d.datacl) a WHERE a.privilege_type = 'CONNECT' ORDER BY 1) AS connecting
        FROM pg_database d WHERE d.datname = current_database()`;
    expect(settings).toEqual({
      owner: 'prism_migrator',
      connecting: ['prism_agent', 'prism_app', 'prism_backup', 'prism_migrator', 'prism_monitor'],
    });
    // The swapped-out database is kept, named in the output; drop it.
    const kept = /kept as (\S+)/.exec(result.replaced.join('\n'))?.[1];
    expect(kept).toMatch(new RegExp(`^${env.POSTGRES_DB}_before_restore_`));
    // As the backup role, which made it (the application's role may drop no database).
    const backupRole = createPrisma(asBackup(env));
    await backupRole.$executeRawUnsafe(`DROP DATABASE IF EXISTS "${kept}" WITH (FORCE)`);
    await backupRole.$disconnect();
  }, 300_000);

  it('takes a backup while tasks run that loses nothing and restores a consistent state', async () => {
    const machine = `${marker}-m`.replaceAll('_', '-');
    const writer = createInfluxWriter(env);
    for (let s = 0; s < 30; s++) {
      writer.write(
        sensorReading({
          line: 'line-backup',
          machine,
          sensorType: 'spindle_temperature_c',
          value: 60 + (s % 5),
          quality: 'GOOD',
          time: Date.now() - 60_000 + s * 1000,
        }),
      );
    }
    await writer.close();
    const agent = await runKafkaAgent({
      ...monitoringAgent,
      env,
      agentId: `backup-monitoring-${marker.slice(-8)}`,
      log: silentLogger,
    });
    const started: string[] = [];
    let loading = true;
    const load = (async () => {
      for (let i = 0; loading; i++) {
        const requestId = `${marker}-load-${i}`;
        await startTask(temporal, env, {
          requestId,
          query: 'Check the spindle temperature',
          agentType: 'MONITORING',
          parameters: { machine, sensorType: 'spindle_temperature_c', since: '-10m' },
        });
        started.push(requestId);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      await waitFor('tasks under way', () => started.length >= 5, 30_000);
      // The tasks recorded before the backup: a started workflow writes its task's row in its first activity,
      // so wait for the rows (a task started a moment before the backup may land on either side of it).
      const startedBefore = [...started];
      await waitFor(
        'the tasks started so far recorded in PostgreSQL',
        async () =>
          (await prisma.task.count({ where: { requestId: { in: startedBefore } } })) === startedBefore.length,
        30_000,
      );
      const { backupId: id } = await startBackup({ stores: ['postgres', 'redis'] });
      loading = false;
      await load;
      const outcomes = await Promise.all(started.map((r) => waitForTask(temporal, workflowIdFor(r))));
      expect(
        outcomes.filter((o) => o.status !== 'COMPLETED').map((o) => JSON.stringify(o).slice(0, 400)),
      ).toEqual([]);
      const manifest = await readManifest(localDestination(dir), id);
      // Restored into a scratch database: what the manifest says (taken in the dump's own snapshot), every
      // task started before the backup, and each with its query and a consistent history.
      const work = await mkdtemp(join(tmpdir(), 'prism-backup-scratch-'));
      try {
        await fetchVerified(localDestination(dir), manifest, ['postgres'], work, () => {});
        const scratch = await postgresStore.restoreToScratch(
          {
            env: asBackup(env),
            workDir: join(work, 'postgres'),
            progress: () => {},
            scratchSuffix: 'whilerun',
          },
          manifest.stores[0]!,
        );
        try {
          expect(compareContents(manifest.stores[0]!, scratch)).toEqual([]);
          const db = createPrisma({ ...env, POSTGRES_DB: scratch.description.replace('database ', '') });
          try {
            const tasks = await db.task.findMany({
              where: { requestId: { startsWith: `${marker}-load-` } },
              include: { queries: true, history: true },
            });
            const restored = new Set(tasks.map((t) => t.requestId));
            expect(startedBefore.filter((r) => !restored.has(r))).toEqual([]);
            for (const t of tasks) {
              expect(t.queries).toHaveLength(1);
              const events = t.history.map((h) => h.eventKey);
              if (t.status === 'COMPLETED') {
                expect(t.completedAt).not.toBeNull();
                expect(t.result).not.toBeNull();
              }
              expect(new Set(events).size).toBe(events.length);
            }
          } finally {
            await db.$disconnect();
          }
        } finally {
          await scratch.drop();
        }
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    } finally {
      loading = false;
      await load.catch(() => undefined);
      await agent.stop();
      await prisma.task.deleteMany({ where: { requestId: { startsWith: `${marker}-load-` } } });
    }
  }, 300_000);

  it('refuses a backup with a flipped byte, naming the file, and changes nothing', async () => {
    const copyId = backupId.replace(/-[0-9a-f]{4}$/, '-ffff');
    const destination = localDestination(dir);
    for (const key of await destination.list(`${backupId}/`)) {
      const target = join(dir, key.replace(backupId, copyId));
      await mkdir(join(target, '..'), { recursive: true });
      let bytes = await readFile(join(dir, key));
      if (key.endsWith('manifest.json')) bytes = Buffer.from(bytes.toString().replace(backupId, copyId));
      if (key.endsWith('redis.rdb')) {
        const at = Math.floor(bytes.length / 2);
        bytes.writeUInt8(bytes.readUInt8(at) ^ 0xff, at);
      }
      await writeFile(target, bytes);
    }
    await redis.set(`${marker}:changed`, 'after the backup');
    const refused = await prism('restore', copyId, '--yes');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/redis\/redis\.rdb does not match its sha256/);
    expect(refused.stderr).toMatch(/Nothing was changed/);
    // As JSON too: which part and step of the restore failed, and why.
    const refusedJson = await prism('restore', copyId, '--yes', '--json');
    expect(refusedJson.code).not.toBe(0);
    expect(JSON.parse(refusedJson.stdout)).toMatchObject({
      ok: false,
      backupId: copyId,
      store: 'backup',
      step: 'fetching and checking its files',
      reason: expect.stringMatching(/redis\/redis\.rdb does not match its sha256/),
      replacedBefore: [],
    });
    expect(await redis.get(`${marker}:changed`)).toBe('after the backup');
    const verify = await prism('verify', copyId);
    expect(verify.code).not.toBe(0);
    // A backup without its manifest is incomplete, and refused too.
    await rm(join(dir, copyId, 'manifest.json'));
    const incomplete = await prism('restore', copyId, '--yes');
    expect(incomplete.stderr).toMatch(/no manifest: it is incomplete/);
    const listed = (await listBackups(destination)).find((b) => b.id === copyId);
    expect(listed?.complete).toBe(false);
    await rm(join(dir, copyId), { recursive: true, force: true });
  }, 120_000);

  it('drills the newest backup: recorded in PostgreSQL and InfluxDB; a damaged one fails the drill and raises an alert', async () => {
    const drill = (id?: string) =>
      temporal.workflow.execute('backupDrill', {
        workflowId: `backup-test-drill-${randomUUID()}`,
        taskQueue: env.TEMPORAL_MAINTENANCE_TASK_QUEUE,
        args: [{ backupId: id }],
      }) as Promise<{ backupId: string; ok: boolean; stores: { store: string; ok: boolean }[] }>;
    const good = await drill(backupId);
    expect(good.ok).toBe(true);
    expect(good.stores.map((s) => s.store)).toEqual([
      'postgres',
      'redis',
      'weaviate',
      'influxdb',
      'temporal',
    ]);
    const drills = await prisma.backupRun.findMany({ where: { backupId, kind: 'DRILL' } });
    expect(drills.map((d) => d.ok)).toEqual([true]);
    const points = await waitFor('the drill point in InfluxDB', async () => {
      const rows = await influxQL(
        env,
        `SELECT * FROM backup_run WHERE backup_id = '${backupId}' AND kind = 'drill'`,
        env.INFLUX_BUCKET,
      );
      return rows.length > 0 && rows;
    });
    expect(points[0]).toMatchObject({ outcome: 'ok', problems: 0 });

    // Damage the Weaviate file of the backup: the drill finds it, fails, and alerts.
    const file = join(dir, backupId, 'weaviate', 'weaviate.tar.gz');
    const original = await readFile(file);
    const damaged = Buffer.from(original);
    damaged.writeUInt8(damaged.readUInt8(10) ^ 0x01, 10);
    await writeFile(file, damaged);
    try {
      const failed = await drill(backupId).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(WorkflowFailedError);
      expect(String((failed as WorkflowFailedError).cause?.message)).toMatch(
        /weaviate\.tar\.gz does not match its sha256/,
      );
      const rows = await prisma.backupRun.findMany({
        where: { backupId, kind: 'DRILL' },
        orderBy: { finishedAt: 'asc' },
      });
      expect(rows.map((r) => r.ok)).toEqual([true, false]);
      const alerts = createAlertStore(redis);
      const alert = await waitFor('the drill alert', async () => {
        const a = await alerts.get('backup.drill-failed');
        return a?.status === 'FIRING' && a;
      });
      expect(alert).toMatchObject({ name: 'BackupDrillFailed', severity: 'CRITICAL' });
    } finally {
      await writeFile(file, original);
    }
    // The next good drill resolves it.
    expect((await drill(backupId)).ok).toBe(true);
    await waitFor('the drill alert resolved', async () => {
      const a = await createAlertStore(redis).get('backup.drill-failed');
      return a?.status === 'RESOLVED';
    });
  }, 600_000);

  it('retention deletes exactly the backups its policy does not keep, manifests and files', async () => {
    const retentionDir = await mkdtemp(join(tmpdir(), 'prism-retention-test-'));
    const now = new Date();
    const day = 86_400_000;
    const idAt = (ms: number, suffix: string) =>
      `${new Date(ms)
        .toISOString()
        .replace(/\.\d+Z$/, 'Z')
        .replace(/[-:]/g, '')
        .toLowerCase()}-${suffix}`;
    // Two a day for the last 10 days (every 12 hours from a minute ago); one incomplete from 3 days ago, one
    // from an hour ago.
    const ids = Array.from({ length: 20 }, (_, k) =>
      idAt(now.getTime() - 60_000 - k * 43_200_000, `a${String(k).padStart(3, '0')}`),
    );
    const manifestOf = (id: string): BackupManifest => ({
      format: 1,
      id,
      reason: 'test',
      createdAt: now.toISOString(),
      completedAt: now.toISOString(),
      product: { name: 'prism-orchestration', version: '0' },
      stores: [
        {
          store: 'redis',
          method: 'test',
          serverVersion: '0',
          startedAt: now.toISOString(),
          durationMs: 0,
          files: [{ key: 'redis/redis.rdb', bytes: 1, sha256: '0'.repeat(64) }],
          counts: {},
          digests: {},
          scope: {},
        },
      ],
      totals: { bytes: 1, files: 1 },
    });
    for (const id of ids) {
      await mkdir(join(retentionDir, id, 'redis'), { recursive: true });
      await writeFile(join(retentionDir, id, 'redis', 'redis.rdb'), 'x');
      await writeFile(join(retentionDir, id, 'manifest.json'), JSON.stringify(manifestOf(id)));
    }
    const oldIncomplete = idAt(now.getTime() - 3 * day, 'bbb1');
    const newIncomplete = idAt(now.getTime() - 3_600_000, 'bbb2');
    for (const id of [oldIncomplete, newIncomplete]) {
      await mkdir(join(retentionDir, id, 'redis'), { recursive: true });
      await writeFile(join(retentionDir, id, 'redis', 'redis.rdb'), 'x');
    }
    const retentionWorkerEnv = {
      ...env,
      PRISM_BACKUP_DIR: retentionDir,
      BACKUP_KEEP_DAILY: 3,
      BACKUP_KEEP_WEEKLY: 0,
      TEMPORAL_MAINTENANCE_TASK_QUEUE: `${env.TEMPORAL_MAINTENANCE_TASK_QUEUE}-retention`,
    };
    const retentionWorker = await startMaintenanceWorker(retentionWorkerEnv, {
      metricsPort: null,
      log: () => {},
    });
    try {
      await temporal.workflow.execute('backupRetention', {
        workflowId: `backup-test-retention-${randomUUID()}`,
        taskQueue: retentionWorkerEnv.TEMPORAL_MAINTENANCE_TASK_QUEUE,
        args: [{}],
      });
    } finally {
      await retentionWorker.stop();
    }
    const left = (await listBackups(localDestination(retentionDir))).map((b) => b.id).sort();
    // The newest of each of the last 3 UTC days, and the incomplete one that may still be being taken;
    // nothing else, files included.
    const dates = [0, 1, 2].map((d) =>
      new Date(now.getTime() - d * day).toISOString().slice(0, 10).replace(/-/g, ''),
    );
    const newest = dates.map((date) =>
      ids
        .filter((id) => id.startsWith(date))
        .sort()
        .at(-1)!,
    );
    const expected = [...newest, newIncomplete].sort();
    expect(left).toEqual(expected);
    const files = await localDestination(retentionDir).list('');
    expect(files.every((k) => expected.some((id) => k.startsWith(`${id}/`)))).toBe(true);
    await rm(retentionDir, { recursive: true, force: true });
  }, 120_000);

  it('has its three schedules once, however often provisioning runs, on the maintenance queue', async () => {
    // The deployment's schedules, with its queues (not this file's own).
    const first = await provisionSchedules(testEnv, silentProgress);
    const second = await provisionSchedules(testEnv, silentProgress);
    expect([...first.created, ...first.updated, ...first.unchanged]).toEqual(
      expect.arrayContaining(['backup', 'backup-retention', 'backup-drill']),
    );
    expect(second.created).toEqual([]);
    expect(second.updated).toEqual([]);
    const ids: string[] = [];
    for await (const s of temporal.schedule.list()) ids.push(s.scheduleId);
    for (const id of ['backup', 'backup-retention', 'backup-drill']) {
      expect(ids.filter((x) => x === id)).toHaveLength(1);
    }
    const backup = await temporal.schedule.getHandle('backup').describe();
    expect(backup.action).toMatchObject({
      workflowType: 'backupRun',
      taskQueue: testEnv.TEMPORAL_MAINTENANCE_TASK_QUEUE,
    });
    expect(backup.state.paused).toBe(true); // PRISM_SCHEDULES=paused in the tests' deployment
    // The CLI lists them.
    const listed = await prism('schedule', 'list', '--json');
    expect(listed.code).toBe(0);
    const schedules = (JSON.parse(listed.stdout) as { schedules: { name: string; paused: boolean }[] })
      .schedules;
    expect(schedules.map((s) => s.name)).toEqual(['backup', 'retention', 'drill']);
  }, 60_000);
});
