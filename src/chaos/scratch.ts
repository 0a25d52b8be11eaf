// A throwaway system for fault experiments: the services PRISM needs (not the monitoring ones) started by the
// native stack's own code from an empty temporary data directory on free ports, migrated, provisioned,
// with the demo data set — so that a `kill -9` hits nobody else's services. `stop()` stops what it started
// (by pid) and deletes the directory.
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopApp } from '../app/index.ts';
import { envSchema, rawEnvironment, type Env } from '../config.ts';
import { parseStackConfig, stackSchema } from '../stack/config.ts';
import { migrate } from '../db/migrate.ts';
import type { Progress } from '../progress.ts';
import { loadDemoData } from '../provision/demo.ts';
import { provisionAll } from '../provision/index.ts';
import { nativeDown, startServices } from '../stack/native.ts';
import { ensureDirs, stackPaths } from '../stack/paths.ts';
import { ensureSecrets } from '../stack/secrets.ts';
import { nativeServices } from '../stack/services.ts';
import { temporalPortOffsets } from '../stack/temporal.ts';

/** The services a task touches; the monitoring ones (Prometheus, exporters) play no part in a task. */
export const scratchServices = ['postgres', 'redis', 'kafka', 'weaviate', 'influxdb', 'temporal'] as const;

export interface ScratchStack {
  env: Env;
  /** The environment of the processes started on it (worker, agents, API): this stack's variables. */
  processEnv: NodeJS.ProcessEnv;
  dir: string;
  /**
   * Stops the application processes and services it started, and deletes its data. With `keepLogs`, its
   * services' and processes' logs are moved out first (what an operator needs when a fault missed the bar):
   * returns where they are.
   */
  stop(options?: { keepLogs?: boolean }): Promise<string | undefined>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `count` free ports, each with the given offsets above it free too (for services that take several). */
async function freePortGroups(groups: number[][]): Promise<number[]> {
  const taken = new Set<number>();
  const found: number[] = [];
  for (const offsets of groups) {
    for (let tries = 0; ; tries++) {
      if (tries > 500) throw new Error('no free ports for a scratch stack');
      // Below Linux's ephemeral range (32768 and up): a port found free there can be taken by any outgoing
      // connection before the scratch service binds it (an API once failed with EADDRINUSE that way).
      const base = 20_000 + Math.floor(Math.random() * 12_000);
      const ports = [0, ...offsets].map((o) => base + o);
      if (ports.some((p) => taken.has(p))) continue;
      if (!(await Promise.all(ports.map(portFree))).every(Boolean)) continue;
      for (const p of ports) taken.add(p);
      found.push(base);
      break;
    }
  }
  return found;
}

/**
 * The TLS settings a scratch stack leaves out — its own services on 127.0.0.1 speak plain TCP, their TLS ports
 * follow its own — taken from the schema: every `*_TLS*` and `*_SSL_*` variable.
 */
const scratchClearTls = [...Object.keys(envSchema.shape), ...Object.keys(stackSchema.shape)].filter((name) =>
  /_(TLS|SSL)(_|$)/.test(name),
);

export async function startScratchStack(
  progress: Progress,
  options: { base?: Record<string, string | undefined>; keep?: boolean } = {},
): Promise<ScratchStack> {
  const dir = mkdtempSync(join(tmpdir(), 'prism-scratch-'));
  const [
    pg,
    redis,
    kafka,
    kafkaController,
    kafkaJmx,
    weaviateHttp,
    weaviateGrpc,
    weaviateMetrics,
    maintenanceMetrics,
  ] =
    // Redis' TLS port is REDIS_PORT + 1, Kafka's TLS listener KAFKA_PORT + 3.
    await freePortGroups([[], [1], [3], [], [], [], [], [], []]);
  const [weaviateCluster, influx, temporal, temporalUi, temporalMetrics, api, workerMetrics, agentMetrics] =
    // The Temporal server's history, matching, worker and HTTP ports above its frontend's, its membership
    // ports 300 below each (src/stack/temporal.ts temporalPorts).
    await freePortGroups([[1, 354, 355], [2], temporalPortOffsets, [], [], [], [], [1, 2, 3]]);
  const overrides: Record<string, string | undefined> = {
    PRISM_STACK_DATA: dir,
    PRISM_STACK_MODE: 'native',
    POSTGRES_PORT: String(pg),
    REDIS_PORT: String(redis),
    KAFKA_PORT: String(kafka),
    KAFKA_CONTROLLER_PORT: String(kafkaController),
    KAFKA_JMX_EXPORTER_PORT: String(kafkaJmx),
    KAFKA_BROKERS: undefined,
    KAFKA_HEAP: '384m',
    WEAVIATE_HTTP_PORT: String(weaviateHttp),
    WEAVIATE_GRPC_PORT: String(weaviateGrpc),
    WEAVIATE_METRICS_PORT: String(weaviateMetrics),
    WEAVIATE_CLUSTER_PORT: String(weaviateCluster),
    INFLUX_PORT: String(influx),
    INFLUX_URL: undefined,
    TEMPORAL_PORT: String(temporal),
    TEMPORAL_UI_PORT: String(temporalUi),
    TEMPORAL_METRICS_PORT: String(temporalMetrics),
    TEMPORAL_ADDRESS: undefined,
    TEMPORAL_UI_URL: undefined,
    API_PORT: String(api),
    WORKER_METRICS_PORT: String(workerMetrics),
    MAINTENANCE_METRICS_PORT: String(maintenanceMetrics),
    AGENT_METRICS_PORT: String(agentMetrics),
    // Its services are on this machine, in clear: the deployment's TLS settings name other servers' CAs.
    ...Object.fromEntries(scratchClearTls.map((name) => [name, undefined])),
    PRISM_SCHEDULES: 'paused',
    // The load measures faults, not the API's rate limit: its one key may send as much as it needs.
    API_RATE_LIMIT_MAX: '1000000',
  };
  // Secrets of its own, generated into its data directory as `prism stack up` does on a new machine; the
  // processes started on it find them there. (Secrets set in the environment or .env are used as they are.)
  const saved = process.env.PRISM_STACK_DATA;
  process.env.PRISM_STACK_DATA = dir;
  let raw: Record<string, string | undefined>;
  try {
    ensureSecrets();
    raw = { ...rawEnvironment(), ...(options.base ?? {}), ...overrides };
  } finally {
    if (saved === undefined) delete process.env.PRISM_STACK_DATA;
    else process.env.PRISM_STACK_DATA = saved;
  }
  const env = parseStackConfig(raw);
  const processEnv: NodeJS.ProcessEnv = { ...process.env, ...(options.base ?? {}) };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete processEnv[k];
    else processEnv[k] = v;
  }
  const paths = stackPaths(env);
  ensureDirs(paths);
  const stop = async ({ keepLogs = false }: { keepLogs?: boolean } = {}) => {
    await stopApp(env, progress).catch(() => undefined);
    await nativeDown(env, progress).catch(() => undefined);
    let kept: string | undefined;
    if (keepLogs && !options.keep && existsSync(paths.logs)) {
      kept = `${dir}-logs`;
      renameSync(paths.logs, kept);
    }
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
    return kept ?? (options.keep ? paths.logs : undefined);
  };
  try {
    await progress.track(`Scratch stack in ${dir}`, async () => {
      const services = nativeServices.filter((s) => (scratchServices as readonly string[]).includes(s.name));
      await startServices(services, env, paths, progress);
    });
    await progress.track('Scratch stack: migrations', () => migrate(env));
    await progress.track('Scratch stack: provisioning', () => provisionAll(env, progress));
    await progress.track('Scratch stack: demo data', () => loadDemoData(env, progress));
  } catch (err) {
    await stop();
    throw err;
  }
  return { env, processEnv, dir, stop };
}
