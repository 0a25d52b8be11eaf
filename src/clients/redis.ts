import { Redis, type RedisOptions } from 'ioredis';
import type { Env } from '../config.ts';
import { tlsOptions } from './tls.ts';

export type RedisEnv = Pick<Env, 'REDIS_HOST' | 'REDIS_PORT' | 'REDIS_LOGIN_USER' | 'REDIS_LOGIN_PASSWORD'> &
  Partial<Pick<Env, 'REDIS_DB' | 'REDIS_TLS' | 'REDIS_TLS_CA_FILE'>>;

/**
 * An ioredis client for the product's Redis, logged in as this process's ACL user (its component's:
 * src/identity.ts), over TLS where REDIS_TLS says so (the server's certificate verified, its name included).
 * Close it with `quit()`.
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
    ...(env.REDIS_TLS ? { tls: tlsOptions(env.REDIS_TLS_CA_FILE) } : {}),
    ...options,
  });
}
