// Readiness checks: each one asks the real service a real question (a query, a PING, cluster metadata, a
// readiness endpoint) and reads its version from the answer. Used by `stack up` (wait until ready) and
// `stack status`, in both the native and the Docker Compose mode.
import type { Env } from '../config.ts';
import { createPgPool } from '../clients/postgres.ts';
import { createRedis } from '../clients/redis.ts';
import { createKafka, logLevel } from '../clients/kafka.ts';
import { connectTemporal } from '../clients/temporal.ts';
import { versions, type ServiceName } from './versions.ts';

export interface ServiceHealth {
  name: ServiceName;
  url: string;
  healthy: boolean;
  version: string | null;
  error?: string;
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

type Probe = (env: Env) => { url: string; check: () => Promise<string | null> };

export function weaviateUrl(env: Env): string {
  return `http://${env.WEAVIATE_HOST}:${env.WEAVIATE_HTTP_PORT}`;
}

export function grafanaUrl(env: Env): string {
  return `http://${env.PRISM_BIND_ADDRESS === '0.0.0.0' ? '127.0.0.1' : env.PRISM_BIND_ADDRESS}:${env.GRAFANA_PORT}`;
}

const probes: Record<ServiceName, Probe> = {
  postgres: (env) => ({
    url: `postgresql://${env.POSTGRES_HOST}:${env.POSTGRES_PORT}`,
    check: async () => {
      // The server's own maintenance database: the product's database is created after the server is
      // ready (natively by the stack, under Compose by the image), so readiness must not depend on it.
      const pool = createPgPool(
        { ...env, POSTGRES_DB: 'postgres' },
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
  redis: (env) => ({
    url: `redis://${env.REDIS_HOST}:${env.REDIS_PORT}`,
    check: async () => {
      const redis = createRedis(env, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
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
      const admin = createKafka(env, {
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
    url: weaviateUrl(env),
    check: async () => {
      const ready = await fetchWithTimeout(`${weaviateUrl(env)}/v1/.well-known/ready`);
      if (!ready.ok) throw new Error(`not ready (HTTP ${ready.status})`);
      const headers: Record<string, string> = env.WEAVIATE_API_KEY
        ? { Authorization: `Bearer ${env.WEAVIATE_API_KEY}` }
        : {};
      const meta = await fetchJson<{ version: string }>(`${weaviateUrl(env)}/v1/meta`, { headers });
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
      const client = await connectTemporal(env);
      try {
        // The server answers; the deployment's namespace is `prism provision`'s to create.
        const info = await client.workflowService.getSystemInfo({});
        return info.serverVersion || null;
      } finally {
        await client.connection.close();
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
