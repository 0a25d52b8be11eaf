// Agent state has no TTL, so volatile-lru never evicts it; liveness is therefore a heartbeat timestamp
// compared with Redis server time (`now - heartbeatAt < threshold`), not a key that expires.
import type { Redis } from 'ioredis';
import { execAll } from './exec.ts';
import { redisKeys } from './keys.ts';
import { LUA_NOW_MS, luaScript } from './lua.ts';

export interface AgentState {
  agentId: string;
  status: string;
  currentTask: string | null;
  updatedAtMs: number;
  heartbeatAtMs: number;
  /** Whether the last heartbeat is younger than the store's liveness threshold. */
  alive: boolean;
  fields: Record<string, string>;
}

export interface AgentStateUpdate {
  status: string;
  /** The task the agent is working on; absent or null clears it. */
  currentTask?: string | null;
  /** Extra fields to set; a null value removes the field; fields not named stay as they are. */
  fields?: Record<string, string | null>;
}

export interface AgentStateStoreOptions {
  prefix?: string;
  /** An agent whose last heartbeat is this old or older counts as dead. Default 30 s. */
  livenessThresholdMs?: number;
}

export interface AgentStateStore {
  /** Writes the state and counts as a heartbeat. Returns the server time (ms) it was written at. */
  setState(agentId: string, update: AgentStateUpdate): Promise<number>;
  /** Records that the agent is alive. Returns the server time (ms) of the heartbeat. */
  heartbeat(agentId: string): Promise<number>;
  get(agentId: string): Promise<AgentState | null>;
  /** Agents whose last heartbeat is younger than the liveness threshold. */
  listLive(): Promise<AgentState[]>;
  /** False when the agent was not known. */
  remove(agentId: string): Promise<boolean>;
}

const RESERVED_FIELDS = new Set(['status', 'currentTask', 'updatedAt', 'heartbeatAt']);

// KEYS: state hash, heartbeat index. ARGV: agentId, status, currentTask ('' clears it), number of fields
// to set, then name/value pairs, then names of fields to delete.
const setStateScript = luaScript(`${LUA_NOW_MS}
local set = {'status', ARGV[2], 'updatedAt', now, 'heartbeatAt', now}
if ARGV[3] ~= '' then
  table.insert(set, 'currentTask'); table.insert(set, ARGV[3])
else
  redis.call('HDEL', KEYS[1], 'currentTask')
end
local n = tonumber(ARGV[4])
for i = 0, n - 1 do
  table.insert(set, ARGV[5 + 2 * i]); table.insert(set, ARGV[6 + 2 * i])
end
redis.call('HSET', KEYS[1], unpack(set))
for i = 5 + 2 * n, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
redis.call('ZADD', KEYS[2], now, ARGV[1])
return now`);

const heartbeatScript = luaScript(`if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
${LUA_NOW_MS}
redis.call('HSET', KEYS[1], 'heartbeatAt', now)
redis.call('ZADD', KEYS[2], now, ARGV[1])
return now`);

const liveIdsScript = luaScript(`${LUA_NOW_MS}
return {now, redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf')}`);

function toState(
  agentId: string,
  hash: Record<string, string>,
  nowMs: number,
  thresholdMs: number,
): AgentState | null {
  const { status, currentTask, updatedAt, heartbeatAt, ...fields } = hash;
  if (status === undefined) return null;
  const heartbeatAtMs = Number(heartbeatAt);
  return {
    agentId,
    status,
    currentTask: currentTask ?? null,
    updatedAtMs: Number(updatedAt),
    heartbeatAtMs,
    alive: nowMs - heartbeatAtMs < thresholdMs,
    fields,
  };
}

function checkUpdate(agentId: string, update: AgentStateUpdate): void {
  if (update.status.length === 0) throw new Error(`agent ${agentId}: status must not be empty`);
  if (update.currentTask === '') {
    throw new Error(`agent ${agentId}: currentTask must not be empty; pass null to clear it`);
  }
  for (const name of Object.keys(update.fields ?? {})) {
    if (name.length === 0 || RESERVED_FIELDS.has(name)) {
      throw new Error(
        `agent ${agentId}: field name ${JSON.stringify(name)} is empty or reserved; ` +
          `set ${[...RESERVED_FIELDS].join(', ')} through their own properties`,
      );
    }
  }
}

export function createAgentStateStore(redis: Redis, options: AgentStateStoreOptions = {}): AgentStateStore {
  const keys = redisKeys(options.prefix);
  const thresholdMs = options.livenessThresholdMs ?? 30_000;
  if (!Number.isSafeInteger(thresholdMs) || thresholdMs <= 0) {
    throw new Error(`livenessThresholdMs ${thresholdMs} is invalid: use a positive whole number of ms`);
  }

  return {
    async setState(agentId, update) {
      checkUpdate(agentId, update);
      const entries = Object.entries(update.fields ?? {});
      const toSet = entries.filter((e): e is [string, string] => e[1] !== null);
      const toDelete = entries.filter(([, value]) => value === null).map(([name]) => name);
      const args = [
        agentId,
        update.status,
        update.currentTask ?? '',
        toSet.length,
        ...toSet.flat(),
        ...toDelete,
      ];
      return Number(await setStateScript(redis, [keys.agentState(agentId), keys.agentHeartbeats()], args));
    },

    async heartbeat(agentId) {
      const now = Number(
        await heartbeatScript(redis, [keys.agentState(agentId), keys.agentHeartbeats()], [agentId]),
      );
      if (now < 0) throw new Error(`agent ${agentId} is not registered: call setState before heartbeat`);
      return now;
    },

    async get(agentId) {
      const [hash, time] = (await execAll(redis.multi().hgetall(keys.agentState(agentId)).time())) as [
        Record<string, string>,
        string[],
      ];
      const nowMs = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
      return toState(agentId, hash, nowMs, thresholdMs);
    },

    async listLive() {
      const [now, ids] = (await liveIdsScript(redis, [keys.agentHeartbeats()], [thresholdMs])) as [
        number,
        string[],
      ];
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hgetall(keys.agentState(id));
      const hashes = (await execAll(pipeline)) as Record<string, string>[];
      return ids.flatMap((id, i) => {
        const state = toState(id, hashes[i] ?? {}, now, thresholdMs);
        return state ? [state] : [];
      });
    },

    async remove(agentId) {
      const [deleted] = await execAll(
        redis.multi().del(keys.agentState(agentId)).zrem(keys.agentHeartbeats(), agentId),
      );
      return deleted === 1;
    },
  };
}
