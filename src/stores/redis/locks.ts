// Distributed locks that survive volatile-lru: the lock key carries no Redis TTL (a key with a TTL may be
// evicted, which would free a held lock). The lease end is a field compared with Redis server time in Lua,
// so an expired lock stays in Redis until a new owner takes it over with a higher fencing token.
import { PrismError } from '../../errors.ts';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { redisKeys } from './keys.ts';
import { LUA_NOW_MS, luaScript } from './lua.ts';

export interface Lock {
  name: string;
  /** Identifies this acquisition; only it can renew or release the lock. */
  token: string;
  /**
   * Grows with every acquisition of this lock name. Pass it with each write the lock protects, and let
   * the store refuse a write whose fence is lower than one it has seen: a paused owner whose lease ran
   * out then cannot overwrite the work of the next owner.
   */
  fence: number;
  /** Lease end in Redis server time (ms). */
  expiresAtMs: number;
}

/** `expired`: the lease ran out (nobody took over yet). `not-owner`: another owner holds it, or nobody. */
export type LockLossReason = 'expired' | 'not-owner';
export type RenewResult = { renewed: true; expiresAtMs: number } | { renewed: false; reason: LockLossReason };
export type ReleaseResult = { released: true } | { released: false; reason: LockLossReason };

export interface AcquireOptions {
  /** How long to keep trying while another owner holds the lock. Default 0: try once. */
  waitMs?: number;
  /** Pause between tries. Default 50 ms. */
  retryDelayMs?: number;
}

export interface LockManager {
  /** The lock, or null when another owner holds an unexpired lease (after waiting `waitMs`). */
  acquire(name: string, ttlMs: number, options?: AcquireOptions): Promise<Lock | null>;
  /** Extends the lease to `ttlMs` from now; only the owner, only while the lease is unexpired. */
  renew(lock: Lock, ttlMs: number): Promise<RenewResult>;
  /** Frees the lock; only the owner. An expired lease is freed too but reported as `expired`. */
  release(lock: Lock): Promise<ReleaseResult>;
  /**
   * Runs `fn` holding the lock, renewing the lease while `fn` runs, and releases it afterwards. Throws
   * LockBusyError when the lock cannot be had, and LockLostError when the lease ended before `fn` finished
   * (the owner was paused or cut off from Redis longer than the lease: its work was not exclusive).
   */
  withLock<T>(
    name: string,
    ttlMs: number,
    fn: (lock: Lock) => Promise<T>,
    options?: AcquireOptions,
  ): Promise<T>;
}

export class LockBusyError extends PrismError {
  constructor(readonly lockName: string) {
    super('LOCK_BUSY', `lock ${lockName} is held by another owner: retry later, or pass a longer waitMs`);
    this.name = 'LockBusyError';
  }
}

export class LockLostError extends PrismError {
  constructor(
    readonly lock: Lock,
    readonly reason: LockLossReason,
  ) {
    super(
      'LOCK_LOST',
      `lock ${lock.name} (fence ${lock.fence}) ${reason === 'expired' ? 'expired' : 'was taken over by another owner'} ` +
        'before the work under it finished, so that work was not exclusive: raise ttlMs or renew the lock ' +
        'while working, and reject writes that carry a stale fencing token',
    );
    this.name = 'LockLostError';
  }
}

// KEYS: lock hash, fence counter. ARGV: token, ttlMs. Returns {1, fence, expiresAtMs} or {0, expiresAtMs}.
const acquireScript = luaScript(`${LUA_NOW_MS}
if redis.call('HEXISTS', KEYS[1], 'owner') == 1 then
  local expires = tonumber(redis.call('HGET', KEYS[1], 'expiresAtMs'))
  if expires > now then return {0, expires} end
end
local fence = redis.call('INCR', KEYS[2])
local expires = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'fence', fence, 'expiresAtMs', expires)
return {1, fence, expires}`);

// KEYS: lock hash. ARGV: token, ttlMs. Returns {1, expiresAtMs} or {0, reason}.
const renewScript = luaScript(`${LUA_NOW_MS}
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return {0, 'not-owner'} end
if tonumber(redis.call('HGET', KEYS[1], 'expiresAtMs')) <= now then return {0, 'expired'} end
local expires = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'expiresAtMs', expires)
return {1, expires}`);

// KEYS: lock hash. ARGV: token. Returns {1} or {0, reason}.
const releaseScript = luaScript(`${LUA_NOW_MS}
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return {0, 'not-owner'} end
local expires = tonumber(redis.call('HGET', KEYS[1], 'expiresAtMs'))
redis.call('DEL', KEYS[1])
if expires <= now then return {0, 'expired'} end
return {1}`);

