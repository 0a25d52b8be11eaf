import { afterAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../../src/stores/redis/keys.ts';
import { createSessionStore } from '../../../src/stores/redis/sessions.ts';
import { redisFixture, sleep } from './fixture.ts';

describe('Redis sessions', () => {
  const { redis, prefix, cleanup } = redisFixture('sessions');
  const sessions = createSessionStore(redis, { prefix, ttlMs: 60_000 });
  const keys = redisKeys(prefix);
  afterAll(cleanup);

  it('creates a session with a random id and a TTL, and reads it back', async () => {
    const a = await sessions.create({ userId: 'u-1', roles: ['operator'] });
    const b = await sessions.create({ userId: 'u-1', roles: ['operator'] });
    expect(a.id).not.toBe(b.id);
    expect(a.id).toMatch(/^[\w-]{24}$/);

    expect(await sessions.get(a.id)).toEqual({
      id: a.id,
      data: { userId: 'u-1', roles: ['operator'] },
      createdAtMs: a.createdAtMs,
    });
    const ttl = await redis.pttl(keys.session(a.id));
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('expires a session when its TTL runs out', async () => {
    const session = await sessions.create({ userId: 'u-2' }, 300);
    expect(await sessions.get(session.id)).not.toBeNull();
    await sleep(450);
    expect(await sessions.get(session.id)).toBeNull();
    expect(await redis.exists(keys.session(session.id))).toBe(0);
    expect(await sessions.touch(session.id)).toBe(false);
  });

  it('touch extends the TTL past the original expiry', async () => {
    const session = await sessions.create({ userId: 'u-3' }, 400);
    await sleep(250);
    expect(await sessions.touch(session.id, 800)).toBe(true);
    expect(await redis.pttl(keys.session(session.id))).toBeGreaterThan(600);
    await sleep(400); // 650 ms after creation: past the original 400 ms TTL
    expect((await sessions.get(session.id))?.data).toEqual({ userId: 'u-3' });
    await sleep(550); // past the refreshed TTL
    expect(await sessions.get(session.id)).toBeNull();
  });

  it('deletes a session', async () => {
    const session = await sessions.create({ userId: 'u-4' });
    expect(await sessions.delete(session.id)).toBe(true);
    expect(await sessions.get(session.id)).toBeNull();
    expect(await sessions.delete(session.id)).toBe(false);
  });

  it('refuses a TTL that is not a positive whole number', async () => {
    await expect(sessions.create({}, 0)).rejects.toThrow(/ttlMs 0 is invalid/);
  });
});
