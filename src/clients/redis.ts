import { Redis, type RedisOptions } from 'ioredis';
import type { Env } from '../config.ts';

export type RedisEnv = Pick<Env, 'REDIS_HOST' | 'REDIS_PORT' | 'REDIS_PASSWORD'> &
  Partial<Pick<Env, 'REDIS_DB'>>;

/** An ioredis client for the product's Redis. Close it with `quit()`. */
export function createRedis(env: RedisEnv, options: RedisOptions = {}): Redis {
  return new Redis({
    host: env.REDIS_HOST,
    port: env.REDIS_PORT,
    password: env.REDIS_PASSWORD,
    db: env.REDIS_DB ?? 0,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 3,
    ...options,
  });
}