function checkTtl(name: string, ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new Error(`lock ${name}: ttlMs ${ttlMs} is invalid; use a positive whole number of milliseconds`);
  }
}

export class LockNotReplicatedError extends PrismError {
  constructor(readonly lockName: string) {
    super(
      'LOCK_NOT_REPLICATED',
      `lock ${lockName} was granted by the Redis primary but no replica confirmed it within ` +
        `${lockReplicationTimeoutMs} ms, so a failover could hand it out again; it was released: retry ` +
        '(the replicas are catching up or away: `prism stack status` shows each node)',
    );
    this.name = 'LockNotReplicatedError';
  }
}

// How long a grant waits for a replica's acknowledgement (WAIT). On one machine's loopback it takes well
// under a millisecond; a replica that needs longer is lagging, and the grant is not worth its risk.
const lockReplicationTimeoutMs = 1_000;

/**
 * `replicated`: wait until a replica has each grant before returning it (default: when the client reaches
 * Redis through Sentinel, i.e. when there are replicas to wait for). Asynchronous replication would
 * otherwise let a failover roll the fence counter back, and the next owner get the same fence as one that
 * is still working (docs/scaling.md#redis-a-primary-two-replicas-and-three-sentinels).
 */
export function createLockManager(
  redis: Redis,
  options: { prefix?: string; replicated?: boolean } = {},
): LockManager {
  const keys = redisKeys(options.prefix);
  const replicated = options.replicated ?? (redis.options.sentinels?.length ?? 0) > 0;

  const tryAcquire = async (name: string, ttlMs: number): Promise<Lock | null> => {
    const token = randomUUID();
    const reply = (await acquireScript(
      redis,
      [keys.lock(name), keys.lockFence(name)],
      [token, ttlMs],
    )) as number[];
    if (reply[0] !== 1) return null;
    const lock = { name, token, fence: Number(reply[1]), expiresAtMs: Number(reply[2]) };
    // WAIT covers every write of this connection so far: the fence's INCR and the lock hash with it.
    if (replicated && (await redis.wait(1, lockReplicationTimeoutMs)) < 1) {
      await releaseScript(redis, [keys.lock(name)], [token]).catch(() => undefined);
      throw new LockNotReplicatedError(name);
    }
    return lock;
  };

  const manager: LockManager = {
    async acquire(name, ttlMs, { waitMs = 0, retryDelayMs = 50 } = {}) {
      checkTtl(name, ttlMs);
      const deadline = Date.now() + waitMs;
      for (;;) {
        const lock = await tryAcquire(name, ttlMs);
        if (lock || Date.now() >= deadline) return lock;
        // Jitter keeps waiters that started together from retrying together.
        await sleep(Math.min(retryDelayMs * (0.5 + Math.random()), Math.max(0, deadline - Date.now())));
      }
    },

    async renew(lock, ttlMs) {
      checkTtl(lock.name, ttlMs);
      const [ok, value] = (await renewScript(redis, [keys.lock(lock.name)], [lock.token, ttlMs])) as [
        number,
        number | LockLossReason,
      ];
      return ok === 1
        ? { renewed: true, expiresAtMs: Number(value) }
        : { renewed: false, reason: value as LockLossReason };
    },

    async release(lock) {
      const [ok, reason] = (await releaseScript(redis, [keys.lock(lock.name)], [lock.token])) as [
        number,
        LockLossReason?,
      ];
      return ok === 1 ? { released: true } : { released: false, reason: reason ?? 'not-owner' };
    },

    async withLock(name, ttlMs, fn, acquireOptions) {
      const lock = await manager.acquire(name, ttlMs, acquireOptions);
      if (!lock) throw new LockBusyError(name);
      // A live owner keeps its lease while it works (a store it waits on may be slow): renewed every third
      // of the lease. An owner that is paused or cut off from Redis renews nothing, its lease ends, and the
      // next owner takes over with a higher fence, as before; a renewal that finds the lease lost stops.
      let keeping = true;
      const keeper = setInterval(
        () => {
          if (!keeping) return;
          manager.renew(lock, ttlMs).then(
            (r) => {
              if (!r.renewed) keeping = false;
            },
            () => undefined, // Redis unreachable: the lease runs out unless a later renewal gets through
          );
        },
        Math.max(10, Math.floor(ttlMs / 3)),
      );
      let result;
      try {
        result = await fn(lock);
      } catch (error) {
        clearInterval(keeper);
        // fn's error is the one to report; if this release fails too, the lease still ends on its own.
        await manager.release(lock).catch(() => undefined);
        throw error;
      }
      clearInterval(keeper);
      const released = await manager.release(lock);
      if (!released.released) throw new LockLostError(lock, released.reason);
      return result;
    },
  };
  return manager;
}
