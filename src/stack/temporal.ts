// The Temporal server as its users run it, natively: `temporal-server` (built from go.temporal.io/server) with
// persistence and visibility on the stack's PostgreSQL, in databases of its own owned by the role `temporal`
// (stack/postgres/temporal.sql), their schema created and upgraded by `temporal-sql-tool` before every start
// (idempotent); its static configuration is stack/temporal/config.yaml (the same file Docker Compose mounts),
// its dynamic configuration stack/temporal/dynamicconfig.yaml. The Web UI is Temporal's `ui-server`, a
// process of its own. A data directory of the CLI's development server (SQLite) is retired here on the first
// start: src/stack/temporal-dev-data.ts says what happens to the runs in it.
import { nodesOf, type Machine } from './topology.ts';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPgClient } from '../clients/postgres.ts';
import type { Env } from '../config.ts';
import { provisionTemporalRole, temporalDatabases, temporalRole, temporalRoleUpToDate } from '../db/roles.ts';
import { binaries } from './install.ts';
import { repoRoot, type StackPaths } from './paths.ts';
import { commandLine, readPidFile, run, spawnDetached, stopProcess } from './process.ts';
import type { NativeService, ServiceContext } from './services.ts';
import { openRunsFile, restartRetiredRuns, retireDevServerData } from './temporal-dev-data.ts';

export const temporalConfigFile = join(repoRoot, 'stack', 'temporal', 'config.yaml');
export const temporalDynamicConfigFile = join(repoRoot, 'stack', 'temporal', 'dynamicconfig.yaml');

/**
 * The server's ports, Temporal's usual ones offset from the frontend's (TEMPORAL_PORT): history +1, matching
 * +2, worker +6, the frontend's HTTP API +10, and each service's membership (ringpop) port 300 below its gRPC
 * port — so 7233, 7234, 7235, 7239, 7243 and 6933–6939 by default, and a scratch stack moves them all at once.
 */
export function temporalPorts(env: Pick<Env, 'TEMPORAL_PORT'>) {
  const frontend = env.TEMPORAL_PORT;
  const grpc = { frontend, history: frontend + 1, matching: frontend + 2, worker: frontend + 6 };
  return {
    grpc,
    http: frontend + 10,
    membership: {
      frontend: grpc.frontend - 300,
      history: grpc.history - 300,
      matching: grpc.matching - 300,
      worker: grpc.worker - 300,
    },
  };
}

/** The server's other ports as offsets from TEMPORAL_PORT (for picking free ports for a scratch stack). */
export const temporalPortOffsets = (() => {
  const p = temporalPorts({ TEMPORAL_PORT: 0 });
  return [...Object.values(p.grpc), p.http, ...Object.values(p.membership)].filter((o) => o !== 0);
})();

/** Every port the server binds (for the stack's conflict check), the frontend's first. */
export function temporalServerPortList(env: Pick<Env, 'TEMPORAL_PORT' | 'TEMPORAL_METRICS_PORT'>): number[] {
  const p = temporalPorts(env);
  return [...Object.values(p.grpc), p.http, ...Object.values(p.membership), env.TEMPORAL_METRICS_PORT];
}

/**
 * The variables stack/temporal/config.yaml reads (Temporal's own image's names), for this stack. The password
 * of the role `temporal` goes to the server in its environment, never into a file or onto a command line.
 */
export function temporalServerEnv(env: Env): Record<string, string> {
  const p = temporalPorts(env);
  const address = env.PRISM_BIND_ADDRESS === '0.0.0.0' ? '127.0.0.1' : env.PRISM_BIND_ADDRESS;
  if (!env.POSTGRES_TEMPORAL_PASSWORD) {
    throw new Error(
      'POSTGRES_TEMPORAL_PASSWORD is not set: the Temporal server logs in to PostgreSQL with it (`prism stack up` generates it)',
    );
  }
  return {
    POSTGRES_SEEDS: env.POSTGRES_HOST,
    DB_PORT: String(env.POSTGRES_PORT),
    POSTGRES_USER: temporalRole,
    POSTGRES_PWD: env.POSTGRES_TEMPORAL_PASSWORD,
    DBNAME: temporalDatabases[0],
    VISIBILITY_DBNAME: temporalDatabases[1],
    BIND_ON_IP: env.PRISM_BIND_ADDRESS,
    TEMPORAL_BROADCAST_ADDRESS: address,
    FRONTEND_GRPC_PORT: String(p.grpc.frontend),
    FRONTEND_HTTP_PORT: String(p.http),
    FRONTEND_MEMBERSHIP_PORT: String(p.membership.frontend),
    HISTORY_GRPC_PORT: String(p.grpc.history),
    HISTORY_MEMBERSHIP_PORT: String(p.membership.history),
    MATCHING_GRPC_PORT: String(p.grpc.matching),
    MATCHING_MEMBERSHIP_PORT: String(p.membership.matching),
    WORKER_GRPC_PORT: String(p.grpc.worker),
    WORKER_MEMBERSHIP_PORT: String(p.membership.worker),
    PROMETHEUS_ENDPOINT: `${env.PRISM_BIND_ADDRESS}:${env.TEMPORAL_METRICS_PORT}`,
    DYNAMIC_CONFIG_FILE_PATH: temporalDynamicConfigFile,
    GOGC: String(env.TEMPORAL_GOGC),
  };
}

