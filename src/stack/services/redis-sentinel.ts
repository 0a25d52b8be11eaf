// The cluster topology's sentinels (docs/scaling.md#redis-a-primary-two-replicas-and-three-sentinels): `redis-server --sentinel`, one on each machine at
// REDIS_SENTINEL_PORT, monitoring the primary of REDIS_SENTINEL_MASTER with a quorum of two; a primary that
// does not answer for 5 s is failed over to a replica. Clients log in with REDIS_SENTINEL_PASSWORD.
//
// sentinel.conf is Sentinel's own state as much as its configuration: it rewrites it with its id, the epoch,
// the replicas and sentinels it found and, after a failover, the new primary. So a sentinel that starts again
// starts on that file as it is; only when the settings it was made from change (a password, the timing) is it
// written anew, keeping its id and the primary it last knew.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { askSentinelAt } from '../../clients/redis.ts';
import type { Env } from '../../config.ts';
import { binaries } from '../install.ts';
import { spawnDetached, stopProcess } from '../process.ts';
import type { NativeService, ServiceContext } from '../services.ts';
import { nodesOf, type Machine } from '../topology.ts';
import {
  monitoredIn,
  sentinelConf,
  sentinelDownAfterMs,
  sentinelFailoverTimeoutMs,
  sentinelIdIn,
  sentinelQuorum,
  type SentinelSettings,
} from './redis-replication.ts';

const confName = 'sentinel.conf';
/** The settings the current sentinel.conf was written from (the initial primary, no id): compared on `up`. */
const baseName = 'sentinel.base.conf';

function settings(ctx: ServiceContext): SentinelSettings {
  const { env, dataDir } = ctx;
  const machines = ctx.cluster?.machines ?? [];
  if (!env.REDIS_SENTINEL_PASSWORD)
    throw new Error(
      'REDIS_SENTINEL_PASSWORD (the sentinels’ password) is not set: `prism stack up` generates it',
    );
  if (!env.REDIS_PASSWORD)
    throw new Error('REDIS_PASSWORD (the Redis admin, the sentinels’ login) is not set');
  return {
    address: env.PRISM_BIND_ADDRESS,
    port: env.REDIS_SENTINEL_PORT,
    dir: dataDir,
    master: env.REDIS_SENTINEL_MASTER,
    primary: { host: machines[0]?.address ?? env.PRISM_BIND_ADDRESS, port: env.REDIS_PORT },
    quorum: sentinelQuorum(Math.max(machines.length, 1)),
    downAfterMs: sentinelDownAfterMs,
    failoverTimeoutMs: sentinelFailoverTimeoutMs,
    password: env.REDIS_SENTINEL_PASSWORD,
    nodeUser: 'admin',
    nodePassword: env.REDIS_PASSWORD,
  };
}

function baseCurrent(ctx: ServiceContext): boolean {
  const file = join(ctx.dataDir, baseName);
  return existsSync(file) && readFileSync(file, 'utf8') === sentinelConf(settings(ctx));
}

/** Writes sentinel.conf unless the one there was made from these settings: then it is Sentinel's, kept. */
function writeSentinelConf(ctx: ServiceContext): void {
  mkdirSync(ctx.dataDir, { recursive: true });
  const conf = join(ctx.dataDir, confName);
  if (existsSync(conf) && baseCurrent(ctx)) return;
  const wanted = settings(ctx);
  const last = existsSync(conf) ? readFileSync(conf, 'utf8') : '';
  writeFileSync(
    conf,
    sentinelConf({
      ...wanted,
      primary: monitoredIn(last, wanted.master) ?? wanted.primary,
      myid: sentinelIdIn(last),
    }),
    { mode: 0o600 },
  );
  writeFileSync(join(ctx.dataDir, baseName), sentinelConf(wanted), { mode: 0o600 });
}

export function askSentinel<T>(env: Env, ask: (client: Redis) => Promise<T>): Promise<T> {
  return askSentinelAt(
    { host: env.PRISM_BIND_ADDRESS, port: env.REDIS_SENTINEL_PORT },
    env.REDIS_SENTINEL_PASSWORD,
    ask,
  );
}

/** The primary this sentinel names, as `host:port`. */
export async function namedPrimary(env: Env): Promise<string | null> {
  return askSentinel(env, async (client) => {
    const reply = (await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', env.REDIS_SENTINEL_MASTER)) as
      [string, string] | null;
    return reply ? `${reply[0]}:${reply[1]}` : null;
  });
}

export const redisSentinel: NativeService = {
  name: 'redis-sentinel',
  // Ready once it answers and names the primary (its probe in src/stack/health.ts).
  serves: ['redis-sentinel'],
  marker: '[sentinel]',
  ports: (env) => [env.REDIS_SENTINEL_PORT],
  after: ['redis'],
  start(ctx) {
    writeSentinelConf(ctx);
    return Promise.resolve(
      spawnDetached({
        command: binaries(ctx.paths).redis,
        args: [join(ctx.dataDir, confName), '--sentinel'],
        logFile: ctx.logFile,
        pidFile: ctx.pidFile,
      }),
    );
  },
  async afterReady({ env, logFile }) {
    const deadline = Date.now() + 60_000;
    let last = '';
    while (Date.now() < deadline) {
      try {
        if (await namedPrimary(env)) return;
        last = `it does not monitor "${env.REDIS_SENTINEL_MASTER}"`;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`the sentinel did not name the primary within 60 s (${last}); see ${logFile}`);
  },
  async refresh(ctx, pid) {
    if (baseCurrent(ctx)) return;
    await stopProcess(pid, 30_000);
    return this.start(ctx);
  },
  current: (ctx) => Promise.resolve(baseCurrent(ctx)),
  role: async ({ env }) => {
    const primary = await namedPrimary(env).catch(() => null);
    return primary ? `sentinel (primary ${primary})` : null;
  },
};

/** One sentinel on each machine (src/stack/cluster.ts). */
export function redisSentinelNodes(machines: Machine[]): NativeService[] {
  return nodesOf(redisSentinel, machines);
}
