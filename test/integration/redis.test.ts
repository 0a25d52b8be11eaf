import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/clients/redis.ts';
import { env, testId } from '../helpers.ts';

describe('Redis', () => {
  const redis = createRedis(env);
  const key = testId('redis');
  afterAll(async () => {
    await redis.del(key, `${key}:ttl`);
    await redis.quit();
  });

  it('sets and gets a value', async () => {
    await redis.set(key, 'machine-7:running');
    expect(await redis.get(key)).toBe('machine-7:running');
  });

  it('expires a key after its TTL', async () => {
    await redis.set(`${key}:ttl`, 'temporary', 'PX', 300);
    const ttl = await redis.pttl(`${key}:ttl`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
    await new Promise((r) => setTimeout(r, 400));
    expect(await redis.get(`${key}:ttl`)).toBeNull();
  });

  it('requires a user and its password', async () => {
    const anonymous = createRedis(
      { ...env, REDIS_LOGIN_USER: '', REDIS_LOGIN_PASSWORD: '' },
      { enableReadyCheck: false, retryStrategy: () => null, maxRetriesPerRequest: 0 },
    );
    anonymous.on('error', () => undefined);
    try {
      await expect(anonymous.get(key)).rejects.toThrow(/NOAUTH/);
    } finally {
      anonymous.disconnect();
    }
  });
});
