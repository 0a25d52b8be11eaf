import { afterAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../../src/stores/redis/keys.ts';
import {
  createLockManager,
  LockBusyError,
  LockLostError,
  type Lock,
} from '../../../src/stores/redis/locks.ts';
import { redisFixture, sleep } from './fixture.ts';

describe('Redis distributed locks', () => {
  const { redis, prefix, cleanup } = redisFixture('locks');
  const other = redis.duplicate(); // a second process
  const locks = createLockManager(redis, { prefix });
  const otherLocks = createLockManager(other, { prefix });
  const keys = redisKeys(prefix);
  afterAll(async () => {
    await other.quit();
    await cleanup();
  });

  it('excludes a second owner until the first releases, and never relies on a Redis TTL', async () => {
    const first = await locks.acquire('line-1', 10_000);
    expect(first).toMatchObject({ name: 'line-1', fence: 1 });
    expect(await otherLocks.acquire('line-1', 10_000)).toBeNull();

    expect(await redis.hgetall(keys.lock('line-1'))).toEqual({
      owner: first!.token,
      fence: '1',
      expiresAtMs: String(first!.expiresAtMs),
    });
    // No TTL on either key: volatile-lru can never evict a held lock or reset the fencing counter.
    expect(await redis.pttl(keys.lock('line-1'))).toBe(-1);
    expect(await redis.pttl(keys.lockFence('line-1'))).toBe(-1);

    expect(await locks.release(first!)).toEqual({ released: true });
    expect(await redis.exists(keys.lock('line-1'))).toBe(0);
    const second = await otherLocks.acquire('line-1', 10_000);
    expect(second!.fence).toBe(2);
    await otherLocks.release(second!);
  });

  it('refuses release and renew by a non-owner, and the owner keeps the lock', async () => {
    const owner = await locks.acquire('line-2', 10_000);
    const impostor: Lock = { ...owner!, token: 'not-the-owner' };
    expect(await otherLocks.release(impostor)).toEqual({ released: false, reason: 'not-owner' });
    expect(await otherLocks.renew(impostor, 60_000)).toEqual({ renewed: false, reason: 'not-owner' });
    expect(await redis.hget(keys.lock('line-2'), 'owner')).toBe(owner!.token);
    expect(await redis.hget(keys.lock('line-2'), 'expiresAtMs')).toBe(String(owner!.expiresAtMs));
    expect(await otherLocks.acquire('line-2', 10_000)).toBeNull();
    expect(await locks.release(owner!)).toEqual({ released: true });
  });

  it('lets another owner take over a lock that expired while held, with a higher fence; the first owner then fails', async () => {
    const first = await locks.acquire('line-3', 200);
    await sleep(300); // the first owner stalls past its lease
    expect(await redis.exists(keys.lock('line-3'))).toBe(1); // expired, but still in Redis (no TTL)

    const second = await otherLocks.acquire('line-3', 10_000);
    expect(second).not.toBeNull();
    expect(second!.fence).toBeGreaterThan(first!.fence);

    expect(await locks.renew(first!, 10_000)).toEqual({ renewed: false, reason: 'not-owner' });
    expect(await locks.release(first!)).toEqual({ released: false, reason: 'not-owner' });
    // The takeover survived the first owner's attempts.
    expect(await redis.hget(keys.lock('line-3'), 'owner')).toBe(second!.token);
    expect(await locks.acquire('line-3', 10_000)).toBeNull();
    expect(await otherLocks.release(second!)).toEqual({ released: true });
  });

  it('renews only while held: renewal extends the lease, an expired lease cannot be renewed', async () => {
    const lock = await locks.acquire('line-4', 500);
    await sleep(200);
    const renewed = await locks.renew(lock!, 1_500);
    expect(renewed).toMatchObject({ renewed: true });
    expect(renewed.renewed && renewed.expiresAtMs).toBeGreaterThan(lock!.expiresAtMs);
    await sleep(450); // past the original lease, within the renewed one
    expect(await otherLocks.acquire('line-4', 1_000)).toBeNull();
    expect(await redis.hget(keys.lock('line-4'), 'fence')).toBe(String(lock!.fence)); // renewal keeps the fence

    const short = await locks.acquire('line-5', 100);
    await sleep(200);
    expect(await locks.renew(short!, 1_000)).toEqual({ renewed: false, reason: 'expired' });
    expect(await locks.release(short!)).toEqual({ released: false, reason: 'expired' });
    expect(await redis.exists(keys.lock('line-5'))).toBe(0);
    expect(await locks.release(lock!)).toEqual({ released: true });
  });

  it('hands out strictly increasing fencing tokens', async () => {
    const fences: number[] = [];
    for (let i = 0; i < 5; i++) {
      const lock = await (i % 2 ? otherLocks : locks).acquire('line-6', 10_000);
      fences.push(lock!.fence);
      await (i % 2 ? otherLocks : locks).release(lock!);
    }
    expect(fences).toEqual([1, 2, 3, 4, 5]);
    expect(await redis.get(keys.lockFence('line-6'))).toBe('5');
  });

  it('withLock serialises concurrent critical sections and releases the lock', async () => {
    const counterKey = `${prefix}:withlock-counter`;
    await redis.set(counterKey, '0');
    const increment = (manager: typeof locks) =>
      manager.withLock(
        'line-7',
        5_000,
        async () => {
          // A read-modify-write that loses updates unless the lock excludes the other worker.
          const value = Number(await redis.get(counterKey));
          await sleep(5);
          await redis.set(counterKey, String(value + 1));
        },
        { waitMs: 10_000, retryDelayMs: 5 },
      );
    await Promise.all(
      [locks, otherLocks].map(async (manager) => {
        for (let i = 0; i < 10; i++) await increment(manager);
      }),
    );
    expect(await redis.get(counterKey)).toBe('20');
    expect(await redis.exists(keys.lock('line-7'))).toBe(0);
  });

  it('withLock fails loudly when the lock is busy or was lost during the work', async () => {
    const held = await locks.acquire('line-8', 10_000);
    let ran = false;
    await expect(
      otherLocks.withLock('line-8', 1_000, async () => {
        ran = true;
      }),
    ).rejects.toThrow(LockBusyError);
    expect(ran).toBe(false);
    await locks.release(held!);

    // A live owner keeps its lease while it works, however long (it renews it)...
    const kept = otherLocks.withLock('line-11', 100, async () => {
      await sleep(350);
      expect(await locks.acquire('line-11', 1_000)).toBeNull(); // still held: nobody else gets it
      return 'done';
    });
    await expect(kept).resolves.toBe('done');
    // ...but an owner that is paused longer than its lease (here its event loop is blocked, so it renews
    // nothing) loses it, and says so.
    const lost = otherLocks.withLock('line-9', 100, async () => {
      const until = Date.now() + 250;
      while (Date.now() < until); // busy: no timer, no renewal runs
      await sleep(10);
      return 'done';
    });
    await expect(lost).rejects.toThrow(LockLostError);
    await expect(lost).rejects.toThrow(/line-9 .* expired .*raise ttlMs or renew/);

    await expect(locks.withLock('line-10', 1_000, async (lock) => lock.fence)).resolves.toBe(1);
    await expect(
      locks.withLock('line-10', 1_000, () => Promise.reject(new Error('step failed'))),
    ).rejects.toThrow('step failed');
    expect(await redis.exists(keys.lock('line-10'))).toBe(0); // released although fn failed
  });
});
