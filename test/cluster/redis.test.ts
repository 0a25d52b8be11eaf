// Redis in the cluster topology (docs/scaling.md#redis-a-primary-two-replicas-and-three-sentinels), against the running cluster: the product's client
// keeps writing while the primary is killed (kill -9), follows the primary the sentinels elect within
// seconds, and the killed node, started again as `prism stack` starts it, comes back as a replica of the new
// primary with its data. Each node has the stack's users, and the sentinels take no client without their
// password.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, redisPrimary } from '../../src/clients/redis.ts';
import type { Env } from '../../src/config.ts';
import { asRedisUser } from '../../src/identity.ts';
import { redisKeys } from '../../src/stores/redis/keys.ts';
import { createLockManager, LockNotReplicatedError } from '../../src/stores/redis/locks.ts';
import { consoleProgress } from '../../src/progress.ts';
import { clusterServices } from '../../src/stack/cluster.ts';
import { loadStackConfig } from '../../src/stack/config.ts';
import { context, startService } from '../../src/stack/native.ts';
import { stackPaths } from '../../src/stack/paths.ts';
import { redisRole } from '../../src/stack/services/redis.ts';
import { machineEnv } from '../../src/stack/topology.ts';

process.env.PRISM_TOPOLOGY ??= 'cluster';
const env: Env = loadStackConfig();
const paths = stackPaths(env);
const progress = consoleProgress('test');
const redisNodes = () => clusterServices(env).filter((s) => s.group === 'redis');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client of one node alone (no sentinels), as the stack's admin. */
function nodeClient(address: string): Redis {
  const client = createRedis(
    asRedisUser({ ...env, REDIS_HOST: address, REDIS_SENTINELS: undefined, REDIS_TLS: false }, 'admin'),
    { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true },
  );
  client.on('error', () => {});
  return client;
}

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | null | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

