// Real-time counters in per-second and per-minute buckets. Each bucket carries a TTL, so old buckets
// disappear on their own and, being volatile, are what volatile-lru evicts first under memory pressure.
import type { Redis } from 'ioredis';
import { execAll } from './exec.ts';
import { redisKeys, type MetricResolution } from './keys.ts';

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
  /** The last `count` buckets, oldest first, ending with the current one; 0 where nothing was counted. */
  series(name: string, resolution: MetricResolution, count: number): Promise<MetricPoint[]>;
}

const BUCKET_MS: Record<MetricResolution, number> = { sec: 1_000, min: 60_000 };

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
