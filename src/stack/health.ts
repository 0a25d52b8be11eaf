// Readiness checks: each one asks the real service a real question (a query, a PING, cluster metadata, a
// readiness endpoint) and reads its version from the answer. Used by `stack up` (wait until ready) and
// `stack status`, in both the native and the Docker Compose mode.
import type { Env } from '../config.ts';
import { createPgPool } from '../clients/postgres.ts';
import { createRedis, redisUrl } from '../clients/redis.ts';
import { createKafka, logLevel } from '../clients/kafka.ts';
import { Connection } from '@temporalio/client';
import { temporalTarget } from '../clients/temporal.ts';
import { createS3 } from '../clients/s3.ts';
import { weaviateAuthHeaders, weaviateRestUrl } from '../clients/weaviate.ts';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { run } from './process.ts';
import { etcdClientPort } from './services/etcd.ts';
import { askSentinel, namedPrimary } from './services/redis-sentinel.ts';
import { versions, type ServiceName } from './versions.ts';
import { asKafkaUser, asPostgresRole, asRedisUser } from '../identity.ts';

export interface ServiceHealth {
  name: ServiceName;
  url: string;
  healthy: boolean;
  version: string | null;
  error?: string;
  /** The cluster topology's node (`kafka-2`) this is the health of, and its role in its cluster. */
  node?: string;
  role?: string;
}

const probeTimeoutMs = 5_000;

async function fetchWithTimeout(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(probeTimeoutMs) });
}

async function fetchJson<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetchWithTimeout(url, init);
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
  return (await res.json()) as T;
}

function message(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return message(err.errors[0]);
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}

// The stack's own checks log in as each store's admin: readiness must not depend on the product's roles and
// users, which the stack creates once the servers are ready.
type Probe = (env: Env) => { url: string; check: () => Promise<string | null> };

/** Where the stack's services answer on this machine: its bind address, or loopback when it binds them all. */
export function serviceHost(env: Pick<Env, 'PRISM_BIND_ADDRESS'>): string {
  return env.PRISM_BIND_ADDRESS === '0.0.0.0' ? '127.0.0.1' : env.PRISM_BIND_ADDRESS;
}

/** The stack's SeaweedFS S3 API (PRISM_BACKUP_S3_ENDPOINT may name another store). */
export function seaweedfsS3Url(env: Env): string {
  return `http://${serviceHost(env)}:${env.S3_PORT}`;
}

export function grafanaUrl(env: Env): string {
  return `http://${serviceHost(env)}:${env.GRAFANA_PORT}`;
}

/** The first sample of `metric` in Prometheus' text format: its labels and value. */
export function sample(
  text: string,
  metric: string,
): { labels: Record<string, string>; value: string } | null {
  const m = new RegExp(`^${metric}(?:\\{([^}]*)\\})?\\s+(\\S+)`, 'm').exec(text);
  if (!m) return null;
  const labels = Object.fromEntries(
    [...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]),
  );
  return { labels, value: m[2]! };
}

/** `v1.45.0`, Debian's `1.45.0-2+b4` → `1.45.0`. */
const release = (version: string | undefined) => /^v?(\d+(?:\.\d+)+)/.exec(version ?? '')?.[1] ?? null;

/**
 * An exporter is ready when its /metrics answers with the metric that shows it measures something and,
 * where it reports one, its target is up (pg_up 1, redis_up 1: the exporter itself answers when its
 * database is down). Its version comes from its build-info metric.
 */
function exporterProbe(
  port: (env: Env) => number,
  options: { shows: string; up?: string; version: (text: string) => string | null | Promise<string | null> },
): Probe {
  return (env) => {
    const url = `http://${serviceHost(env)}:${port(env)}/metrics`;
    return {
      url,
      check: async () => {
        const res = await fetchWithTimeout(url);
        if (!res.ok) throw new Error(`/metrics answered HTTP ${res.status}`);
        const text = await res.text();
        if (options.up) {
          const up = sample(text, options.up)?.value;
          if (up !== '1')
            throw new Error(`${options.up} is ${up ?? 'missing'}: the exporter cannot reach its target`);
        }
        if (!new RegExp(`^${options.shows}`, 'm').test(text))
          throw new Error(`no ${options.shows} metric yet`);
        return options.version(text);
      },
    };
  };
}

async function debianPackageVersion(pkg: string): Promise<string | null> {
  const { stdout } = await run('dpkg-query', ['-W', '-f', '${Version}', pkg]).catch(() => ({ stdout: '' }));
  return release(stdout.replace(/^\d+:/, ''));
}

const buildInfoVersion =
  (metric: string, label = 'version') =>
  (text: string) =>
    release(sample(text, metric)?.labels[label]);

