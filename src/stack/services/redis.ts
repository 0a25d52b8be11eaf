// Redis, natively: redis.conf (plain and TLS ports, LRU on keys with a TTL, RDB plus append-only file) and its
// users in the ACL file beside it, brought up to date on a running server where they can be.
import { nodesOf, type Machine } from '../topology.ts';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from '../../config.ts';
import { binaries } from '../install.ts';
import { spawnDetached, stopProcess } from '../process.ts';
import { applyRedisAcl, redisAclCurrent, writeRedisAcl } from '../redis-acl.ts';
import type { NativeService, ServiceContext } from '../services.ts';
import { ensureServerTls, stackCaCertificate } from '../tls.ts';

export const redis: NativeService = {
  name: 'redis',
  serves: ['redis'],
  marker: 'redis-server',
  ports: (env) => [env.REDIS_PORT, env.REDIS_TLS_PORT],
  async start({ env, paths, dataDir, logFile, pidFile }) {
    mkdirSync(dataDir, { recursive: true });
    await ensureServerTls(paths, join(dataDir, 'tls'));
    writeRedisAcl(env, join(dataDir, 'users.acl'));
    writeRedisConf(env, dataDir, stackCaCertificate(paths));
    return spawnDetached({
      command: binaries(paths).redis,
      args: [join(dataDir, 'redis.conf')],
      logFile,
      pidFile,
    });
  },
  // A server started by an earlier version (one password for everybody) gets the users without a restart;
  // its next start reads them from the file. One started with another redis.conf (before its TLS port) is
  // restarted with this one: its append-only file keeps every write.
  async refresh(ctx, pid) {
    const { env, paths, dataDir } = ctx;
    await ensureServerTls(paths, join(dataDir, 'tls'));
    if (!redisConfCurrent(ctx)) {
      await stopProcess(pid, 30_000);
      return this.start(ctx);
    }
    const changed = writeRedisAcl(env, join(dataDir, 'users.acl'));
    await applyRedisAcl(env, join(dataDir, 'users.acl'), changed);
  },
  // Its configuration, and its users as stack/redis/users.acl and the passwords of this configuration say.
  current: async (ctx) => redisConfCurrent(ctx) && redisAclCurrent(ctx.env, join(ctx.dataDir, 'users.acl')),
};

function redisConfCurrent({ env, paths, dataDir }: ServiceContext): boolean {
  const file = join(dataDir, 'redis.conf');
  return (
    existsSync(file) && readFileSync(file, 'utf8') === redisConf(env, dataDir, stackCaCertificate(paths))
  );
}

/** redis.conf: a file, not arguments; its users (and their password hashes) in the ACL file beside it. */
function writeRedisConf(env: Env, dataDir: string, ca: string): void {
  writeFileSync(join(dataDir, 'redis.conf'), redisConf(env, dataDir, ca), { mode: 0o600 });
}

function redisConf(env: Env, dataDir: string, ca: string): string {
  return [
    `port ${env.REDIS_PORT}`,
    `bind ${env.PRISM_BIND_ADDRESS}`,
    `dir ${dataDir}`,
    `aclfile ${join(dataDir, 'users.acl')}`,
    // TLS beside the plain port, for clients with REDIS_TLS (its certificate: the stack's CA).
    `tls-port ${env.REDIS_TLS_PORT}`,
    `tls-cert-file ${join(dataDir, 'tls', 'server.crt')}`,
    `tls-key-file ${join(dataDir, 'tls', 'server.key')}`,
    `tls-ca-cert-file ${ca}`,
    'tls-auth-clients no',
    'tls-protocols "TLSv1.2 TLSv1.3"',
    `maxmemory ${env.REDIS_MAXMEMORY}`,
    // The spec's LRU eviction, limited to keys that carry a TTL (sessions, temporary state, metric
    // counters): locks, queues and shared memory have none, so they are never evicted.
    'maxmemory-policy volatile-lru',
    'save 900 1',
    'save 300 10',
    'save 60 10000',
    // RDB snapshots (the spec) plus an append-only file, so a killed server loses at most a second.
    'appendonly yes',
    'appendfsync everysec',
    'notify-keyspace-events Ex',
    'daemonize no',
    '',
  ].join('\n');
}

/** The cluster topology's redis: one node on each machine (src/stack/cluster.ts). */
export function redisNodes(machines: Machine[]): NativeService[] {
  return nodesOf(redis, machines);
}
