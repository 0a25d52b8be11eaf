// The Temporal server as the stack runs it — temporal-server on PostgreSQL — on a scratch stack of its own
// (PostgreSQL and Temporal from empty data directories, on free ports), so that a kill -9 hits nobody else:
// the role and databases made on the first start, the schema step idempotent, the search attributes after a
// start from empty data, a workflow that outlives a kill -9 of the server, a data directory of the CLI's
// development server carried over, and the configuration files checked by the server itself.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { parse } from 'yaml';
import { postgresUrl } from '../../src/clients/postgres.ts';
import { parseConfig, rawEnvironment, type Env } from '../../src/config.ts';
import { temporalDatabases } from '../../src/db/roles.ts';
import { asPostgresRole } from '../../src/identity.ts';
import { silentProgress } from '../../src/progress.ts';
import { binaries } from '../../src/stack/install.ts';
import { nativeDown, nativeProcesses, startService } from '../../src/stack/native.ts';
import { ensureDirs, stackPaths, type StackPaths } from '../../src/stack/paths.ts';
import { spawnDetached, stopProcess } from '../../src/stack/process.ts';
import { nativeServices } from '../../src/stack/services.ts';
import {
  ensureTemporalSchema,
  temporalConfigFile,
  temporalDynamicConfigFile,
  temporalServerEnv,
} from '../../src/stack/temporal.ts';
import { exportOpenRuns, startRetiredRuns } from '../../src/stack/temporal-dev-data.ts';
import { productSearchAttributes, provisionTemporal } from '../../src/stores/temporal/provision.ts';
import { createFixtureActivities } from '../fixtures/activities.ts';
import { inspectUntilReleased, releaseSignal } from '../fixtures/workflows.ts';
import { freePorts, freePortWithOffsets, testId, waitFor } from '../helpers.ts';

const exec = promisify(execFile);

