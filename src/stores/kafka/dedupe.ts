// Remembers which envelope ids a consumer group has processed, so a redelivered message (after a crash
// before the offset commit, or a rebalance) has its effect once.
import type { Redis } from 'ioredis';

export interface DedupeStore {
  /** Whether the message was already processed successfully. */
  seen(id: string): Promise<boolean>;
  /** Records that the message was processed successfully. */
  remember(id: string): Promise<void>;
}

export interface RedisDedupeOptions {
  groupId: string;
  /**
   * How long an id is remembered. Redeliveries come seconds to minutes after the first delivery; a day
   * also covers a manual replay the same day, while keeping the keys of busy topics within Redis memory.
   */
  ttlSeconds?: number;
}

export const defaultDedupeTtlSeconds = 24 * 60 * 60;

export function dedupeKey(groupId: string, id: string): string {
  return `prism:kafka:seen:${groupId}:${id}`;
}

/** A DedupeStore in Redis, one key per processed message (`prism:kafka:seen:{groupId}:{id}`) with a TTL. */
export function redisDedupeStore(redis: Redis, options: RedisDedupeOptions): DedupeStore {
  const ttlSeconds = options.ttlSeconds ?? defaultDedupeTtlSeconds;
  return {
    async seen(id) {
      return (await redis.exists(dedupeKey(options.groupId, id))) === 1;
    },
    async remember(id) {
      // The key has a TTL, so Redis's volatile-lru may evict it under memory pressure: that weakens
      // dedupe to plain at-least-once for that message, it never loses one.
      await redis.set(dedupeKey(options.groupId, id), '1', 'EX', ttlSeconds, 'NX');
    },
  };
}
