// Every setting of the product comes from an environment variable, validated once at start-up.
// `.env.example` documents each one; a bad value stops the process with a message naming the variable.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { problemsOf, ValidationError, type FieldProblem } from './validation.ts';

const port = z.coerce.number().int().min(1).max(65535);
const host = z.string().min(1);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

// Built binaries are a cache (rebuildable); service data is not. As root, data lives under /var/lib so that
// PostgreSQL, which refuses to run as root, can reach its cluster as the `postgres` user.
const defaultStackHome = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'prism-stack');
const defaultStackData =
  process.getuid?.() === 0
    ? '/var/lib/prism-stack'
    : join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'prism-stack');

/** The environment variables, their defaults and their meaning. The keys are the variable names. */
export const envSchema = z.object({
  PRISM_BIND_ADDRESS: host.default('127.0.0.1'),
  PRISM_STACK_HOME: z.string().min(1).default(defaultStackHome),
  PRISM_STACK_DATA: z.string().min(1).optional(),
  PRISM_STACK_MODE: z.enum(['auto', 'native', 'docker']).default('auto'),

  POSTGRES_HOST: host.default('127.0.0.1'),
  POSTGRES_PORT: port.default(15432),
  POSTGRES_USER: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'a lower-case SQL identifier')
    .default('prism_user'),
  POSTGRES_PASSWORD: z.string().min(8, 'at least 8 characters'),
  POSTGRES_DB: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'a lower-case SQL identifier')
    .default('prism_orchestration'),

  REDIS_HOST: host.default('127.0.0.1'),
  REDIS_PORT: port.default(16379),
  REDIS_PASSWORD: z.string().min(8, 'at least 8 characters'),
  /** The logical database: a second deployment (e.g. the tests) on the same server uses its own. */
  REDIS_DB: z.coerce.number().int().min(0).max(15).default(0),
  REDIS_MAXMEMORY: z
    .string()
    .regex(/^\d+(mb|gb)$/i, 'a size such as 512mb')
    .default('512mb'),

  KAFKA_PORT: port.default(19092),
  KAFKA_BROKERS: z
    .string()
    .regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'a comma-separated list of host:port')
    .optional(),
  KAFKA_CONTROLLER_PORT: port.default(19093),
  KAFKA_CLIENT_ID: z.string().min(1).default('prism'),
  /** Prefix of every topic and consumer group: two deployments (e.g. the tests) can share one cluster. */
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, ., _ and - only')
    .default(''),
  KAFKA_HEAP: z
    .string()
    .regex(/^\d+[mg]$/, 'a JVM size such as 512m')
    .default('512m'),

  WEAVIATE_HOST: host.default('127.0.0.1'),
  WEAVIATE_HTTP_PORT: port.default(18080),
  WEAVIATE_GRPC_PORT: port.default(50051),
  WEAVIATE_API_KEY: z.string().optional(),
  /** Prefix of every collection name: two deployments (e.g. the tests) can share one server. */
  WEAVIATE_COLLECTION_PREFIX: z
    .string()
    .regex(/^([A-Z][A-Za-z0-9_]*)?$/, 'empty, or a capital letter followed by letters, digits and _')
    .default(''),

  INFLUX_PORT: port.default(18086),
  INFLUX_URL: z.url().optional(),
  /** The InfluxDB admin (created on the first start of either stack). */
  INFLUX_USER: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and _')
    .default('prism'),
  INFLUX_PASSWORD: z.string().min(8, 'at least 8 characters'),
  /** The database (InfluxDB 1.x), optionally `database/retention-policy`. */
  INFLUX_BUCKET: z.string().min(1).default('prism'),

  PROMETHEUS_PORT: port.default(19090),
  PROMETHEUS_URL: z.url().optional(),
  /** Host ports of the stack's exporters and Alertmanager (both stacks; cAdvisor under Compose only). */
  ALERTMANAGER_PORT: port.default(19094),
  POSTGRES_EXPORTER_PORT: port.default(19187),
  REDIS_EXPORTER_PORT: port.default(19121),
  NODE_EXPORTER_PORT: port.default(19100),
  PROCESS_EXPORTER_PORT: port.default(19256),
  CADVISOR_PORT: port.default(19280),
  /** The broker's JMX exporter (a Java agent in its JVM). Default: KAFKA_PORT + 216, i.e. 19308. */
  KAFKA_JMX_EXPORTER_PORT: port.optional(),

  GRAFANA_PORT: port.default(13000),
  GRAFANA_ADMIN_USER: z.string().min(1).default('admin'),
  GRAFANA_ADMIN_PASSWORD: z.string().min(8, 'at least 8 characters').default('admin123'),

  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^:\s]+:\d+$/, 'host:port')
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_UI_PORT: port.default(8233),
  /** Where people open the Temporal UI (links in the CLI and API). Default: that of the local stack. */
  TEMPORAL_UI_URL: z.url().optional(),
  TEMPORAL_METRICS_PORT: port.default(17234),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('prism-orchestration'),

  /** How often the sensor-rule scan (a Temporal Schedule) checks the sensor rules, e.g. 1m, 30s, 5m. */
  SENSOR_SCAN_INTERVAL: z
    .string()
    .regex(/^\d+(s|m|h)$/, 'a duration such as 30s, 1m or 1h')
    .default('1m'),
  /** `paused`: provisioning keeps the product's schedules paused (a deployment that only tests). */
  PRISM_SCHEDULES: z.enum(['on', 'paused']).default('on'),
  /** Minutes a CRITICAL alert may fire unacknowledged before it is escalated. */
  ALERT_ESCALATION_MINUTES: z.coerce.number().positive().max(10_080).default(15),
  /** The bearer token Alertmanager's webhook presents to the API (generated). */
  ALERTMANAGER_WEBHOOK_TOKEN: z.string().min(16, 'at least 16 characters').optional(),

  API_PORT: port.default(3000),
  WORKER_METRICS_PORT: port.default(9464),
  /** The reference agents that `prism up` starts serve /metrics on this port and the next three. */
  AGENT_METRICS_PORT: port.max(65532).default(9470),

  PRISM_DEBUG: bool.default(false),
});