const probes: Record<ServiceName, Probe> = {
  postgres: (env) => ({
    url: `postgresql://${env.POSTGRES_HOST}:${env.POSTGRES_PORT}`,
    check: async () => {
      // The server's own maintenance database: the product's database is created after the server is
      // ready (natively by the stack, under Compose by the image), so readiness must not depend on it.
      const pool = createPgPool(
        { ...asPostgresRole(env, 'admin'), POSTGRES_DB: 'postgres' },
        { max: 1, connectionTimeoutMillis: probeTimeoutMs },
      );
      try {
        const { rows } = await pool.query<{ server_version: string }>('SHOW server_version');
        return rows[0]?.server_version.split(' ')[0] ?? null;
      } finally {
        await pool.end();
      }
    },
  }),
  // One server (a cluster's node is asked alone: its machine's env has no sentinels), or, through the
  // sentinels, whichever node is the primary now.
  redis: (env) => ({
    url: redisUrl(env),
    check: async () => {
      const redis = createRedis(asRedisUser(env, 'admin'), {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        sentinelRetryStrategy: () => null,
      });
      // A probe's failure is its answer (connect() rejects): without a listener ioredis would also print
      // "Unhandled error event" for every probe of a Redis that is not up yet.
      redis.on('error', () => {});
      try {
        await redis.connect();
        const info = await redis.info('server');
        return /redis_version:(\S+)/.exec(info)?.[1] ?? null;
      } finally {
        redis.disconnect();
      }
    },
  }),
  kafka: (env) => ({
    url: `kafka://${env.KAFKA_BROKERS}`,
    check: async () => {
      const admin = createKafka(asKafkaUser(env, 'admin'), {
        retry: { retries: 0 },
        requestTimeout: probeTimeoutMs,
        logLevel: logLevel.NOTHING,
      }).admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.controller === null || cluster.brokers.length === 0)
          throw new Error('no active controller');
        // Kafka does not report its version over the wire; both stacks run the pinned one.
        return versions.kafka;
      } finally {
        await admin.disconnect();
      }
    },
  }),
  weaviate: (env) => ({
    url: weaviateRestUrl(env),
    check: async () => {
      const ready = await fetchWithTimeout(`${weaviateRestUrl(env)}/v1/.well-known/ready`);
      if (!ready.ok) throw new Error(`not ready (HTTP ${ready.status})`);
      const meta = await fetchJson<{ version: string }>(`${weaviateRestUrl(env)}/v1/meta`, {
        headers: weaviateAuthHeaders(env),
      });
      return meta.version;
    },
  }),
  influxdb: (env) => ({
    url: env.INFLUX_URL,
    check: async () => {
      // /ping answers on 1.x and 2.x alike and carries the version in a header.
      const res = await fetchWithTimeout(`${env.INFLUX_URL}/ping`);
      if (res.status !== 204 && res.status !== 200) throw new Error(`/ping answered HTTP ${res.status}`);
      return res.headers.get('x-influxdb-version')?.replace(/^v/, '') ?? null;
    },
  }),
  prometheus: (env) => ({
    url: env.PROMETHEUS_URL,
    check: async () => {
      const ready = await fetchWithTimeout(`${env.PROMETHEUS_URL}/-/ready`);
      if (!ready.ok) throw new Error(`not ready (HTTP ${ready.status})`);
      const info = await fetchJson<{ data: { version: string } }>(
        `${env.PROMETHEUS_URL}/api/v1/status/buildinfo`,
      );
      return info.data.version;
    },
  }),
  temporal: (env) => ({
    url: `grpc://${env.TEMPORAL_ADDRESS}`,
    check: async () => {
      const connection = await Connection.connect({ ...temporalTarget(env), connectTimeout: '3s' });
      try {
        // The frontend serves (its gRPC health check, as `temporal operator cluster health` asks: SERVING once
        // it has joined the cluster's membership); the deployment's namespace is `prism provision`'s to create.
        return await connection.withDeadline(Date.now() + 5_000, async () => {
          const health = await connection.healthService.check({
            service: 'temporal.api.workflowservice.v1.WorkflowService',
          });
          if (health.status !== 1) throw new Error(`not serving (health status ${health.status})`);
          const info = await connection.workflowService.getSystemInfo({});
          return info.serverVersion || null;
        });
      } finally {
        await connection.close();
      }
    },
  }),
  'temporal-ui': (env) => ({
    url: env.TEMPORAL_UI_URL,
    check: async () => {
      const settings = await fetchJson<{ Version?: string }>(`${env.TEMPORAL_UI_URL}/api/v1/settings`);
      return settings.Version ?? null;
    },
  }),
  alertmanager: (env) => {
    const url = `http://${serviceHost(env)}:${env.ALERTMANAGER_PORT}`;
    return {
      url,
      check: async () => {
        const ready = await fetchWithTimeout(`${url}/-/ready`);
        if (!ready.ok) throw new Error(`not ready (HTTP ${ready.status})`);
        const status = await fetchJson<{ versionInfo?: { version?: string } }>(`${url}/api/v2/status`);
        return release(status.versionInfo?.version);
      },
    };
  },
  'postgres-exporter': exporterProbe((env) => env.POSTGRES_EXPORTER_PORT, {
    up: 'pg_up',
    shows: 'pg_',
    version: buildInfoVersion('postgres_exporter_build_info'),
  }),
  'redis-exporter': exporterProbe((env) => env.REDIS_EXPORTER_PORT, {
    up: 'redis_up',
    shows: 'redis_',
    version: buildInfoVersion('redis_exporter_build_info'),
  }),
  // The agent answers as soon as the JVM starts; the broker's own beans show once Kafka has started.
  'kafka-jmx-exporter': exporterProbe((env) => env.KAFKA_JMX_EXPORTER_PORT, {
    shows: 'kafka_server_',
    version: buildInfoVersion('jmx_exporter_build_info'),
  }),
  'node-exporter': exporterProbe((env) => env.NODE_EXPORTER_PORT, {
    shows: 'node_filesystem_avail_bytes',
    version: buildInfoVersion('node_exporter_build_info'),
  }),
  // Debian's build of process-exporter reports no version (neither `--version` nor a metric): its
  // package's version says which release it is (it runs natively only).
  'process-exporter': exporterProbe((env) => env.PROCESS_EXPORTER_PORT, {
    shows: 'namedprocess_namegroup_num_procs',
    version: () => debianPackageVersion('prometheus-process-exporter'),
  }),
  cadvisor: exporterProbe((env) => env.CADVISOR_PORT, {
    shows: 'container_cpu_usage_seconds_total',
    version: buildInfoVersion('cadvisor_version_info', 'cadvisorVersion'),
  }),
  // Ready when its S3 API answers and takes the stack's credentials. The version is in the Server header
  // of its S3 answers ("SeaweedFS 30GB 4.53": the size-limit build flavour, then the release), which
  // /healthz does not carry; an unsigned ListBuckets (refused: 403) does.
  seaweedfs: (env) => ({
    url: seaweedfsS3Url(env),
    check: async () => {
      const health = await fetchWithTimeout(`${seaweedfsS3Url(env)}/healthz`);
      if (!health.ok) throw new Error(`/healthz answered HTTP ${health.status}`);
      const anonymous = await fetchWithTimeout(`${seaweedfsS3Url(env)}/`);
      await anonymous.body?.cancel();
      const version = release(anonymous.headers.get('server')?.split(' ').pop());
      if (env.S3_ACCESS_KEY && env.S3_SECRET_KEY) {
        const s3 = createS3(env, seaweedfsS3Url(env));
        try {
          await s3.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(probeTimeoutMs) });
        } finally {
          s3.destroy();
        }
      }
      return version;
    },
  }),
  // The cluster topology's own: an etcd member that knows its cluster's leader, and a sentinel that names
  // the Redis primary.
  etcd: (env) => {
    const url = `http://${serviceHost(env)}:${etcdClientPort}`;
    return {
      url,
      check: async () => {
        const status = await fetchJson<{ version?: string; leader?: string }>(
          `${url}/v3/maintenance/status`,
          {
            method: 'POST',
            body: '{}',
          },
        );
        if (!status.leader || status.leader === '0') throw new Error('no leader known');
        return status.version ?? null;
      },
    };
  },
  'redis-sentinel': (env) => ({
    url: `redis://${serviceHost(env)}:${env.REDIS_SENTINEL_PORT}`,
    check: async () => {
      const primary = await namedPrimary(env);
      if (!primary) throw new Error(`it does not name a primary of "${env.REDIS_SENTINEL_MASTER}"`);
      return askSentinel(
        env,
        async (client) => /redis_version:(\S+)/.exec(await client.info('server'))?.[1] ?? null,
      );
    },
  }),
  // The trace store: its query API answers (the list of services that sent spans). Jaeger's API does not
  // report its version; both stacks run the pinned one.
  jaeger: (env) => {
    const url = `http://${serviceHost(env)}:${env.JAEGER_PORT}`;
    return {
      url,
      check: async () => {
        const services = await fetchJson<{ data?: unknown }>(`${url}/api/services`);
        if (!('data' in services)) throw new Error('/api/services answered without a list of services');
        return versions.jaeger;
      },
    };
  },
  grafana: (env) => ({
    url: grafanaUrl(env),
    check: async () => {
      const health = await fetchJson<{ database: string; version: string }>(`${grafanaUrl(env)}/api/health`);
      if (health.database !== 'ok') throw new Error(`database ${health.database}`);
      return health.version;
    },
  }),
};

/** Asks one service whether it is ready, and its version. Never throws. */
export async function probe(name: ServiceName, env: Env): Promise<ServiceHealth> {
  const { url, check } = probes[name](env);
  try {
    const version = await Promise.race([
      check(),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`no answer within ${probeTimeoutMs} ms`)), probeTimeoutMs).unref(),
      ),
    ]);
    return { name, url, healthy: true, version };
  } catch (err) {
    return { name, url, healthy: false, version: null, error: message(err) };
  }
}

export function probeAll(names: readonly ServiceName[], env: Env): Promise<ServiceHealth[]> {
  return Promise.all(names.map((n) => probe(n, env)));
}
