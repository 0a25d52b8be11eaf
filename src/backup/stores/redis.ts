// Redis: a consistent RDB snapshot taken with `redis-cli --rdb` (the server forks and streams a point-in-time
// snapshot, as for a replica), of the whole server; a restore replaces only the deployment's database
// (REDIS_DB). What the snapshot holds is read back from a scratch redis-server started on the file, which
// also proves the file loads: the keys of the deployment's database that have no TTL, counted, and a digest
// of them (each key with its type and value, in key order). Keys with a TTL are restored with it, unless it
// ran out in the meantime (Redis drops an expired key when it loads a snapshot), so they are not compared:
// a cache entry that expired between the backup and its drill is not a damaged backup.
import { join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { createRedis, redisPrimary } from '../../clients/redis.ts';
import type { Env } from '../../config.ts';
import { digestOf, freePort, resolveTool, runTool, until } from '../tools.ts';
import { startScratchProcess } from './scratch-process.ts';
import type { ScratchRestore, StoreContext, StoreModule, TakenStore } from './types.ts';

const rdbName = 'redis.rdb';

/** The keys of the selected database that have no TTL, sorted. */
export async function persistentKeys(client: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'COUNT', 1000);
    const ttls = (await client.pipeline(batch.map((k) => ['pttl', k])).exec()) ?? [];
    keys.push(...batch.filter((_, i) => ttls[i]?.[1] === -1));
    cursor = next;
  } while (cursor !== '0');
  return keys.sort();
}

/**
 * A digest of one database's keys without a TTL: each key, its type and its value in a canonical form, in
 * key order; and how many there are.
 */
export async function databaseDigest(client: Redis): Promise<{ digest: string; keys: number }> {
  const keys = await persistentKeys(client);
  const lines: string[] = [];
  for (let i = 0; i < keys.length; i += 200) {
    const batch = keys.slice(i, i + 200);
    const types = (await client.pipeline(batch.map((k) => ['type', k])).exec()) ?? [];
    const reads = batch.map((key, j) => {
      const type = String(types[j]?.[1]);
      switch (type) {
        case 'string':
          return ['get', key];
        case 'hash':
          return ['hgetall', key];
        case 'list':
          return ['lrange', key, '0', '-1'];
        case 'set':
          return ['smembers', key];
        case 'zset':
          return ['zrange', key, '0', '-1', 'WITHSCORES'];
        case 'stream':
          return ['xrange', key, '-', '+'];
        default:
          return ['type', key];
      }
    });
    const values = (await client.pipeline(reads).exec()) ?? [];
    batch.forEach((key, j) => {
      const [err, value] = values[j] ?? [];
      if (err) throw err;
      lines.push(JSON.stringify([key, String(types[j]?.[1]), canonical(reads[j]![0]!, value)]));
    });
  }
  return { digest: digestOf(lines), keys: keys.length };
}

function canonical(command: string, value: unknown): unknown {
  if (command === 'smembers') return [...(value as string[])].sort();
  if (command === 'hgetall') {
    const pairs: string[] = [];
    // ioredis turns HGETALL into an object; sort its fields.
    for (const [k, v] of Object.entries(value as Record<string, string>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    ))
      pairs.push(k, v);
    return pairs;
  }
  return value;
}

/** A redis-server on the RDB file, 127.0.0.1 and a free port, persisting nothing. */
async function scratchServer(ctx: StoreContext, dir: string, env: Pick<Env, 'PRISM_STACK_HOME'>) {
  const port = await freePort();
  const server = startScratchProcess(
    resolveTool('redis-server', env),
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--dbfilename',
      rdbName,
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'yes',
    ],
    { dir, name: 'scratch-redis' },
  );
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    await until(
      async () => {
        if (client.status !== 'ready') await client.connect().catch(() => undefined);
        // LOADING: the server answers, but is still reading the file.
        return (await client.ping()) === 'PONG';
      },
      () => `the scratch Redis did not load the backup: ${server.logTail()}`,
      120_000,
    );
  } catch (err) {
    client.disconnect();
    await server.stop();
    throw err;
  }
  ctx.progress(`redis: the snapshot loaded in a scratch server (pid ${server.pid}, port ${port})`);
  return { port, server, client };
}

async function contentsOf(client: Redis, db: number) {
  await client.select(db);
  const { digest, keys } = await databaseDigest(client);
  return { counts: { [`db${db}`]: keys }, digests: { [`db${db}`]: digest } };
}