/** The embedded schemas of temporal-sql-tool for each database. */
const schemas: Record<(typeof temporalDatabases)[number], string> = {
  temporal: 'postgresql/v12/temporal',
  temporal_visibility: 'postgresql/v12/visibility',
};

/**
 * Creates or upgrades the schema of Temporal's two databases with the server's own tool, as the role that owns
 * them: `setup-schema -v 0.0` makes the version tables where they are missing (and leaves a database that has
 * a version alone), `update-schema` applies the versions after the one recorded. Both are no-ops the second
 * time. Returns each database's schema version afterwards.
 */
export async function ensureTemporalSchema(
  env: Env,
  paths: StackPaths,
  log: (line: string) => void = () => undefined,
): Promise<Record<string, string>> {
  const tool = binaries(paths).temporalSqlTool;
  const toolEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    SQL_HOST: env.POSTGRES_HOST,
    SQL_PORT: String(env.POSTGRES_PORT),
    SQL_USER: temporalRole,
    SQL_PASSWORD: env.POSTGRES_TEMPORAL_PASSWORD,
  };
  const versions: Record<string, string> = {};
  for (const database of temporalDatabases) {
    // pgx (Temporal's postgres12_pgx) takes several hosts and finds the primary among them.
    const base = [
      '--plugin',
      'postgres12_pgx',
      '--db',
      database,
      '--connect-attributes',
      'target_session_attrs=read-write',
    ];
    const sqlTool = async (args: string[]) => {
      try {
        const { stdout, stderr } = await run(tool, [...base, ...args], { env: toolEnv });
        return `${stdout}${stderr}`;
      } catch (err) {
        const e = err as { stderr?: string; stdout?: string; message: string };
        throw new Error(
          `temporal-sql-tool ${args[0]} of database ${database} failed: ${(e.stderr || e.stdout || e.message).trim().slice(-1500)}`,
        );
      }
    };
    await sqlTool(['setup-schema', '-v', '0.0']);
    await sqlTool(['update-schema', '--schema-name', schemas[database]]);
    versions[database] = (await temporalSchemaVersion(env, database)) ?? 'none';
    log(`temporal: schema of ${database} at version ${versions[database]}`);
  }
  return versions;
}

/** The schema version temporal-sql-tool recorded in a database (its `schema_version` table). */
export async function temporalSchemaVersion(env: Env, database: string): Promise<string | undefined> {
  const client = createPgClient(
    {
      ...env,
      POSTGRES_LOGIN_USER: temporalRole,
      POSTGRES_LOGIN_PASSWORD: env.POSTGRES_TEMPORAL_PASSWORD ?? '',
      POSTGRES_DB: database,
    },
    { connectionTimeoutMillis: 5_000 },
  );
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string }>('SELECT curr_version AS v FROM schema_version');
    return rows[0]?.v;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Whether the server the pid file names runs this version's binary (not one an earlier version built). */
function runsThisVersion(paths: StackPaths, pidFile: string): boolean {
  const pid = readPidFile(pidFile);
  const binary = pid === null ? null : commandLine(pid)?.split(' ')[0];
  return binary === binaries(paths).temporalServer;
}

