import { afterAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../../src/stores/redis/keys.ts';
import { createRealtimeMetrics } from '../../../src/stores/redis/metrics.ts';
import { redisFixture, sleep } from './fixture.ts';

describe('Redis real-time metrics', () => {
  const { redis, prefix, cleanup } = redisFixture('metrics');
  const keys = redisKeys(prefix);
  afterAll(cleanup);

  it('counts into per-second and per-minute buckets and reads the series with zeros for gaps', async () => {
    // A controlled clock, starting at the beginning of the current minute, so bucket edges are known.
    const minuteStart = Math.floor(Date.now() / 60_000) * 60_000;
    let now = minuteStart;
    const metrics = createRealtimeMetrics(redis, { prefix, clock: () => now });

    now = minuteStart + 100;
    await metrics.increment('tasks.completed');
    await metrics.increment('tasks.completed', 4);
    now = minuteStart + 1_999; // last ms of second 1
    await metrics.increment('tasks.completed', 2);
    now = minuteStart + 3_000; // first ms of second 3
    await metrics.increment('tasks.completed');
    now = minuteStart + 60_500; // the next minute
    await metrics.increment('tasks.completed', 7);

    now = minuteStart + 3_900;
    const seconds = await metrics.series('tasks.completed', 'sec', 5);
    expect(seconds).toEqual([
      { bucketStartMs: minuteStart - 1_000, value: 0 },
      { bucketStartMs: minuteStart, value: 5 },
      { bucketStartMs: minuteStart + 1_000, value: 2 },
      { bucketStartMs: minuteStart + 2_000, value: 0 },
      { bucketStartMs: minuteStart + 3_000, value: 1 },
    ]);
    expect(await metrics.series('tasks.completed', 'min', 2)).toEqual([
      { bucketStartMs: minuteStart - 60_000, value: 0 },
      { bucketStartMs: minuteStart, value: 8 },
    ]);
    now = minuteStart + 60_900;
    expect((await metrics.series('tasks.completed', 'min', 2)).map((p) => p.value)).toEqual([8, 7]);
    expect((await metrics.series('other.metric', 'sec', 3)).map((p) => p.value)).toEqual([0, 0, 0]);

    expect(await redis.get(keys.metric('tasks.completed', 'sec', minuteStart / 1_000))).toBe('5');
    expect(await redis.get(keys.metric('tasks.completed', 'min', minuteStart / 60_000))).toBe('8');
  });

  it('gives every bucket a TTL (bucket end + retention), so buckets expire and are evictable', async () => {
    const before = Date.now();
    const metrics = createRealtimeMetrics(redis, { prefix, clock: () => before });
    await metrics.increment('alerts.raised', 3);
    const second = Math.floor(before / 1_000);
    const minute = Math.floor(before / 60_000);
    const secondTtl = await redis.pttl(keys.metric('alerts.raised', 'sec', second));
    const minuteTtl = await redis.pttl(keys.metric('alerts.raised', 'min', minute));
    // Defaults: seconds kept 1 hour, minutes 24 hours after their bucket ends.
    expect(secondTtl).toBeGreaterThan(3_600_000 - 5_000);
    expect(secondTtl).toBeLessThanOrEqual(3_601_000);
    expect(minuteTtl).toBeGreaterThan(86_400_000 - 5_000);
    expect(minuteTtl).toBeLessThanOrEqual(86_460_000);
  });

  it('drops buckets once their retention has passed', async () => {
    const at = Date.now();
    const metrics = createRealtimeMetrics(redis, {
      prefix,
      clock: () => at,
      secondRetentionMs: 500,
      minuteRetentionMs: 500,
    });
    await metrics.increment('short.lived', 9);
    const secondKey = keys.metric('short.lived', 'sec', Math.floor(at / 1_000));
    expect(await redis.get(secondKey)).toBe('9');
    expect(await redis.pttl(secondKey)).toBeGreaterThan(0);
    // The second bucket ends at most 1 s after `at`, then lives 500 ms more.
    await sleep(Math.floor(at / 1_000) * 1_000 + 1_000 + 500 - Date.now() + 100);
    expect(await redis.get(secondKey)).toBeNull();
    expect((await metrics.series('short.lived', 'sec', 1))[0]?.value).toBe(0);
  });

  it('refuses a fractional increment and an unreasonable series length', async () => {
    const metrics = createRealtimeMetrics(redis, { prefix });
    await expect(metrics.increment('x', 1.5)).rejects.toThrow(/whole number/);
    await expect(metrics.series('x', 'sec', 0)).rejects.toThrow(/count 0/);
  });
});
