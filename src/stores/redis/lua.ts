// Scripts run by SHA so the source crosses the network once per server, not on every call.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export type LuaScript = (redis: Redis, keys: string[], args: (string | number)[]) => Promise<unknown>;

/** A Lua script that declares every key it touches in KEYS (so it stays valid on Redis Cluster). */
export function luaScript(source: string): LuaScript {
  const sha = createHash('sha1').update(source).digest('hex');
  return async (redis, keys, args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      // A restarted or flushed server forgot the script: EVAL loads it again for the next EVALSHA.
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return redis.eval(source, keys.length, ...keys, ...args);
      }
      throw error;
    }
  };
}

/** Redis server time in ms, as Lua computes it; one clock for every client, whatever their skew. */
export const LUA_NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
