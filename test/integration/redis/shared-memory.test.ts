import { afterAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../../src/stores/redis/keys.ts';
import { createSharedMemory, MemoryConflictError } from '../../../src/stores/redis/shared-memory.ts';
import { redisFixture, sleep } from './fixture.ts';

describe('Redis shared memory', () => {
  const { redis, prefix, cleanup } = redisFixture('memory');
  const memory = createSharedMemory(redis, { prefix, namespace: 'plan-1' });
  const keys = redisKeys(prefix);
  const writers = Array.from({ length: 4 }, () => redis.duplicate());
  afterAll(async () => {
    await Promise.all(writers.map((w) => w.quit()));
    await cleanup();
  });

  it('reads a JSON value with its version; a missing key reads as null', async () => {
    expect(await memory.read('missing')).toBeNull();
    expect(await memory.compareAndSet('doc', 0, { step: 'inspect', ok: true })).toEqual({
      ok: true,
      version: 1,
    });
    expect(await memory.read('doc')).toEqual({ value: { step: 'inspect', ok: true }, version: 1 });
    expect(await redis.hgetall(keys.memory('plan-1', 'doc'))).toEqual({
      value: '{"step":"inspect","ok":true}',
      version: '1',
    });
    expect(await redis.pttl(keys.memory('plan-1', 'doc'))).toBe(-1); // never evicted by volatile-lru
  });

  it('refuses a stale compareAndSet and keeps the newer value', async () => {
    await memory.compareAndSet('stale', 0, 'first');
    const seenByA = await memory.read<string>('stale');
    const seenByB = await memory.read<string>('stale');
    expect(await memory.compareAndSet('stale', seenByB!.version, 'written by B')).toEqual({
      ok: true,
      version: 2,
    });
    expect(await memory.compareAndSet('stale', seenByA!.version, 'written by A')).toEqual({
      ok: false,
      currentVersion: 2,
    });
    expect(await memory.read('stale')).toEqual({ value: 'written by B', version: 2 });
    // Version 0 means "create": refused once the key exists.
    expect(await memory.compareAndSet('stale', 0, 'again')).toEqual({ ok: false, currentVersion: 2 });
  });

  it('loses no update when several agents increment one counter concurrently', async () => {
    const perWriter = 40;
    let retries = 0;
    await Promise.all(writers.map((w) => w.ping())); // all connected, so the writers really overlap
    await Promise.all(
      writers.map(async (client) => {
        const agentMemory = createSharedMemory(client, { prefix, namespace: 'plan-1' });
        for (let i = 0; i < perWriter; i++) {
          let calls = 0;
          await agentMemory.update<{ count: number }>('counter', async (current) => {
            calls++;
            await sleep(1); // an agent takes a moment to compute the new value; others write meanwhile
            return { count: (current?.count ?? 0) + 1 };
          });
          retries += calls - 1;
        }
      }),
    );
    const total = writers.length * perWriter;
    expect(await memory.read('counter')).toEqual({ value: { count: total }, version: total });
    // The writers really did collide, so the sum above proves the retries, not luck.
    expect(retries).toBeGreaterThan(0);
  });

  it('gives up after maxAttempts when every write conflicts, with an error saying what to do', async () => {
    const impatient = createSharedMemory(redis, { prefix, namespace: 'plan-1', maxAttempts: 3 });
    await memory.compareAndSet('hot', 0, 0);
    let calls = 0;
    const update = impatient.update<number>('hot', async (current) => {
      calls++;
      // Another agent writes between our read and our compare-and-set, every time.
      const seen = await memory.read<number>('hot');
      await memory.compareAndSet('hot', seen!.version, 1000 + calls);
      return (current ?? 0) + 1;
    });
    await expect(update).rejects.toThrow(MemoryConflictError);
    await expect(update).rejects.toThrow(/gave up after 3 conflicting writes.*raise maxAttempts/);
    expect(calls).toBe(3);
    expect(await memory.read('hot')).toEqual({ value: 1003, version: 4 });
  });

  it('deletes a value', async () => {
    await memory.compareAndSet('temp', 0, [1, 2]);
    expect(await memory.delete('temp')).toBe(true);
    expect(await memory.read('temp')).toBeNull();
    expect(await memory.delete('temp')).toBe(false);
  });
});