describe('the Temporal server on PostgreSQL (a scratch stack)', () => {
  const names = ['postgres', 'temporal'];
  const services = nativeServices.filter((s) => names.includes(s.name));
  let scratch: { env: Env; paths: StackPaths; dir: string };
  let client: Client;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-scratch-temporal-'));
    const [pgPort, metricsPort] = await freePorts(2);
    const temporalPort = await freePortWithOffsets([1, 2, 6, 10, -300, -299, -298, -294]);
    const scratchEnv = parseConfig({
      ...rawEnvironment(),
      PRISM_STACK_DATA: dir,
      POSTGRES_PORT: String(pgPort),
      POSTGRES_DB: 'prism_scratch',
      TEMPORAL_PORT: String(temporalPort),
      TEMPORAL_METRICS_PORT: String(metricsPort),
      TEMPORAL_ADDRESS: undefined,
      TEMPORAL_UI_URL: undefined,
      TEMPORAL_NAMESPACE: 'prism-scratch',
      TEMPORAL_TLS: undefined,
      TEMPORAL_TLS_CA_FILE: undefined,
      TEMPORAL_TLS_CERT_FILE: undefined,
      TEMPORAL_TLS_KEY_FILE: undefined,
      TEMPORAL_TLS_SERVER_NAME: undefined,
      POSTGRES_SSL_MODE: undefined,
      POSTGRES_SSL_ROOT_CERT: undefined,
    });
    const paths = stackPaths(scratchEnv);
    ensureDirs(paths);
    scratch = { env: scratchEnv, paths, dir };
    // In order, as `prism stack up` starts them: PostgreSQL, then the server that needs it.
    for (const service of services) await startService(service, scratchEnv, paths, silentProgress);
    await provisionTemporal(scratchEnv, silentProgress);
    client = new Client({
      connection: await Connection.connect({ address: scratchEnv.TEMPORAL_ADDRESS }),
      namespace: scratchEnv.TEMPORAL_NAMESPACE,
    });
  }, 240_000);
  afterAll(async () => {
    await client?.connection.close();
    if (!scratch) return;
    await nativeDown(scratch.env, silentProgress);
    rmSync(scratch.dir, { recursive: true, force: true });
  });

  const pool = (database: string, role: 'admin' | 'temporal' = 'admin') =>
    new pg.Client({
      connectionString: postgresUrl(
        role === 'temporal'
          ? {
              ...scratch.env,
              POSTGRES_LOGIN_USER: 'temporal',
              POSTGRES_LOGIN_PASSWORD: scratch.env.POSTGRES_TEMPORAL_PASSWORD!,
              POSTGRES_DB: database,
            }
          : { ...asPostgresRole(scratch.env, 'admin'), POSTGRES_DB: database },
      ),
    });
  const query = async <T extends pg.QueryResultRow>(database: string, sql: string, role?: 'temporal') => {
    const c = pool(database, role);
    await c.connect();
    try {
      return (await c.query<T>(sql)).rows;
    } finally {
      await c.end();
    }
  };

  it('runs the server itself, not the development server, with its databases owned by a role of its own', async () => {
    const pid = nativeProcesses(scratch.env).find((p) => p.name === 'temporal')!.pid!;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline[0]).toBe(binaries(scratch.paths).temporalServer);
    expect(cmdline).toContain('start');
    expect(cmdline.join(' ')).not.toMatch(/start-dev|sqlite/);
    const info = await client.workflowService.getSystemInfo({});
    expect(info.serverVersion).toBe('1.31.2');
    // Its role: no superuser, no new databases or roles; it owns both databases, and nobody else may connect.
    const [role] = await query<{ rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean }>(
      'postgres',
      "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = 'temporal'",
    );
    expect(role).toEqual({ rolsuper: false, rolcreatedb: false, rolcreaterole: false });
    const dbs = await query<{ datname: string; owner: string; public: boolean }>(
      'postgres',
      `SELECT datname, pg_get_userbyid(datdba) AS owner, has_database_privilege('public', datname, 'CONNECT') AS public
         FROM pg_database WHERE datname IN ('temporal', 'temporal_visibility') ORDER BY datname`,
    );
    expect(dbs).toEqual([
      { datname: 'temporal', owner: 'temporal', public: false },
      { datname: 'temporal_visibility', owner: 'temporal', public: false },
    ]);
    // The server's rows are there: its cluster metadata and shards (64, fixed for the databases' life).
    const [shards] = await query<{ n: string }>('temporal', 'SELECT count(*) AS n FROM shards', 'temporal');
    expect(Number(shards!.n)).toBe(64);
    // The product's application role cannot read them.
    const app = new pg.Client({
      connectionString: postgresUrl({ ...asPostgresRole(scratch.env, 'app'), POSTGRES_DB: 'temporal' }),
    });
    await expect(app.connect()).rejects.toThrow(/permission denied|not permitted/);
    await app.end().catch(() => undefined);
  });

  it('has the product search attributes after a start from empty data and provisioning', async () => {
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({
      namespace: scratch.env.TEMPORAL_NAMESPACE,
    });
    for (const name of productSearchAttributes) expect(Object.keys(customAttributes)).toContain(name);
  });

  it('changes nothing when the schema step runs again', async () => {
    const snapshot = async () =>
      Promise.all(
        temporalDatabases.map(async (db) => ({
          db,
          columns: await query(
            db,
            `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
              WHERE table_schema = 'public' ORDER BY table_name, column_name`,
            'temporal',
          ),
          indexes: await query(
            db,
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname",
            'temporal',
          ),
          version: await query(
            db,
            'SELECT curr_version, min_compatible_version FROM schema_version',
            'temporal',
          ),
          updates: await query(db, 'SELECT count(*) AS n FROM schema_update_history', 'temporal'),
        })),
      );
    const before = await snapshot();
    expect(before[0]!.columns.length).toBeGreaterThan(50);
    expect(before[0]!.version).toHaveLength(1);
    const versions = await ensureTemporalSchema(scratch.env, scratch.paths);
    expect(versions.temporal).toBe((before[0]!.version[0] as { curr_version: string }).curr_version);
    expect(await snapshot()).toEqual(before);
  });

  it('finishes a workflow that was waiting when the server was killed with -9, its state in PostgreSQL', async () => {
    const taskQueue = testId('queue');
    const calls: string[] = [];
    const connection = await NativeConnection.connect({ address: scratch.env.TEMPORAL_ADDRESS });
    try {
      const worker = await Worker.create({
        connection,
        namespace: scratch.env.TEMPORAL_NAMESPACE,
        taskQueue,
        workflowsPath: fileURLToPath(new URL('../fixtures/workflows.ts', import.meta.url)),
        activities: createFixtureActivities(calls),
      });
      await worker.runUntil(async () => {
        const workflowId = testId('wf');
        const handle = await client.workflow.start(inspectUntilReleased, {
          taskQueue,
          workflowId,
          args: [['press-1', 'lathe-2']],
        });
        await waitFor('the first two inspections', () => calls.length === 2, 60_000);
        const temporal = services.find((s) => s.name === 'temporal')!;
        const before = nativeProcesses(scratch.env).find((p) => p.name === 'temporal')!.pid!;
        process.kill(before, 'SIGKILL');
        await waitFor('the killed server to be gone', () => !existsSync(`/proc/${before}`));
        await startService(temporal, scratch.env, scratch.paths, silentProgress);
        const after = nativeProcesses(scratch.env).find((p) => p.name === 'temporal')!.pid!;
        expect(after).not.toBe(before);
        await handle.signal(releaseSignal, 'mill-3');
        expect(await handle.result()).toEqual(['press-1: ok', 'lathe-2: ok', 'mill-3: ok']);
        // Each inspection once: the history the run resumed from was the one in PostgreSQL.
        expect(calls).toEqual(['press-1', 'lathe-2', 'mill-3']);
      });
    } finally {
      await connection.close();
    }
  }, 240_000);

  it("replaces a running server of another version with this version's (`stack up` on an upgrade)", async () => {
    const temporal = services.find((s) => s.name === 'temporal')!;
    const pidFile = join(scratch.paths.run, 'temporal.pid');
    const current = nativeProcesses(scratch.env).find((p) => p.name === 'temporal')!.pid!;
    const args = readFileSync(`/proc/${current}/cmdline`, 'utf8').split('\0').filter(Boolean).slice(1);
    await stopProcess(current, 30_000);
    // The same server under another binary's name: what an earlier version of the stack built and started.
    const older = join(scratch.dir, 'temporal-server-1.30.0');
    copyFileSync(binaries(scratch.paths).temporalServer, older);
    const old = spawnDetached({
      command: older,
      args,
      env: { PATH: process.env.PATH, ...temporalServerEnv(scratch.env) },
      logFile: join(scratch.dir, 'older-server.log'),
      pidFile,
    });
    await startService(temporal, scratch.env, scratch.paths, silentProgress);
    const now = nativeProcesses(scratch.env).find((p) => p.name === 'temporal')!.pid!;
    expect(now).not.toBe(old);
    expect(existsSync(`/proc/${old}`)).toBe(false);
    expect(readFileSync(`/proc/${now}/cmdline`, 'utf8').split('\0')[0]).toBe(
      binaries(scratch.paths).temporalServer,
    );
    expect((await client.workflowService.getSystemInfo({})).serverVersion).toBe('1.31.2');
  }, 120_000);

  it("starts again on the server the runs a development server's data left open", async () => {
    // An earlier version's data: the CLI's development server with a run that is still open in its file.
    const cli = binaries(scratch.paths).temporalCli;
    const file = join(scratch.dir, 'old-dev-server.db');
    const [port, metrics] = await freePorts(2);
    const pid = spawnDetached({
      command: existsSync(cli) ? cli : await installedCli(scratch.paths),
      args: ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port)].concat([
        '--metrics-port',
        String(metrics),
        '--db-filename',
        file,
        '--namespace',
        'plant-7',
      ]),
      logFile: join(scratch.dir, 'old-dev-server.log'),
      pidFile: join(scratch.dir, 'old-dev-server.pid'),
    });
    const workflowId = testId('old-run');
    try {
      const old = await waitFor(
        'the development server',
        async () => Connection.connect({ address: `127.0.0.1:${port}` }).catch(() => undefined),
        60_000,
        500,
      );
      try {
        await waitFor('the old namespace', () =>
          old.workflowService.describeNamespace({ namespace: 'plant-7' }).then(
            () => true,
            () => false,
          ),
        );
        await new Client({ connection: old, namespace: 'plant-7' }).workflow.start('agentTask', {
          taskQueue: 'nobody-polls-it',
          workflowId,
          args: [{ query: 'from the development server' }],
          memo: { origin: 'old' },
        });
      } finally {
        await old.close();
      }
    } finally {
      await stopProcess(pid, 20_000);
    }
    const runs = await exportOpenRuns(scratch.paths, file, join(scratch.dir, 'export.log'));
    expect(runs.map((r) => [r.namespace, r.workflowId, r.workflowType])).toEqual([
      ['plant-7', workflowId, 'agentTask'],
    ]);
    expect(await startRetiredRuns(scratch.env, runs)).toBe(1);
    // Started once: a second pass finds it running and starts nothing.
    expect(await startRetiredRuns(scratch.env, runs)).toBe(0);
    const moved = client.workflow.getHandle(workflowId);
    const started = new Client({ connection: client.connection, namespace: 'plant-7' }).workflow.getHandle(
      workflowId,
    );
    await expect(moved.describe()).rejects.toThrow(); // not in the scratch stack's own namespace
    const description = await started.describe();
    expect(description.status.name).toBe('RUNNING');
    expect(description.type).toBe('agentTask');
    expect(description.taskQueue).toBe('nobody-polls-it');
    expect(await description.memo).toEqual({ origin: 'old' });
    const history = await started.fetchHistory();
    const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    expect(JSON.parse(Buffer.from(input.data!).toString())).toEqual({ query: 'from the development server' });
    await started.terminate('test done');
  }, 240_000);

  it('gives the server configuration files that the server itself accepts', async () => {
    const server = binaries(scratch.paths).temporalServer;
    const { stdout: dynamic } = await exec(server, ['validate-dynamic-config', temporalDynamicConfigFile]);
    expect(dynamic).not.toMatch(/error|unknown/i);
    // The file the server starts with (--config-file), rendered by the server as a template with this stack's
    // variables (render-config reads it by directory and name).
    const { stdout } = await exec(
      server,
      [
        '--config',
        dirname(temporalConfigFile),
        '--env',
        basename(temporalConfigFile, '.yaml'),
        'render-config',
      ],
      { env: { ...process.env, ...temporalServerEnv(scratch.env) } },
    );
    const rendered = parse(stdout) as {
      persistence: { numHistoryShards: number; datastores: Record<string, { sql: { connectAddr: string } }> };
      services: Record<string, { rpc: { grpcPort: number } }>;
    };
    expect(rendered.persistence.numHistoryShards).toBe(64);
    expect(rendered.persistence.datastores.default!.sql.connectAddr).toBe(
      `${scratch.env.POSTGRES_HOST}:${scratch.env.POSTGRES_PORT}`,
    );
    expect(rendered.services.frontend!.rpc.grpcPort).toBe(scratch.env.TEMPORAL_PORT);
    expect(stdout).not.toMatch(/sqlite/);
  });
});

async function installedCli(paths: StackPaths): Promise<string> {
  const { installTemporalCli } = await import('../../src/stack/install.ts');
  const target = binaries(paths).temporalCli;
  await installTemporalCli(paths, target, join(paths.logs, 'install-temporal-cli.log'));
  return target;
}
