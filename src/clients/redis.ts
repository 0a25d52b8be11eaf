import { Redis, type RedisOptions } from 'ioredis';
import type { Env } from '../config.ts';

export type RedisEnv = Pick<Env, 'REDIS_HOST' | 'REDIS_PORT' | 'REDIS_LOGIN_USER' | 'REDIS_LOGIN_PASSWORD'> &
  Partial<Pick<Env, 'REDIS_DB'>>;

/**
 * An ioredis client for the product's Redis, logged in as this process's ACL user (its component's:
 * src/identity.ts). Close it with `quit()`.
 */
export function createRedis(env: RedisEnv, options: RedisOptions = {}): Redis {
  return new Redis({
    host: env.REDIS_HOST,
    port: env.REDIS_PORT,
    username: env.REDIS_LOGIN_USER,
    password: env.REDIS_LOGIN_PASSWORD,
    db: env.REDIS_DB ?? 0,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 3,
    ...options,
  });
}
