// A fresh machine needs no hand-written secrets: on the first `prism stack up`, every secret that is not
// set in the environment or in .env is generated once and kept (mode 0600) in the stack's data directory,
// where `loadConfig()` finds it. Nothing secret lives in code.
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { rawEnvironment, secretsFile } from '../config.ts';

const generated = {
  POSTGRES_PASSWORD: () => randomBytes(18).toString('base64url'),
  REDIS_PASSWORD: () => randomBytes(18).toString('base64url'),
  INFLUX_PASSWORD: () => randomBytes(18).toString('base64url'),
  // The bearer token of Alertmanager's webhook to the API (POST /alerts/alertmanager).
  ALERTMANAGER_WEBHOOK_TOKEN: () => randomBytes(32).toString('base64url'),
} as const;

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