export const temporalServer: NativeService = {
  name: 'temporal',
  serves: ['temporal'],
  marker: 'temporal-server',
  // Earlier versions ran the CLI's development server here (on the same ports, the UI's too).
  previousMarker: 'start-dev',
  after: ['postgres'],
  ports: temporalServerPortList,
  async start(ctx: ServiceContext) {
    const { paths, dataDir, logFile, pidFile } = ctx;
    const env = serverEnv(ctx);
    mkdirSync(dataDir, { recursive: true });
    await retireDevServerData(ctx);
    // Its role and databases (a stack of an earlier version has neither), then their schema.
    await provisionTemporalRole(env);
    await ensureTemporalSchema(env, paths, (line) => writeFileSync(logFile, `${line}\n`, { flag: 'a' }));
    // The configuration as the repository has it, copied beside the data: the command line then names this
    // stack's directory (process-exporter and the pid check tell two stacks' servers apart by it).
    const config = join(dataDir, 'config.yaml');
    copyFileSync(temporalConfigFile, config);
    return spawnDetached({
      command: binaries(paths).temporalServer,
      args: ['--config-file', config, '--allow-no-auth', 'start'],
      cwd: dataDir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...temporalServerEnv(env) },
      logFile,
      pidFile,
    });
  },
  // The runs a development server of an earlier version left open, started again here (once).
  async afterReady(ctx) {
    await restartRetiredRuns(ctx);
  },
  // Up to date: its role as temporal.sql makes it, and no runs of the development server left to start.
  // ...and the running server is this version's binary.
  current: async ({ env, paths, dataDir, pidFile }) =>
    runsThisVersion(paths, pidFile) &&
    !existsSync(openRunsFile(dataDir)) &&
    (await temporalRoleUpToDate(env)),
  // A server that runs is brought up to date: its role and schema (a no-op when they are). A server of
  // another version is stopped and this one started, its schema upgraded first (start does that).
  async refresh(ctx, pid) {
    if (!runsThisVersion(ctx.paths, ctx.pidFile)) {
      await stopProcess(pid, 30_000);
      return this.start(ctx);
    }
    await provisionTemporalRole(serverEnv(ctx));
    await ensureTemporalSchema(serverEnv(ctx), ctx.paths);
  },
  // A node of the cluster topology: how many servers the membership ring has (its peers found it by the
  // cluster_membership table in the shared database).
  async role(ctx) {
    if (!ctx.cluster) return null;
    return `ring of ${await temporalRingSize(serverEnv(ctx))}`;
  },
};

/**
 * The configuration a server node runs with: its own machine's addresses, and the PostgreSQL of the whole
 * cluster (its persistence follows the primary through a failover: pgx's target_session_attrs=read-write).
 */
function serverEnv(ctx: ServiceContext): Env {
  return ctx.cluster ? { ...ctx.env, POSTGRES_HOST: ctx.cluster.env.POSTGRES_HOST } : ctx.env;
}

/** The servers whose membership heartbeat is recent (Temporal's own table, as `tctl admin membership` reads it). */
async function temporalRingSize(env: Env): Promise<number> {
  const client = createPgClient(
    {
      ...env,
      POSTGRES_LOGIN_USER: temporalRole,
      POSTGRES_LOGIN_PASSWORD: env.POSTGRES_TEMPORAL_PASSWORD ?? '',
      POSTGRES_DB: temporalDatabases[0],
    },
    { connectionTimeoutMillis: 3_000 },
  );
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(DISTINCT rpc_address) AS n FROM cluster_membership
        WHERE last_heartbeat > now() AT TIME ZONE 'UTC' - interval '30 seconds'`,
    );
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The Web UI server's configuration (ui-server reads `<dir>/<env>.yaml`). */
function uiConfig(env: Env): string {
  return [
    '# Written by prism stack up (src/stack/temporal.ts): the Temporal Web UI of the native stack.',
    `temporalGrpcAddress: ${env.TEMPORAL_ADDRESS}`,
    `host: ${env.PRISM_BIND_ADDRESS}`,
    `port: ${env.TEMPORAL_UI_PORT}`,
    'enableUi: true',
    'cors:',
    '  allowOrigins: []',
    'defaultNamespace: default',
    'hideLogs: true',
    '',
  ].join('\n');
}

export const temporalUi: NativeService = {
  name: 'temporal-ui',
  serves: ['temporal-ui'],
  marker: 'temporal-ui-server',
  after: ['temporal'],
  ports: (env) => [env.TEMPORAL_UI_PORT],
  async start({ env, paths, dataDir, logFile, pidFile }) {
    const configDir = join(dataDir, 'config');
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, 'prism.yaml'), uiConfig(env));
    return spawnDetached({
      command: binaries(paths).temporalUiServer,
      args: ['--root', dataDir, '--config', 'config', '--env', 'prism', 'start'],
      cwd: dataDir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      logFile,
      pidFile,
    });
  },
};

/** The cluster topology's Temporal: a server with every role on each machine, one membership ring. */
export function temporalNodes(machines: Machine[]): NativeService[] {
  // One after another: each start creates or upgrades the schema first (temporal-sql-tool), which two
  // at once would race on; a single server is ready on its own, so nothing waits on a quorum.
  return nodesOf(temporalServer, machines).map((node, i) =>
    i === 0 ? node : { ...node, after: [...(node.after ?? []), `temporal-${machines[i - 1]!.index}`] },
  );
}
