// What one client may send the API: bodies, headers and path parameters of a bounded size, and a bounded
// number of requests per window — per API key, or per client address for requests without a valid key.
// The counts live in Redis (@fastify/rate-limit's Redis store), so every API process shares them.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Env } from '../config.ts';
import { keys } from '../stores/redis/keys.ts';
import { PrismError } from '../errors.ts';

/** The sizes the server accepts; larger gets 413 (body), 431 (headers) or 400 (a path parameter). */
export const httpLimits = {
  /** A knowledge document may hold 200 000 characters, which JSON may escape to 6 bytes each. */
  bodyBytes: 4 * 1024 * 1024,
  /** All request headers together (Node's default, stated here so that it is a decision). */
  headerBytes: 16 * 1024,
  /** A path parameter as sent, percent-encoded: the longest id (255 characters) is 255 × 12 bytes at most. */
  paramChars: 4096,
  /** How long a client may take to send its whole request. */
  requestTimeoutMs: 30_000,
} as const;

/**
 * Which count a route's requests go to: the caller's (default), none (`exempt`: liveness and metrics, which
 * orchestrators and Prometheus poll on a schedule and answer from memory — a 429 there would read as the
 * process being down), or a count of its own per client address (`readiness`: /readyz asks every store, so
 * a flood of it must not reach them, but a probe must not share a budget with the client's API calls).
 */
export type RateLimitGroup = 'exempt' | 'readiness';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Absent: the route counts against the caller's limit. */
    rateLimitGroup?: RateLimitGroup;
  }
}

export interface RateLimitSettings {
  redis: Redis;
  /** Requests per window for one API key, or one client address without a valid key. */
  max: number;
  windowMs: number;
  /** Where the counters live in Redis. Default `prism:ratelimit:` (tests pass their own). */
  namespace?: string;
  /** How long to wait for Redis before letting a request through uncounted. Default 1000. */
  redisTimeoutMs?: number;
}

/** `30s`, `1m`, `1h` (API_RATE_LIMIT_WINDOW) in milliseconds. */
export function windowMs(window: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(window);
  if (!m) throw new Error(`not a duration such as 30s, 1m or 1h: ${window}`);
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
}

export function rateLimitSettings(env: Env, redis: Redis): RateLimitSettings {
  return { redis, max: env.API_RATE_LIMIT_MAX, windowMs: windowMs(env.API_RATE_LIMIT_WINDOW) };
}

/** The count a request goes to: its API key's id once authenticated, else its client address. */
export function rateLimitSubject(request: FastifyRequest): string {
  if (request.routeOptions.config.rateLimitGroup === 'readiness') return `readyz:${request.ip}`;
  return request.principal ? `key:${request.principal.keyId}` : `ip:${request.ip}`;
}

const describeWindow = (ms: number) =>
  ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`;

/**
 * Registers the Redis store and returns the check the auth hook runs once it knows the caller (so that a
 * valid key counts against itself, and anything else against the client's address). The check sets the
 * `x-ratelimit-*` headers and throws a 429 with Retry-After when the count is over the limit. While Redis
 * does not answer, requests pass uncounted (logged): the limit protects the API, it must not stop it.
 */
export function registerRateLimit(
  app: FastifyInstance,
  settings: RateLimitSettings,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  void app.register(rateLimit, {
    global: false,
    redis: settings.redis,
    nameSpace: settings.namespace ?? keys.rateLimitNamespace(),
    max: settings.max,
    timeWindow: settings.windowMs,
    keyGenerator: rateLimitSubject,
  });
  const timeoutMs = settings.redisTimeoutMs ?? 1_000;
  let limiter: ReturnType<FastifyInstance['createRateLimit']> | undefined;

  return async (request, reply) => {
    if (request.routeOptions.config.rateLimitGroup === 'exempt') return;
    // The plugin's decorator exists once the server is ready, before any request arrives.
    limiter ??= app.createRateLimit();
    let timer: NodeJS.Timeout | undefined;
    let result: Awaited<ReturnType<typeof limiter>>;
    try {
      result = await Promise.race([
        limiter(request),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (err) {
      request.log.warn({ err }, 'rate limit not applied: its Redis store failed');
      return;
    } finally {
      clearTimeout(timer);
    }
    if (result.isAllowed) return;
    void reply.header('x-ratelimit-limit', result.max);
    void reply.header('x-ratelimit-remaining', result.remaining);
    void reply.header('x-ratelimit-reset', result.ttlInSeconds);
    if (!result.isExceeded) return;
    void reply.header('retry-after', result.ttlInSeconds);
    const whose = request.principal ? 'this API key' : 'requests without a valid API key from your address';
    throw new PrismError(
      'RATE_LIMITED',
      `rate limit exceeded: at most ${result.max} requests per ${describeWindow(settings.windowMs)} for ${whose}; ` +
        `retry after ${result.ttlInSeconds} s (Retry-After)`,
    );
  };
}
