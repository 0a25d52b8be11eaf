import type { Redis } from 'ioredis';
import { createRedis } from '../../../src/clients/redis.ts';
import { env, testId } from '../../helpers.ts';

export { setTimeout as sleep } from 'node:timers/promises';

/** A Redis client and a key prefix of this test file's own; `cleanup` deletes every key under it. */
export function redisFixture(name: string): { redis: Redis; prefix: string; cleanup(): Promise<void> } {
  const redis = createRedis(env);
  const prefix = `prism:${testId(name)}`;
  return {
    redis,
    prefix,
    async cleanup() {
      const found: string[] = [];
      const scan = redis.scanStream({ match: `${prefix}:*`, count: 1000 });
      for await (const batch of scan) found.push(...(batch as string[]));
      if (found.length > 0) await redis.del(...found);
      await redis.quit();
    },
  };
}
