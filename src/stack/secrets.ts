// A fresh machine needs no hand-written secrets: on the first `prism stack up`, every secret that is not
// set in the environment or in .env is generated once and kept (mode 0600) in the stack's data directory,
// where `loadConfig()` finds it. Nothing secret lives in code.
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { rawEnvironment, secretsFile } from '../config.ts';

const password = () => randomBytes(18).toString('base64url');

// Every secret of the stack. The PostgreSQL superuser and the Redis admin keep their old names; each other
// role and user has a password of its own (src/identity.ts), which only the processes that log in as it get.
const generated = {
  POSTGRES_PASSWORD: password,
  POSTGRES_MIGRATOR_PASSWORD: password,
  POSTGRES_APP_PASSWORD: password,
  POSTGRES_AGENT_PASSWORD: password,
  POSTGRES_BACKUP_PASSWORD: password,
  POSTGRES_MONITOR_PASSWORD: password,
  // The Temporal server's own role (its persistence and visibility databases).
  POSTGRES_TEMPORAL_PASSWORD: password,
  REDIS_PASSWORD: password,
  REDIS_WORKER_PASSWORD: password,
  REDIS_API_PASSWORD: password,
  REDIS_AGENT_PASSWORD: password,
  REDIS_EXPORTER_PASSWORD: password,
  REDIS_BACKUP_PASSWORD: password,
  // The cluster topology's sentinels (requirepass): every component asks them where the primary is.
  REDIS_SENTINEL_PASSWORD: password,
  // Kafka's admin (SASL/PLAIN, the broker's own) and the components' SCRAM users.
  KAFKA_ADMIN_PASSWORD: password,
  KAFKA_WORKER_PASSWORD: password,
  KAFKA_API_PASSWORD: password,
  KAFKA_AGENT_PASSWORD: password,
  INFLUX_PASSWORD: password,
  // Grafana's admin (Compose only: the native stack has no Grafana).
  GRAFANA_ADMIN_PASSWORD: password,
  // The bearer token of Alertmanager's webhook to the API (POST /alerts/alertmanager).
  ALERTMANAGER_WEBHOOK_TOKEN: () => randomBytes(32).toString('base64url'),
  // SeaweedFS' S3 admin: an access key id as AWS shapes them (20 upper-case letters and digits), a secret.
  S3_ACCESS_KEY: () => randomBytes(10).toString('hex').toUpperCase(),
  S3_SECRET_KEY: () => randomBytes(30).toString('base64url'),
} as const;

/** The names of the secrets the stack generates (a scratch stack copies them into its own secrets file). */
export const generatedSecretNames = Object.keys(generated) as (keyof typeof generated)[];

/** Generates the secrets that are not set anywhere; returns the names it generated. */
export function ensureSecrets(): string[] {
  const raw = rawEnvironment();
  const file = secretsFile(raw);
  const missing = Object.keys(generated).filter((k) => !raw[k]) as (keyof typeof generated)[];
  if (missing.length === 0) return [];
  if (!existsSync(dirname(file))) mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, missing.map((k) => `${k}=${generated[k]()}\n`).join(''), { mode: 0o600 });
  return missing;
}
