// Redis' users (stack/redis/users.acl): rendered into the ACL file the native Redis reads, and applied to a
// running server — one started by an earlier version with a single password for everybody (`requirepass`)
// gets them with ACL SETUSER, one that reads the file reloads it (ACL LOAD) when a password changed.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Env } from '../config.ts';
import { repoRoot } from './paths.ts';

export const redisAclTemplate = join(repoRoot, 'stack', 'redis', 'users.acl');

/** The ACL file Redis reads: the template with each `#{VARIABLE}` replaced by the SHA-256 of its value. */
export function renderRedisAcl(env: object, template = redisAclTemplate): string {
  const values = env as Record<string, unknown>;
  const lines = readFileSync(template, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'));
  return lines
    .map((line) =>
      line.replace(/#\{([A-Z0-9_]+)\}/g, (_, name: string) => {
        const value = values[name];
        if (typeof value !== 'string' || value === '') {
          throw new Error(`${name} is not set: the Redis user it belongs to needs a password`);
        }
        return `#${createHash('sha256').update(value).digest('hex')}`;
      }),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** Writes the ACL file (0600) when it differs; returns whether it changed. */
export function writeRedisAcl(env: Env, file: string): boolean {
  const wanted = renderRedisAcl(env);
  if (existsSync(file) && readFileSync(file, 'utf8') === wanted) return false;
  writeFileSync(file, wanted, { mode: 0o600 });
  return true;
}

/** Whether the ACL file is what this configuration renders (a new user, rule or password makes it stale). */
export function redisAclCurrent(env: Env, file: string): boolean {
  return existsSync(file) && readFileSync(file, 'utf8') === renderRedisAcl(env);
}

async function connectAs(env: Env, username: string | undefined, password: string): Promise<Redis | null> {
  const client = new Redis({
    host: env.REDIS_HOST,
    port: env.REDIS_PORT,
    username,
    password,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableReadyCheck: false,
    connectTimeout: 5_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return client;
  } catch {
    client.disconnect();
    return null;
  }
}

/**
 * Brings a running Redis to the users of `file` (already written; `changed`: just now). As `admin` where it
 * exists; otherwise as the default user with REDIS_PASSWORD (a server started before there were users, with
 * `requirepass`), which gets the users one by one. A server that reads the file reloads it only when it
 * changed: ACL LOAD disconnects every client.
 *
 * One server: env.REDIS_HOST, never through the sentinels. ACLs are not replicated, so in the cluster
 * topology every node is brought to its own file by its own refresh (src/stack/services/redis.ts, each node's
 * env at its machine's address); a replica promoted later already has the same users.
 */
export async function applyRedisAcl(
  env: Env,
  file: string,
  changed: boolean,
): Promise<'reloaded' | 'set' | 'unchanged'> {
  const password = env.REDIS_PASSWORD;
  if (!password) throw new Error('REDIS_PASSWORD (the Redis admin) is not set');
  const admin = (await connectAs(env, 'admin', password)) ?? (await connectAs(env, undefined, password));
  if (!admin) {
    throw new Error(
      `cannot log in to Redis on port ${env.REDIS_PORT} as admin (nor with the old shared password) to set its users`,
    );
  }
  try {
    const [, aclfile] = (await admin.call('CONFIG', 'GET', 'aclfile')) as [string, string];
    if (aclfile === file) {
      if (!changed) return 'unchanged';
      await admin.call('ACL', 'LOAD');
      return 'reloaded';
    }
    // A server without the file: the same users, set one by one; `default` last, so that this connection
    // (perhaps the default user's) keeps working until the others exist.
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const isDefault = (l: string) => l.startsWith('user default ');
    for (const line of [...lines.filter((l) => !isDefault(l)), ...lines.filter(isDefault)]) {
      const [, name, ...rules] = line.split(' ');
      await admin.call('ACL', 'SETUSER', name!, 'reset', ...rules);
    }
    return 'set';
  } finally {
    admin.disconnect();
  }
}
