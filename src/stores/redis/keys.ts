// Every Redis key the product uses is built here, so the conventions (and docs/redis.md) live in one place.
// A different prefix gives a separate keyspace: tests pass `prism:<testId>` and delete only their own keys.

export const DEFAULT_PREFIX = 'prism';

export type MetricResolution = 'sec' | 'min';

export interface RedisKeys {
  readonly prefix: string;
  /** Hash, no TTL: status, currentTask, updatedAt, heartbeatAt and extra fields of one agent. */
  agentState(agentId: string): string;
  /** Sorted set, no TTL: agent id scored by its last heartbeat (ms), to list live agents. */
  agentHeartbeats(): string;
  /** Hash, no TTL: a JSON value shared between agents and its version. */
  memory(namespace: string, key: string): string;
  /** Set, no TTL: the keys written in one memory namespace (so that a task's memory can be cleared). */
  memoryIndex(namespace: string): string;
  /** Hash, no TTL: owner token, fencing token and lease end of a distributed lock. */
  lock(name: string): string;
  /** String counter, no TTL: the last fencing token handed out for a lock; only ever grows. */
  lockFence(name: string): string;
  /** String counter, TTL: one time bucket of a real-time metric. */
  metric(name: string, resolution: MetricResolution, bucket: number): string;
  /** String, TTL: marks an event already counted in a metric (a retried activity counts it once). */
  metricEvent(name: string, eventId: string): string;
  /** Stream, no TTL: the alert queue. */
  alerts(): string;
  /** String, TTL: marks one change of an alert as queued, so a redelivered event queues it once. */
  alertQueued(fingerprint: string, changedAtMs: number): string;
  /** Stream, no TTL: entries of an alert stream that could not be parsed, with the reason. */
  deadAlerts(stream: string): string;
  /**
   * The namespace of the API's rate-limit counters (string, TTL: the window): @fastify/rate-limit appends
   * the subject, `key:<api key id>`, `ip:<client address>` or `readyz:<client address>`.
   */
  rateLimitNamespace(): string;
}

// ':' separates the parts of a key; letting it into a part would make two different ids share a key
// (memory `a:b` + `c` versus `a` + `b:c`).
function part(kind: string, value: string): string {
  if (value.length === 0 || /[:\s]/.test(value)) {
    throw new Error(
      `${kind} ${JSON.stringify(value)} cannot be part of a Redis key: use a non-empty value without ':' or whitespace`,
    );
  }
  return value;
}

/** The key builders for one keyspace. `prefix` may itself contain ':' (for example `prism:test_x`). */
export function redisKeys(prefix: string = DEFAULT_PREFIX): RedisKeys {
  if (prefix.length === 0 || /\s/.test(prefix) || prefix.endsWith(':')) {
    throw new Error(
      `Redis key prefix ${JSON.stringify(prefix)} is invalid: use a non-empty prefix without whitespace or a trailing ':'`,
    );
  }
  return {
    prefix,
    agentState: (agentId) => `${prefix}:agent:${part('agent id', agentId)}:state`,
    agentHeartbeats: () => `${prefix}:agents:heartbeats`,
    memory: (namespace, key) =>
      `${prefix}:memory:${part('memory namespace', namespace)}:${part('memory key', key)}`,
    memoryIndex: (namespace) => `${prefix}:memory-index:${part('memory namespace', namespace)}`,
    lock: (name) => `${prefix}:lock:${part('lock name', name)}`,
    lockFence: (name) => `${prefix}:lock:${part('lock name', name)}:fence`,
    metric: (name, resolution, bucket) => {
      if (!Number.isSafeInteger(bucket) || bucket < 0) {
        throw new Error(`metric bucket ${bucket} is invalid: use a non-negative integer`);
      }
      return `${prefix}:metrics:${part('metric name', name)}:${resolution}:${bucket}`;
    },
    metricEvent: (name, eventId) =>
      `${prefix}:metrics:${part('metric name', name)}:counted:${part('event id', eventId)}`,
    alerts: () => `${prefix}:alerts`,
    alertQueued: (fingerprint, changedAtMs) =>
      `${prefix}:alerts:queued:${part('alert fingerprint', fingerprint)}:${changedAtMs}`,
    deadAlerts: (stream) => `${stream}:dead`,
    rateLimitNamespace: () => `${prefix}:ratelimit:`,
  };
}

/** The product's keyspace, `prism:…`. */
export const keys: RedisKeys = redisKeys();
