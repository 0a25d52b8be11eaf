// Least privilege in Redis (stack/redis/users.acl, docs/security.md): one ACL user per component, the
// default user off. Each component does its job through the product's own stores, logged in as itself,
// and is refused the keys and commands its job does not need.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../../src/clients/redis.ts';
import { asRedisUser, type RedisUser } from '../../../src/identity.ts';
import { createAgentStateStore } from '../../../src/stores/redis/agent-state.ts';
import { createAlertQueue } from '../../../src/stores/redis/alert-queue.ts';
import { createLockManager } from '../../../src/stores/redis/locks.ts';
import { createRealtimeMetrics } from '../../../src/stores/redis/metrics.ts';
import { createSharedMemory } from '../../../src/stores/redis/shared-memory.ts';
import { keys } from '../../../src/stores/redis/keys.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startScratchProcess } from '../../../src/backup/stores/scratch-process.ts';
import { freePort, resolveTool } from '../../../src/backup/tools.ts';
import { renderRedisAcl } from '../../../src/stack/redis-acl.ts';
import { env, testId, waitFor } from '../../helpers.ts';

const noPermission = /NOPERM/;

describe('Redis users', () => {
  const clients = new Map<RedisUser, Redis>();
  const as = (user: RedisUser) => {
    if (!clients.has(user))
      clients.set(user, createRedis(asRedisUser(env, user), { maxRetriesPerRequest: 0 }));
    return clients.get(user)!;
  };
  const id = testId('acl');
  const agentId = `${id.replaceAll('_', '-')}-agent`;
  const taskNamespace = `task.${randomUUID()}`;
  const metric = `${id}.finished`;
  const written: string[] = [];
  afterAll(async () => {
    const admin = as('admin');
    const found: string[] = [...written];
    for (const pattern of [`prism:*${id}*`, `prism:*${agentId}*`, `prism:*${taskNamespace}*`]) {
      for await (const batch of admin.scanStream({ match: pattern, count: 1000 }))
        found.push(...(batch as string[]));
    }
    if (found.length > 0) await admin.del(...new Set(found));
    await admin.zrem(keys.agentHeartbeats(), agentId);
    for (const client of clients.values()) client.disconnect();
  });

  it('turns the default user off: a password alone, or none, logs in as nobody', async () => {
    const client = createRedis(
      { ...env, REDIS_LOGIN_USER: '', REDIS_LOGIN_PASSWORD: '' },
      { lazyConnect: true, enableReadyCheck: false, retryStrategy: () => null, maxRetriesPerRequest: 0 },
    );
    client.on('error', () => undefined);
    try {
      await client.connect();
      await expect(client.get('prism:any')).rejects.toThrow(/NOAUTH/);
      // The one password an earlier version gave everybody (now the admin's) no longer logs in by itself.
      await expect(client.call('AUTH', env.REDIS_PASSWORD!)).rejects.toThrow(/WRONGPASS/);
      await expect(client.call('AUTH', 'default', env.REDIS_PASSWORD!)).rejects.toThrow(/WRONGPASS/);
    } finally {
      client.disconnect();
    }
  });

  it('lets an agent keep its state, heartbeat, share memory and hold locks, and nothing else', async () => {
    const agent = as('agent');
    const state = createAgentStateStore(agent);
    await state.setState(agentId, { status: 'BUSY', currentTask: 'task-1' });
    await state.heartbeat(agentId);
    expect((await state.get(agentId))?.status).toBe('BUSY');
    const memory = createSharedMemory(agent, { namespace: taskNamespace });
    await memory.compareAndSet('step.a', 0, { found: true });
    expect((await memory.read('step.a'))?.value).toEqual({ found: true });
    const locks = createLockManager(agent);
    const lock = await locks.acquire(`machine.${id}`, 5_000);
    expect(lock).not.toBeNull();
    await locks.release(lock!);

    for (const [what, call] of [
      ['enqueue on the alert queue', () => agent.xadd(keys.alerts(), '*', 'alert', '{}')],
      ['read the real-time metrics', () => agent.get(keys.metric('tasks.finished.COMPLETED', 'sec', 1))],
      ["read the API's rate-limit counters", () => agent.get(`${keys.rateLimitNamespace()}key:x`)],
      ['a key outside the keyspace', () => agent.get('other:key')],
      ['FLUSHDB', () => agent.flushdb()],
      ['FLUSHALL', () => agent.flushall()],
      ['KEYS', () => agent.keys('prism:*')],
      ['CONFIG GET', () => agent.config('GET', 'maxmemory')],
      ['ACL LIST', () => agent.call('ACL', 'LIST')],
      ['SHUTDOWN', () => agent.call('SHUTDOWN', 'NOSAVE')],
    ] as const) {
      await expect((call as () => Promise<unknown>)(), what).rejects.toThrow(noPermission);
    }
  });

  it("refuses the API what it does not need: administration, agents' state, locks and task memory", async () => {
    const api = as('api');
    // Its own: the rate-limit counters, the metrics it reads, the alerts it shows.
    const counter = `${keys.rateLimitNamespace()}${id}`;
    written.push(counter);
    expect(await api.incr(counter)).toBe(1);
    await api.get(keys.metric(metric, 'sec', 1));
    await createAlertQueue(api).pendingCount();
    for (const [what, call] of [
      ['FLUSHALL', () => api.flushall()],
      ['FLUSHDB', () => api.flushdb()],
      ['CONFIG GET', () => api.config('GET', 'requirepass')],
      ['CONFIG SET', () => api.config('SET', 'maxmemory', '1mb')],
      ['SAVE', () => api.call('SAVE')],
      ['KEYS', () => api.keys('*')],
      ["an agent's state", () => api.hgetall(keys.agentState(agentId))],
      ['a lock', () => api.hgetall(keys.lock(`machine.${id}`))],
      ["a task's shared memory", () => api.hgetall(keys.memory(taskNamespace, 'step.a'))],
      ["a consumer's dedupe marks", () => api.exists(`prism:kafka:seen:prism-agents-MONITORING:${id}`)],
      ['write the metrics', () => api.incr(keys.metric(metric, 'sec', 1))],
    ] as const) {
      await expect((call as () => Promise<unknown>)(), what).rejects.toThrow(noPermission);
    }
  });

  it("lets the worker count metrics and queue alerts, but not touch agents' state or locks", async () => {
    const worker = as('worker');
    const realtime = createRealtimeMetrics(worker);
    expect(await realtime.countOnce(metric, id)).toBe(true);
    expect((await realtime.series(metric, 'sec', 2)).some((p) => p.value === 1)).toBe(true);
    for (const [what, call] of [
      ["an agent's state", () => worker.hset(keys.agentState(agentId), 'status', 'IDLE')],
      ['a lock', () => worker.del(keys.lock(`machine.${id}`))],
      ["the API's counters", () => worker.del(`${keys.rateLimitNamespace()}${id}`)],
      ['FLUSHALL', () => worker.flushall()],
      ['CONFIG', () => worker.config('GET', '*')],
    ] as const) {
      await expect((call as () => Promise<unknown>)(), what).rejects.toThrow(noPermission);
    }
  });

  it('gives the exporter statistics and no key, and backups a snapshot but no writes', async () => {
    const exporter = as('exporter');
    expect(await exporter.info('server')).toMatch(/redis_version/);
    await expect(exporter.get(keys.alerts())).rejects.toThrow(noPermission);
    await expect(exporter.call('CLIENT', 'KILL', 'ID', '1')).rejects.toThrow(noPermission);
    const backup = as('backup');
    expect(await backup.dbsize()).toBeGreaterThanOrEqual(0);
    await expect(backup.set(`prism:${id}`, 'x')).rejects.toThrow(noPermission);
    await expect(backup.flushall()).rejects.toThrow(noPermission);
    await expect(backup.config('GET', '*')).rejects.toThrow(noPermission);
  });

  it('keeps what transactions and scripts wrote across a crash: the append-only file replays under the ACL', async () => {
    // A Redis of its own with the product's users and an append-only file synced on every write, killed -9
    // and started again on the same directory. Redis 7.0 replays the file as the default user: with no
    // permissions for it, every MULTI/EXEC block (scripts are written as one) was dropped on load.
    const dir = await mkdtemp(join(tmpdir(), 'prism-redis-aof-'));
    const port = await freePort();
    writeFileSync(join(dir, 'users.acl'), renderRedisAcl(env), { mode: 0o600 });
    const start = () =>
      startScratchProcess(
        resolveTool('redis-server', env),
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--aclfile',
          join(dir, 'users.acl'),
          '--appendonly',
          'yes',
          '--appendfsync',
          'always',
          '--save',
          '',
        ],
        { dir, name: 'redis' },
      );
    const connect = () => {
      const client = createRedis(
        { ...asRedisUser(env, 'agent'), REDIS_HOST: '127.0.0.1', REDIS_PORT: port, REDIS_DB: 0 },
        { maxRetriesPerRequest: 0 },
      );
      client.on('error', () => undefined); // refused until the server listens: the ping below waits
      return client;
    };
    const answering = (client: ReturnType<typeof connect>, what: string) =>
      waitFor(
        what,
        () =>
          client.ping().then(
            (r) => r === 'PONG',
            () => false,
          ),
        10_000,
      );
    let server = start();
    try {
      let agent = connect();
      await answering(agent, 'the scratch Redis');
      const lock = await createLockManager(agent).acquire(`machine.${id}`, 60_000); // a Lua script
      const memory = createSharedMemory(agent, { namespace: `aof.${id}` });
      await memory.update('setpoint', () => ({ value: 42 })); // WATCH/MULTI/EXEC
      agent.disconnect();
      process.kill(server.pid, 'SIGKILL');
      await server.stop();
      server = start();
      agent = connect();
      await answering(agent, 'the restarted Redis');
      expect(await agent.get(keys.lockFence(`machine.${id}`))).toBe(String(lock!.fence));
      expect((await createSharedMemory(agent, { namespace: `aof.${id}` }).read('setpoint'))?.value).toEqual({
        value: 42,
      });
      agent.disconnect();
      expect(readFileSync(join(dir, 'redis.log'), 'utf8')).not.toMatch(/NOPERM/);
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
