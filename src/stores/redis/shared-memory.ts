// Memory shared between agents: JSON values with a version, changed only by compare-and-set, so two agents
// writing the same key can never silently overwrite each other. No TTL: volatile-lru never evicts it.
import { PrismError } from '../../errors.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { redisKeys } from './keys.ts';
import { luaScript } from './lua.ts';

export interface Versioned<T> {
  value: T;
  /** 1 after the first write, +1 on every write; a key that does not exist has version 0. */
  version: number;
}

export type CasResult = { ok: true; version: number } | { ok: false; currentVersion: number };

export interface SharedMemoryOptions {
  prefix?: string;
  /** Separates the memories of different agent groups or workflows. */
  namespace: string;
  /** How many compare-and-set attempts `update` makes before giving up. Default 50. */
  maxAttempts?: number;
}

export interface SharedMemory {
  read<T>(key: string): Promise<Versioned<T> | null>;
  /** Writes `newValue` only if the key is still at `expectedVersion` (0: only if it does not exist). */
  compareAndSet<T>(key: string, expectedVersion: number, newValue: T): Promise<CasResult>;
  /**
   * Reads, applies `fn` and writes with compare-and-set, retrying on conflict. `fn` may run several
   * times, so it must not have side effects; it gets `undefined` when the key does not exist.
   */
  update<T>(key: string, fn: (current: T | undefined) => T | Promise<T>): Promise<Versioned<T>>;
  /** Deletes the key (its version restarts at 0). False when it did not exist. */
  delete(key: string): Promise<boolean>;
  /** The keys written in this namespace (and not deleted since). */
  keys(): Promise<string[]>;
  /** Deletes every key of this namespace, e.g. a task's memory once the task has ended. Returns how many. */
  clear(): Promise<number>;
}

export class MemoryConflictError extends PrismError {
  constructor(
    readonly key: string,
    readonly attempts: number,
  ) {
    super(
      'MEMORY_CONFLICT',
      `shared memory ${key}: gave up after ${attempts} conflicting writes by other agents; ` +
        'retry later, raise maxAttempts, or split the value so fewer writers share one key',
    );
    this.name = 'MemoryConflictError';
  }
}

// KEYS: memory hash, namespace index. ARGV: expected version, new JSON value, key.
// Returns {1, new version} or {0, current}.
const compareAndSetScript = luaScript(`local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if current ~= tonumber(ARGV[1]) then return {0, current} end
redis.call('HSET', KEYS[1], 'value', ARGV[2], 'version', current + 1)
redis.call('SADD', KEYS[2], ARGV[3])
return {1, current + 1}`);

function toJson(key: string, value: unknown): string {
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined)
    throw new Error(`shared memory ${key}: the value is not JSON; store null, not undefined`);
  return json;
}

export function createSharedMemory(redis: Redis, options: SharedMemoryOptions): SharedMemory {
  const keys = redisKeys(options.prefix);
  const maxAttempts = options.maxAttempts ?? 50;
  const keyOf = (key: string) => keys.memory(options.namespace, key);
  const index = keys.memoryIndex(options.namespace);
  keyOf('check'); // a bad namespace fails here, where it was given, not at the first read

  const memory: SharedMemory = {
    async read<T>(key: string) {
      const [value, version] = await redis.hmget(keyOf(key), 'value', 'version');
      if (value === null || value === undefined) return null;
      return { value: JSON.parse(value) as T, version: Number(version) };
    },

    async compareAndSet(key, expectedVersion, newValue) {
      if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
        throw new Error(
          `shared memory ${key}: expectedVersion ${expectedVersion} must be a whole number >= 0`,
        );
      }
      const [ok, version] = (await compareAndSetScript(
        redis,
        [keyOf(key), index],
        [expectedVersion, toJson(key, newValue), key],
      )) as [number, number];
      return ok === 1 ? { ok: true, version } : { ok: false, currentVersion: version };
    },

    async update<T>(key: string, fn: (current: T | undefined) => T | Promise<T>) {
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const current = await memory.read<T>(key);
        const value = await fn(current?.value);
        const result = await memory.compareAndSet(key, current?.version ?? 0, value);
        if (result.ok) return { value, version: result.version };
        // Random, growing backoff so the writers that collided do not collide again in lock step.
        await sleep(Math.random() * Math.min(50, 2 ** attempt));
      }
      throw new MemoryConflictError(keyOf(key), maxAttempts);
    },

    async delete(key) {
      const [[, deleted]] = (await redis.multi().del(keyOf(key)).srem(index, key).exec()) as [
        [Error | null, number],
      ];
      return deleted === 1;
    },

    keys: () => redis.smembers(index),

    async clear() {
      const written = await redis.smembers(index);
      if (written.length === 0) return 0;
      const [[, deleted]] = (await redis
        .multi()
        .del(...written.map(keyOf))
        .del(index)
        .exec()) as [[Error | null, number]];
      return deleted;
    },
  };
  return memory;
}
