// Sessions carry a TTL: they are the keys volatile-lru may evict under memory pressure, and an evicted
// session only means the user or agent signs in again.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { redisKeys } from './keys.ts';

export type SessionData = Record<string, unknown>;

export interface Session<T extends SessionData = SessionData> {
  id: string;
  data: T;
  createdAtMs: number;
}

export interface SessionStoreOptions {
  prefix?: string;
  /** How long a session lives without a `touch`. Default 30 minutes. */
  ttlMs?: number;
}

export interface SessionStore {
  create<T extends SessionData>(data: T, ttlMs?: number): Promise<Session<T>>;
  get<T extends SessionData = SessionData>(id: string): Promise<Session<T> | null>;
  /** Restarts the session's TTL. False when the session no longer exists. */
  touch(id: string, ttlMs?: number): Promise<boolean>;
  /** False when the session did not exist. */
  delete(id: string): Promise<boolean>;
}

function checkTtl(ttlMs: number): number {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new Error(`session ttlMs ${ttlMs} is invalid: use a positive whole number of milliseconds`);
  }
  return ttlMs;
}

export function createSessionStore(redis: Redis, options: SessionStoreOptions = {}): SessionStore {
  const keys = redisKeys(options.prefix);
  const defaultTtlMs = checkTtl(options.ttlMs ?? 30 * 60_000);

  return {
    async create(data, ttlMs = defaultTtlMs) {
      const session = { id: randomBytes(18).toString('base64url'), data, createdAtMs: Date.now() };
      const stored = JSON.stringify({ data: session.data, createdAtMs: session.createdAtMs });
      // NX: 144 random bits never collide in practice, but an overwrite would hand one user another's session.
      const ok = await redis.set(keys.session(session.id), stored, 'PX', checkTtl(ttlMs), 'NX');
      if (ok !== 'OK') throw new Error(`session id ${session.id} already exists: create the session again`);
      return session;
    },

    async get<T extends SessionData = SessionData>(id: string) {
      const stored = await redis.get(keys.session(id));
      if (stored === null) return null;
      const { data, createdAtMs } = JSON.parse(stored) as { data: T; createdAtMs: number };
      return { id, data, createdAtMs };
    },

    async touch(id, ttlMs = defaultTtlMs) {
      return (await redis.pexpire(keys.session(id), checkTtl(ttlMs))) === 1;
    },

    async delete(id) {
      return (await redis.del(keys.session(id))) === 1;
    },
  };
}