describe('Redis with Sentinel (the cluster topology)', () => {
  let redis: Redis;
  const key = `prism:test:failover:${process.pid}:${Date.now()}`;

  beforeAll(async () => {
    expect(env.REDIS_SENTINELS, 'the cluster topology reaches Redis through its sentinels').toBeTruthy();
    redis = createRedis(asRedisUser(env, 'admin'));
    redis.on('error', () => {});
    // Every node up and replicating before a fault is injected (an earlier test may have just restarted one).
    await until('every Redis node answering with its role', 60_000, async () => {
      const roles = await Promise.all(redisNodes().map((s) => redisRole(context(s, env, paths).env)));
      return (
        roles.every((r) => r === 'master' || r === 'replica') &&
        roles.filter((r) => r === 'master').length === 1
      );
    });
  });

  afterAll(async () => {
    await redis?.del(key).catch(() => undefined);
    redis?.disconnect();
  });

  it('keeps writing through a kill -9 of the primary, on the primary the sentinels elect', async () => {
    const before = await redisPrimary(env);
    const machines = env.PRISM_CLUSTER_MACHINES.split(',');
    const killed = redisNodes().find((s) => s.machine?.address === before.host)!;
    expect(killed, `a node of the cluster at ${before.host}`).toBeDefined();

    let acked = 0;
    let failed: string[] = [];
    let lastAckAt = Date.now();
    let longestPauseMs = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        try {
          await redis.incr(key);
          acked++;
          longestPauseMs = Math.max(longestPauseMs, Date.now() - lastAckAt);
          lastAckAt = Date.now();
        } catch (err) {
          failed = [...failed, (err as Error).message];
        }
        await sleep(20);
      }
    })();
    await until('the first writes', 5_000, async () => acked > 10);

    const pid = Number(readFileSync(context(killed, env, paths).pidFile, 'utf8'));
    const ackedBeforeKill = acked;
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    // Writes resume: more acknowledged after the kill, and the new primary is another node.
    await until('writes acknowledged after the kill', 30_000, async () => acked > ackedBeforeKill + 20);
    const resumedMs = Date.now() - killedAt;
    writing = false;
    await writer;

    const after = await redisPrimary(env);
    progress.step(
      `primary ${before.host} killed: writes paused ${longestPauseMs} ms at most, then went on on ` +
        `${after.host} (20 more acknowledged ${resumedMs} ms after the kill), ${acked} in all`,
    );
    expect(after.host).not.toBe(before.host);
    expect(machines).toContain(after.host);
    // Sentinel's down-after is 5 s; the election and promotion about a second more.
    expect(longestPauseMs).toBeLessThan(15_000);
    expect(failed, 'no write failed: the client waited for the new primary').toEqual([]);
    // Asynchronous replication may lose what the killed primary acknowledged and had not yet sent (and a
    // write in flight at the kill may be applied and sent again): a few at most, at this rate of writes.
    const value = Number(await redis.get(key));
    progress.step(`${acked} writes acknowledged, ${value} on the new primary`);
    expect(Math.abs(value - acked)).toBeLessThanOrEqual(5);

    // The killed node, started again as `prism stack up` starts it, comes back as a replica of the new
    // primary (not as the primary its old file named) and catches up.
    await startService(killed, env, paths, progress);
    const killedEnv = machineEnv(env, killed.machine!);
    // At once, from its configuration: not a primary that Sentinel demotes some seconds later.
    expect(await redisRole(killedEnv)).toBe('replica');
    const rejoined = nodeClient(killed.machine!.address);
    try {
      await rejoined.connect();
      await rejoined.select(env.REDIS_DB);
      const info = await rejoined.info('replication');
      expect(info).toMatch(new RegExp(`^master_host:${after.host.replaceAll('.', '\\.')}\\s*$`, 'm'));
      await until(
        'the restarted replica caught up',
        30_000,
        async () => Number(await rejoined.get(key)) === value,
      );
    } finally {
      rejoined.disconnect();
    }
    expect((await redisPrimary(env)).host, 'the restart did not move the primary').toBe(after.host);
  }, 120_000);

  it('has every sentinel name the same primary, and backups read from it', async () => {
    const primary = await redisPrimary(env);
    for (const sentinel of env.REDIS_SENTINELS!.split(',')) {
      expect(await redisPrimary({ ...env, REDIS_SENTINELS: sentinel }), sentinel).toEqual(primary);
    }
    const node = redisNodes().find((s) => s.machine?.address === primary.host)!;
    expect(await redisRole(context(node, env, paths).env)).toBe('master');
  });

  it('gives every node the same users (ACLs are not replicated)', async () => {
    const lists = await Promise.all(
      redisNodes().map(async (s) => {
        const client = nodeClient(s.machine!.address);
        try {
          await client.connect();
          // Each user's rules as a set: Redis lists a user's command rules in no fixed order.
          const users = (await client.call('ACL', 'LIST')) as string[];
          return users
            .map((u) => u.split(' '))
            .map(([, name, ...rules]) => `${name}: ${rules.sort().join(' ')}`)
            .sort();
        } finally {
          client.disconnect();
        }
      }),
    );
    expect(lists[0]!.map((u) => u.split(':')[0])).toEqual(
      expect.arrayContaining(['admin', 'worker', 'api', 'agent', 'backup']),
    );
    for (const list of lists.slice(1)) expect(list).toEqual(lists[0]);
    // Each node reads the ACL file of its own data directory.
    for (const s of redisNodes()) {
      const ctx = context(s, env, paths);
      expect(readFileSync(join(ctx.dataDir, 'users.acl'), 'utf8')).toContain('user worker on');
    }
  });

  it('returns a lock only once a replica has it (its fence survives a failover)', async () => {
    const prefix = `prism:test:lock:${process.pid}:${Date.now()}`;
    const locks = createLockManager(redis, { prefix });
    const lock = await locks.acquire('machine.m1', 10_000);
    expect(lock).not.toBeNull();
    try {
      const primary = await redisPrimary(env);
      const replicas = redisNodes().filter((s) => s.machine?.address !== primary.host);
      // Read at once, no waiting: WAIT returned only after one replica acknowledged the grant.
      const fences = await Promise.all(
        replicas.map(async (s) => {
          const client = nodeClient(s.machine!.address);
          try {
            await client.connect();
            await client.select(env.REDIS_DB);
            return Number(await client.get(redisKeys(prefix).lockFence('machine.m1')));
          } finally {
            client.disconnect();
          }
        }),
      );
      expect(fences).toContain(lock!.fence);
    } finally {
      await locks.release(lock!);
      await redis.del(redisKeys(prefix).lockFence('machine.m1'));
    }
  });

  it('refuses a lock no replica confirmed, and frees it', async () => {
    const prefix = `prism:test:lock:${process.pid}:${Date.now()}`;
    const locks = createLockManager(redis, { prefix });
    const primary = await redisPrimary(env);
    const replicaPids = redisNodes()
      .filter((s) => s.machine?.address !== primary.host)
      .map((s) => Number(readFileSync(context(s, env, paths).pidFile, 'utf8')));
    // Both replicas frozen for a moment (well under Sentinel's down-after and the primary's 10 s lag).
    for (const pid of replicaPids) process.kill(pid, 'SIGSTOP');
    try {
      await expect(locks.acquire('machine.m2', 10_000)).rejects.toThrow(LockNotReplicatedError);
    } finally {
      for (const pid of replicaPids) process.kill(pid, 'SIGCONT');
    }
    // Released when refused: the next owner gets it at once, with a higher fence.
    const next = await locks.acquire('machine.m2', 10_000);
    expect(next?.fence).toBe(2);
    await locks.release(next!);
    await redis.del(redisKeys(prefix).lockFence('machine.m2'));
  });

  it('refuses a sentinel client without the sentinels’ password', async () => {
    const [host, port] = env.REDIS_SENTINELS!.split(',')[0]!.split(':');
    const anonymous = new Redis({
      host,
      port: Number(port),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableReadyCheck: false,
    });
    anonymous.on('error', () => {});
    try {
      await anonymous.connect();
      await expect(
        anonymous.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', env.REDIS_SENTINEL_MASTER),
      ).rejects.toThrow(/NOAUTH/);
    } finally {
      anonymous.disconnect();
    }
  });
});
