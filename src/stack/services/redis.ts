// Redis, natively: redis.conf (plain and TLS ports, LRU on keys with a TTL, RDB plus append-only file) and its
// users in the ACL file beside it, brought up to date on a running server where they can be.
import { nodesOf, type Machine } from '../topology.ts';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRedis, redisPrimary, type HostPort } from '../../clients/redis.ts';
import type { Env } from '../../config.ts';
import { asRedisUser } from '../../identity.ts';
import { binaries } from '../install.ts';
import { spawnDetached, stopProcess } from '../process.ts';
import { applyRedisAcl, redisAclCurrent, writeRedisAcl } from '../redis-acl.ts';
import type { NativeService, ServiceContext } from '../services.ts';
import { ensureServerTls, stackCaCertificate } from '../tls.ts';
import { replicationAtStart, replicationConf } from './redis-replication.ts';

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

// The cluster topology's Redis (docs/scaling.md#redis-a-primary-two-replicas-and-three-sentinels): a primary and its replicas, one node on each machine,
// watched by a sentinel on each (./redis-sentinel.ts). Each node is the single node's server (its users, TLS,
// persistence) that also replicates the primary of the moment; which one that is, is asked of the sentinels
// when it starts (./redis-replication.ts), never taken from a fixed layout once it has run.
const baseConfName = 'redis.base.conf';

function clusterBaseConf({ env, paths, dataDir }: ServiceContext): string {
  const password = env.REDIS_PASSWORD;
  if (!password) throw new Error('REDIS_PASSWORD (the Redis admin, which replication logs in as) is not set');
  return [
    redisConf(env, dataDir, stackCaCertificate(paths)).trimEnd(),
    ...replicationConf({ address: env.PRISM_BIND_ADDRESS, user: 'admin', password }),
    '',
  ].join('\n');
}

/** What the sentinels that answer say the primary of REDIS_SENTINEL_MASTER is (none: an empty list). */
export async function sentinelsSay(ctx: ServiceContext): Promise<HostPort[]> {
  const { env } = ctx;
  const machines = ctx.cluster?.machines ?? [];
  const answers = await Promise.all(
    machines.map((m) =>
      redisPrimary({
        ...env,
        REDIS_SENTINELS: `${m.address}:${env.REDIS_SENTINEL_PORT}`,
        // The sentinels report plain ports, which is what replication uses.
        REDIS_TLS: false,
      }).catch(() => null),
    ),
  );
  return answers.filter((a): a is HostPort => a !== null);
}

export const redisClusterNode: NativeService = {
  ...redis,
  async start(ctx) {
    const { env, paths, dataDir, logFile, pidFile } = ctx;
    mkdirSync(dataDir, { recursive: true });
    await ensureServerTls(paths, join(dataDir, 'tls'));
    writeRedisAcl(env, join(dataDir, 'users.acl'));
    const base = clusterBaseConf(ctx);
    const conf = join(dataDir, 'redis.conf');
    const first = ctx.cluster?.machines[0];
    const { replicaOf, because } = replicationAtStart({
      self: { host: env.PRISM_BIND_ADDRESS, port: env.REDIS_PORT },
      sentinelsSay: await sentinelsSay(ctx),
      lastConf: existsSync(conf) ? readFileSync(conf, 'utf8') : null,
      initialPrimary: { host: first?.address ?? env.PRISM_BIND_ADDRESS, port: env.REDIS_PORT },
    });
    writeFileSync(join(dataDir, baseConfName), base, { mode: 0o600 });
    // The server's own file: the base and its replication now. Sentinel rewrites it (CONFIG REWRITE) as the
    // primary moves; the next start reads its replicaof back when no sentinel answers.
    writeFileSync(conf, `${base}${replicaOf ? `replicaof ${replicaOf.host} ${replicaOf.port}\n` : ''}`, {
      mode: 0o600,
    });
    appendFileSync(
      logFile,
      `[prism stack] starting as ${replicaOf ? `a replica of ${replicaOf.host}:${replicaOf.port}` : 'the primary'}: ${because}\n`,
    );
    return spawnDetached({ command: binaries(paths).redis, args: [conf], logFile, pidFile });
  },
  // As the single node, its own users (ACLs are not replicated: each node loads its own file); a changed
  // base configuration restarts it, and its start asks the sentinels where the primary is.
  async refresh(ctx, pid) {
    const { env, paths, dataDir } = ctx;
    await ensureServerTls(paths, join(dataDir, 'tls'));
    if (!clusterConfCurrent(ctx)) {
      await stopProcess(pid, 30_000);
      return this.start(ctx);
    }
    const changed = writeRedisAcl(env, join(dataDir, 'users.acl'));
    await applyRedisAcl(env, join(dataDir, 'users.acl'), changed);
  },
  current: async (ctx) => clusterConfCurrent(ctx) && redisAclCurrent(ctx.env, join(ctx.dataDir, 'users.acl')),
  role: (ctx) => redisRole(ctx.env),
};

function clusterConfCurrent(ctx: ServiceContext): boolean {
  const file = join(ctx.dataDir, baseConfName);
  return existsSync(file) && readFileSync(file, 'utf8') === clusterBaseConf(ctx);
}

/** `master` or `replica`, as the node itself says (INFO replication); null when it does not answer. */
export async function redisRole(env: Env): Promise<string | null> {
  const client = createRedis(asRedisUser({ ...env, REDIS_SENTINELS: undefined, REDIS_TLS: false }, 'admin'), {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const role = /^role:(\w+)/m.exec(await client.info('replication'))?.[1];
    return role === 'slave' ? 'replica' : (role ?? null);
  } catch {
    return null;
  } finally {
    client.disconnect();
  }
}

/** The cluster topology's redis: one node on each machine (src/stack/cluster.ts). */
export function redisNodes(machines: Machine[]): NativeService[] {
  return nodesOf(redisClusterNode, machines);
}
