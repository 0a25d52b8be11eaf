// The fleet-wide limit on the commands one agent type has in flight (PRISM_AGENT_LIMITS): a counting
// semaphore per agent type in Redis, whose waiting line is ordered by priority first, then by fair turns
// between fairness keys (users or plant lines), then by age. One Lua script per call, so every worker of the
// fleet sees one consistent line. Per agent type (one hash slot: the type is the keys' hash tag):
//   <prefix>:admission:{TYPE}:holders  sorted set  command id → its lease end (Redis server time, ms)
//   <prefix>:admission:{TYPE}:waiting  sorted set  command id → its place in line (see `score` below)
//   <prefix>:admission:{TYPE}:meta     hash        command id → JSON of a waiting command (key, lease, run, last seen)
//   <prefix>:admission:{TYPE}:turns    hash        V (virtual time), seq, v:<key> (a key's last turn), n:<key> (its waiting)
// No key has a TTL (volatile-lru would evict it); a lease ends by its own clock: a holder whose run died is
// dropped when its lease (the step's deadline and a margin) runs out, and a waiter that stopped asking (a
// terminated run) is skipped once it has been silent for `waiterTtlMs`.
//
// Fair turns are stride scheduling (as Temporal's own fairness): each key's next command takes the turn
// after both the key's previous command and the line's current turn (V, the turn last admitted), so a key
// that queued 20 commands holds turns 1..20 and one that arrives later takes V+1: it is next but one, not
// 21st. Within a priority, commands go in turn order; equal turns, in arrival order.
import type { Redis } from 'ioredis';
import type { AgentType, Priority } from '../../task/contract.ts';
import { priorityRanks } from '../../admission/policy.ts';
import { DEFAULT_PREFIX } from './keys.ts';
import { LUA_NOW_MS, luaScript } from './lua.ts';

/** The keys of one agent type's limiter. */
export function admissionKeys(agentType: AgentType, prefix: string = DEFAULT_PREFIX) {
  const base = `${prefix}:admission:{${agentType}}`;
  return {
    holders: `${base}:holders`,
    waiting: `${base}:waiting`,
    meta: `${base}:meta`,
    turns: `${base}:turns`,
  };
}

// Admits waiting commands while there is room: the first in line each time; one silent too long is dropped.
// Returns the runs of the commands admitted (to be woken).
const GRANT = `
local function grant(now, limit, waiterTtl)
  local woken = {}
  local V = tonumber(redis.call('HGET', KEYS[4], 'V')) or 0
  while redis.call('ZCARD', KEYS[1]) < limit do
    local first = redis.call('ZRANGE', KEYS[2], 0, 0)
    if #first == 0 then break end
    local holder = first[1]
    redis.call('ZREM', KEYS[2], holder)
    local raw = redis.call('HGET', KEYS[3], holder)
    redis.call('HDEL', KEYS[3], holder)
    if raw then
      local m = cjson.decode(raw)
      local left = redis.call('HINCRBY', KEYS[4], 'n:' .. m.f, -1)
      if left <= 0 then redis.call('HDEL', KEYS[4], 'n:' .. m.f, 'v:' .. m.f) end
      if now - m.s <= waiterTtl then
        redis.call('ZADD', KEYS[1], now + m.l, holder)
        if m.v > V then V = m.v end
        woken[#woken + 1] = m.w
      end
    end
  end
  if redis.call('ZCARD', KEYS[2]) == 0 then
    -- Nobody waits: turns start again from 0 (keeps the numbers small; no key is owed anything).
    redis.call('HDEL', KEYS[4], 'V')
  else
    redis.call('HSET', KEYS[4], 'V', V)
  end
  return woken
end
`;