export const redisStore: StoreModule = {
  store: 'redis',
  async take(ctx): Promise<TakenStore> {
    const { env } = ctx;
    const file = join(ctx.workDir, rdbName);
    const live = createRedis(env, { lazyConnect: true });
    let serverVersion: string;
    try {
      const info = await live.info('server');
      serverVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    } finally {
      live.disconnect();
    }
    // From the primary of the moment where Redis runs with Sentinel: a replica may lag it.
    const primary = await redisPrimary(env);
    ctx.progress(`redis: taking an RDB snapshot of ${primary.host}:${primary.port}`);
    await runTool(
      resolveTool('redis-cli', env),
      [
        '-h',
        primary.host,
        '-p',
        String(primary.port),
        '--user',
        env.REDIS_LOGIN_USER,
        '--no-auth-warning',
        // Over TLS where the clients use it (REDIS_TLS), verifying the server as they do.
        ...(env.REDIS_TLS
          ? ['--tls', ...(env.REDIS_TLS_CA_FILE ? ['--cacert', env.REDIS_TLS_CA_FILE] : [])]
          : []),
        '--rdb',
        file,
      ],
      {
        // The backup user (src/identity.ts asBackup): its password in the environment, not the arguments.
        env: { REDISCLI_AUTH: env.REDIS_LOGIN_PASSWORD },
        onTick: () => ctx.progress('redis: taking an RDB snapshot'),
      },
    );
    const scratch = await restoreRedisToScratch(ctx);
    try {
      return {
        method: 'RDB snapshot (redis-cli --rdb), read back in a scratch redis-server',
        serverVersion,
        files: [file],
        counts: scratch.counts,
        digests: scratch.digests,
        scope: { database: env.REDIS_DB },
      };
    } finally {
      await scratch.drop();
    }
  },
  restoreToScratch: (ctx) => restoreRedisToScratch(ctx),
};

async function restoreRedisToScratch(ctx: StoreContext): Promise<ScratchRestore> {
  const { env } = ctx;
  const dir = join(ctx.workDir, `scratch-${ctx.scratchSuffix}`);
  await mkdir(dir, { recursive: true });
  // The server loads `<dir>/redis.rdb`: a copy, so the backup's own file stays as it was.
  await runTool('cp', [join(ctx.workDir, rdbName), join(dir, rdbName)]);
  const { port, server, client } = await scratchServer(ctx, dir, env);
  const drop = async () => {
    client.disconnect();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const contents = await contentsOf(client, env.REDIS_DB);
    return {
      description: `a scratch redis-server on 127.0.0.1:${port}`,
      ...contents,
      async promote() {
        // MIGRATE is the scratch server's own connection to the live one, which speaks TLS only with a TLS
        // configuration of its own: not made yet. Refuse before anything is flushed.
        if (env.REDIS_TLS)
          throw new Error(
            'restoring Redis into a server reached over TLS (REDIS_TLS=true) is not supported yet; restore with ' +
              'REDIS_TLS=false and REDIS_PORT set to its plain port, from a host inside its network',
          );
        // Into the primary (through the sentinels where there are: the replicas follow it); MIGRATE needs
        // its address, asked again after the flush in case a failover moved it meanwhile.
        const target = createRedis(env, { lazyConnect: true });
        try {
          await target.connect();
          const before = await target.dbsize();
          await target.flushdb();
          const primary = await redisPrimary(env);
          // MIGRATE copies each key (value, TTL) from the scratch server into the live database.
          await client.select(env.REDIS_DB);
          let cursor = '0';
          let moved = 0;
          do {
            const [next, keys] = await client.scan(cursor, 'COUNT', 500);
            cursor = next;
            if (keys.length === 0) continue;
            await client.call(
              'MIGRATE',
              primary.host,
              String(primary.port),
              '',
              String(env.REDIS_DB),
              '60000',
              'COPY',
              'REPLACE',
              'AUTH2',
              env.REDIS_LOGIN_USER,
              env.REDIS_LOGIN_PASSWORD,
              'KEYS',
              ...keys,
            );
            moved += keys.length;
            ctx.progress(`redis: ${moved} keys copied into database ${env.REDIS_DB}`);
          } while (cursor !== '0');
          return `Redis database ${env.REDIS_DB} restored (${moved} keys; it held ${before} before)`;
        } finally {
          target.disconnect();
        }
      },
      drop,
    };
  } catch (err) {
    await drop();
    throw err;
  }
}