type RawEnv = z.infer<typeof envSchema>;

/**
 * `*_PORT` is where the local stack (native or Compose) listens; `KAFKA_BROKERS`, `INFLUX_URL`,
 * `PROMETHEUS_URL` and `TEMPORAL_ADDRESS` are where the application connects, by default that stack.
 */
export type Env = RawEnv & {
  KAFKA_BROKERS: string;
  KAFKA_JMX_EXPORTER_PORT: number;
  /** `user:password`: how the InfluxDB client's v2-compatible API authenticates against InfluxDB 1.x. */
  INFLUX_TOKEN: string;
  INFLUX_URL: string;
  PROMETHEUS_URL: string;
  TEMPORAL_ADDRESS: string;
  TEMPORAL_UI_URL: string;
};

function withConnectionDefaults(env: RawEnv): Env {
  return {
    ...env,
    KAFKA_BROKERS: env.KAFKA_BROKERS ?? `127.0.0.1:${env.KAFKA_PORT}`,
    // Derived from the broker's port, so that a second broker on this machine gets its own.
    KAFKA_JMX_EXPORTER_PORT: env.KAFKA_JMX_EXPORTER_PORT ?? env.KAFKA_PORT + 216,
    INFLUX_TOKEN: `${env.INFLUX_USER}:${env.INFLUX_PASSWORD}`,
    INFLUX_URL: (env.INFLUX_URL ?? `http://127.0.0.1:${env.INFLUX_PORT}`).replace(/\/$/, ''),
    PROMETHEUS_URL: (env.PROMETHEUS_URL ?? `http://127.0.0.1:${env.PROMETHEUS_PORT}`).replace(/\/$/, ''),
    TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS ?? `127.0.0.1:${env.TEMPORAL_PORT}`,
    TEMPORAL_UI_URL: (
      env.TEMPORAL_UI_URL ??
      `http://${(env.TEMPORAL_ADDRESS ?? '127.0.0.1').split(':')[0]}:${env.TEMPORAL_UI_PORT}`
    ).replace(/\/$/, ''),
  };
}

/** A bad environment: names every bad variable and what is wrong with it. */
export class ConfigError extends ValidationError {
  constructor(problems: FieldProblem[]) {
    super(problems, 'invalid configuration');
    this.name = 'ConfigError';
    this.message =
      'Invalid configuration:\n' +
      problems.map((p) => `  ${p.field}: ${p.message}`).join('\n') +
      '\nSet these environment variables (see .env.example), or fix them in .env.';
  }
}

/** Validates a raw environment. Throws a ConfigError naming every bad variable. */
export function parseConfig(raw: Record<string, string | undefined>): Env {
  // An empty variable means "not set", as in Docker Compose.
  const cleaned = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''));
  const result = envSchema.safeParse(cleaned, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(
      problemsOf(result.error.issues).map((p) => ({
        field: p.field.split('.')[0]!,
        message: p.message === 'required' ? 'required but not set' : p.message,
      })),
    );
  }
  return withConnectionDefaults(result.data);
}

/** Where the native stack keeps its built binaries; needs no secret (unlike loadConfig). */
export function stackHomeDir(raw: Record<string, string | undefined> = rawEnvironment()): string {
  return resolve(raw.PRISM_STACK_HOME || defaultStackHome);
}

/** Where the native stack keeps data, logs, pid files and its generated secrets. */
export function stackDataDir(env: Pick<Env, 'PRISM_STACK_DATA'>): string {
  return resolve(env.PRISM_STACK_DATA ?? defaultStackData);
}

function readEnvFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  return parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
}

/** The file in which `prism stack up` keeps the secrets it generated for this machine's stack. */
export function secretsFile(raw: Record<string, string | undefined> = process.env): string {
  return join(resolve(raw.PRISM_STACK_DATA || defaultStackData), 'secrets.env');
}

/**
 * The raw environment, in order of precedence: the process environment, then `.env` in the working
 * directory, then the secrets the native stack generated on its first start (so a fresh machine needs no
 * hand-written secrets, and none live in code).
 */
export function rawEnvironment(cwd = process.cwd()): Record<string, string | undefined> {
  const dotenv = readEnvFile(join(cwd, '.env'));
  const merged = { ...dotenv, ...process.env };
  return { ...readEnvFile(secretsFile(merged)), ...merged };
}

let cached: Env | undefined;

/** The validated configuration of this process. */
export function loadConfig(): Env {
  cached ??= parseConfig(rawEnvironment());
  return cached;
}