// KEYS: holders, waiting, meta, turns. ARGV: holder, limit, rank, fairness key, lease ms, workflow id,
// waiter ttl ms. Returns { admitted 0|1, position in line (0-based, -1 when admitted), woken runs... }.
const acquireScript = luaScript(`${LUA_NOW_MS}
${GRANT}
local holder, limit, rank, key = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local lease, run, waiterTtl = tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], holder) then
  -- Admitted already (by an earlier call, or handed the slot when one freed): the lease runs from now.
  redis.call('ZADD', KEYS[1], now + lease, holder)
  return { 1, -1 }
end
local raw = redis.call('HGET', KEYS[3], holder)
if raw then
  local m = cjson.decode(raw)
  m.s = now
  m.l = lease
  redis.call('HSET', KEYS[3], holder, cjson.encode(m))
else
  local V = tonumber(redis.call('HGET', KEYS[4], 'V')) or 0
  local last = tonumber(redis.call('HGET', KEYS[4], 'v:' .. key)) or 0
  local turn = math.max(last, V) + 1
  redis.call('HSET', KEYS[4], 'v:' .. key, turn)
  redis.call('HINCRBY', KEYS[4], 'n:' .. key, 1)
  local seq = redis.call('HINCRBY', KEYS[4], 'seq', 1)
  redis.call('ZADD', KEYS[2], rank * 2e15 + turn * 1e4 + (seq % 10000), holder)
  redis.call('HSET', KEYS[3], holder, cjson.encode({ f = key, l = lease, w = run, s = now, v = turn }))
end
local woken = grant(now, limit, waiterTtl)
local result
if redis.call('ZSCORE', KEYS[1], holder) then
  result = { 1, -1 }
else
  result = { 0, redis.call('ZRANK', KEYS[2], holder) }
end
for _, w in ipairs(woken) do result[#result + 1] = w end
return result
`);

// KEYS: as above. ARGV: holder, limit, waiter ttl ms. Frees the holder's slot (or its place in line) and
// admits who is next. Returns the woken runs.
const releaseScript = luaScript(`${LUA_NOW_MS}
${GRANT}
local holder, limit, waiterTtl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREM', KEYS[1], holder)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local raw = redis.call('HGET', KEYS[3], holder)
if raw then
  local m = cjson.decode(raw)
  redis.call('ZREM', KEYS[2], holder)
  redis.call('HDEL', KEYS[3], holder)
  local left = redis.call('HINCRBY', KEYS[4], 'n:' .. m.f, -1)
  if left <= 0 then redis.call('HDEL', KEYS[4], 'n:' .. m.f, 'v:' .. m.f) end
end
return grant(now, limit, waiterTtl)
`);

export interface AdmissionRequest {
  agentType: AgentType;
  /** The command's id: one slot per command, however often its dispatch is retried. */
  holder: string;
  /** The type's limit (PRISM_AGENT_LIMITS). */
  limit: number;
  priority: Priority;
  fairnessKey: string;
  /** How long the slot is held at most once admitted (the step's deadline and a margin). */
  leaseMs: number;
  /** The run to wake when this command is admitted while it waits. */
  workflowId: string;
}

export type Admission =
  | { admitted: true; wake: string[] }
  | {
      admitted: false;
      /** Commands ahead of this one in line (0: next). */
      position: number;
      wake: string[];
    };

export interface AdmissionOptions {
  prefix?: string;
  /** A waiting command that has not asked again for this long is dropped when its turn comes. Default 2 min. */
  waiterTtlMs?: number;
}

export interface AdmissionStore {
  /** Admits the command if its type has room and nobody is ahead of it; else keeps its place in line. */
  acquire(request: AdmissionRequest): Promise<Admission>;
  /** Frees the command's slot, or its place in line, and admits who is next: returns the runs to wake. */
  release(request: Pick<AdmissionRequest, 'agentType' | 'holder' | 'limit'>): Promise<string[]>;
  /** Who holds a slot and who waits, in order (for operators and tests). */
  state(agentType: AgentType): Promise<{ holders: string[]; waiting: string[] }>;
}

export const defaultWaiterTtlMs = 120_000;

export function createAdmissionStore(redis: Redis, options: AdmissionOptions = {}): AdmissionStore {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const waiterTtlMs = options.waiterTtlMs ?? defaultWaiterTtlMs;
  const keysOf = (type: AgentType) => {
    const k = admissionKeys(type, prefix);
    return [k.holders, k.waiting, k.meta, k.turns];
  };
  return {
    async acquire(r) {
      const out = (await acquireScript(redis, keysOf(r.agentType), [
        r.holder,
        r.limit,
        priorityRanks[r.priority],
        r.fairnessKey,
        Math.max(1, Math.round(r.leaseMs)),
        r.workflowId,
        waiterTtlMs,
      ])) as (number | string)[];
      const wake = out.slice(2).map(String);
      return Number(out[0]) === 1
        ? { admitted: true, wake }
        : { admitted: false, position: Number(out[1]), wake };
    },
    async release(r) {
      const out = (await releaseScript(redis, keysOf(r.agentType), [
        r.holder,
        r.limit,
        waiterTtlMs,
      ])) as string[];
      return out.map(String);
    },
    async state(agentType) {
      const k = admissionKeys(agentType, prefix);
      const [holders, waiting] = await Promise.all([
        redis.zrange(k.holders, 0, -1),
        redis.zrange(k.waiting, 0, -1),
      ]);
      return { holders, waiting };
    },
  };
}
