// Real-time counters in per-second and per-minute buckets. Each bucket carries a TTL, so old buckets
// disappear on their own and, being volatile, are what volatile-lru evicts first under memory pressure.
import type { Redis } from 'ioredis';
import { execAll } from './exec.ts';
import { redisKeys, type MetricResolution } from './keys.ts';
import { luaScript } from './lua.ts';

export interface MetricPoint {
  bucketStartMs: number;
  value: number;
}

export interface RealtimeMetricsOptions {
  prefix?: string;
  /** Where "now" comes from; bucket times are ms since the epoch. Default Date.now. */
  clock?: () => number;
  /** How long a per-second bucket is kept after it ends. Default 1 hour. */
  secondRetentionMs?: number;
  /** How long a per-minute bucket is kept after it ends. Default 24 hours. */
  minuteRetentionMs?: number;
}

export interface RealtimeMetrics {
  /** Adds `by` (a whole number, default 1) to the current second and minute of the counter. */
  increment(name: string, by?: number): Promise<void>;
  /**
   * Counts one event once, however often it is reported (an activity retried after it counted): the
   * first call for `eventId` adds 1 and returns true, later ones (within the minute retention) change
   * nothing and return false.
   */
  countOnce(name: string, eventId: string): Promise<boolean>;
  /** The last `count` buckets, oldest first, ending with the current one; 0 where nothing was counted. */
  series(name: string, resolution: MetricResolution, count: number): Promise<MetricPoint[]>;
}

const BUCKET_MS: Record<MetricResolution, number> = { sec: 1_000, min: 60_000 };

// KEYS: event marker, second bucket, minute bucket. ARGV: marker TTL (ms), bucket expiries (epoch ms).
// All or nothing: a counter is never written without its expiry, an event never counted twice.
const countOnceScript =
  luaScript(`if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
redis.call('INCR', KEYS[2])
redis.call('PEXPIREAT', KEYS[2], ARGV[2])
redis.call('INCR', KEYS[3])
redis.call('PEXPIREAT', KEYS[3], ARGV[3])
return 1`);

export function createRealtimeMetrics(redis: Redis, options: RealtimeMetricsOptions = {}): RealtimeMetrics {
  const keys = redisKeys(options.prefix);
  const clock = options.clock ?? Date.now;
  const retentionMs: Record<MetricResolution, number> = {
    sec: options.secondRetentionMs ?? 60 * 60_000,
    min: options.minuteRetentionMs ?? 24 * 60 * 60_000,
  };

  return {
    async increment(name, by = 1) {
      if (!Number.isSafeInteger(by))
        throw new Error(`metric ${name}: increment ${by} must be a whole number`);
      const now = clock();
      // One MULTI: a counter written without its expiry would never be evicted nor expire.
      const transaction = redis.multi();
      for (const resolution of ['sec', 'min'] as const) {
        const bucket = Math.floor(now / BUCKET_MS[resolution]);
        const key = keys.metric(name, resolution, bucket);
        const bucketEndMs = (bucket + 1) * BUCKET_MS[resolution];
        transaction.incrby(key, by).pexpireat(key, bucketEndMs + retentionMs[resolution]);
      }
      await execAll(transaction);
    },

    async countOnce(name, eventId) {
      const now = clock();
      const buckets = (['sec', 'min'] as const).map((resolution) => {
        const bucket = Math.floor(now / BUCKET_MS[resolution]);
        return {
          key: keys.metric(name, resolution, bucket),
          expireAtMs: (bucket + 1) * BUCKET_MS[resolution] + retentionMs[resolution],
        };
      });
      const counted = await countOnceScript(
        redis,
        [keys.metricEvent(name, eventId), buckets[0]!.key, buckets[1]!.key],
        [retentionMs.min, buckets[0]!.expireAtMs, buckets[1]!.expireAtMs],
      );
      return counted === 1;
    },

    async series(name, resolution, count) {
      if (!Number.isSafeInteger(count) || count < 1 || count > 100_000) {
        throw new Error(`metric ${name}: count ${count} must be a whole number from 1 to 100000`);
      }
      const current = Math.floor(clock() / BUCKET_MS[resolution]);
      const buckets = Array.from({ length: count }, (_, i) => current - count + 1 + i);
      const values = await redis.mget(buckets.map((bucket) => keys.metric(name, resolution, bucket)));
      return buckets.map((bucket, i) => ({
        bucketStartMs: bucket * BUCKET_MS[resolution],
        value: Number(values[i] ?? 0),
      }));
    },
  };
}
