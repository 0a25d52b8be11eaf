// The Redis part of the data layer. Each store takes an injected ioredis client and an optional key prefix.
export { DEFAULT_PREFIX, keys, redisKeys, type MetricResolution, type RedisKeys } from './keys.ts';
export * from './sessions.ts';
export * from './agent-state.ts';
export * from './shared-memory.ts';
export * from './locks.ts';
export * from './metrics.ts';
export * from './alert-schema.ts';
export * from './alert-queue.ts';
