// Riding out a store that is briefly away (restarted, failing over, frozen): which errors mean "the service
// could not be reached, try again" rather than "this request is wrong", and retrying those with backoff
// within a deadline. A final failure names the component and where it was looked for, so that a task that
// has to fail says which service was down instead of blaming whoever was waiting for it.
import { PrismError } from './errors.ts';
import { setTimeout as sleep } from 'node:timers/promises';

// Network errors of Node (net, dns, undici's fetch) that say nothing about the request itself.
const transientCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ESOCKETTIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  // Prisma: can't reach the server, timed out reaching it, operations timed out, the server closed the
  // connection, no connection free in the pool in time.
  'P1001',
  'P1002',
  'P1008',
  'P1017',
  'P2024',
  // PostgreSQL (SQLSTATE): connection exceptions, too many connections, and a server shutting down,
  // crashing or still starting.
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300',
  '57P01',
  '57P02',
  '57P03',
  // read_only_sql_transaction: a write that reached a primary just demoted, or a standby, while a cluster
  // fails over (Patroni); the next connection finds the new primary.
  '25006',
]);

// Prisma's driver adapter says why a query failed as a kind (DatabaseNotReachable, ...).
const transientAdapterKinds = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);

// gRPC status codes (Temporal, Weaviate's gRPC API): UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED.
const transientGrpcCodes = new Set([14, 4, 8]);

// Errors of the client libraries that are about reaching the service, named or worded as they throw them.
const transientNames = new Set([
  'MaxRetriesPerRequestError', // ioredis: no connection within its retries
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'WeaviateStartUpError',
  'WeaviateRequestTimeoutError',
  'RequestTimedOutError', // @influxdata/influxdb-client
  'TransportError', // @temporalio/client: the connection failed
  // A lock the Redis primary granted that no replica confirmed (replicas catching up after a failover).
  'LockNotReplicatedError',
]);
// (Weaviate's "tried to browse non-existing index": a shard it has not loaded yet, just after a restart.)
const transientMessage =
  /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|socket hang up|fetch failed|Connection is closed|Connection terminated|connection (?:was )?(?:closed|reset|refused)|Can't reach database server|Server has closed the connection|the database system is (?:starting up|shutting down|in recovery mode)|terminating connection due to administrator command|Stream isn't writeable|UNAVAILABLE|No connection established|Failed to connect before the deadline|LOADING Redis is loading|tried to browse non-existing index)\b/i;

// A server whose certificate the client refuses (a CA it does not know, another name, out of date): no retry
// cures that, and the reason must reach the user. Node's codes, and the words of clients that keep only the
// message (grpc-js: "No connection established. Last error: Error: self-signed certificate ...").
const certificateCodes = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const certificateMessage =
  /self[- ]signed certificate|unable to verify the first certificate|unable to get (?:local )?issuer certificate|certificate has expired|certificate is not yet valid|Hostname\/IP does not match certificate's altnames/i;

/** Why the server's certificate was refused, in its own words; undefined when that is not the problem. */
export function certificateProblem(err: unknown): string | undefined {
  for (const e of errorCauses(err)) {
    if (typeof e !== 'object') continue;
    const { code, message } = e as { code?: unknown; message?: unknown };
    const text = typeof message === 'string' ? message : '';
    if (typeof code === 'string' && certificateCodes.has(code)) return text ? `${code}: ${text}` : code;
    const said = certificateMessage.exec(text);
    if (said)
      return text
        .slice(said.index)
        .split(/\n|\. /)[0]!
        .replace(/\.$/, '')
        .trim();
  }
  return undefined;
}

function errorCauses(err: unknown): unknown[] {
  const seen = new Set<unknown>();
  const queue = [err];
  const out: unknown[] = [];
  while (queue.length > 0 && out.length < 20) {
    const e = queue.shift();
    if (e === null || e === undefined || seen.has(e)) continue;
    seen.add(e);
    out.push(e);
    if (typeof e !== 'object') continue;
    const o = e as {
      cause?: unknown;
      errors?: unknown[];
      originalError?: unknown;
      meta?: { driverAdapterError?: unknown };
    };
    queue.push(o.cause, o.originalError, o.meta?.driverAdapterError, ...(o.errors ?? []));
  }
  return out;
}

/**
 * Why `err` is a failure to reach a service (a refused or dropped connection, a timeout, a server that is
 * starting or unavailable), in a few words; undefined when it is anything else (a bad request, a missing
 * row, a bug), which no retry would cure.
 */
export function transientReason(err: unknown): string | undefined {
  for (const e of errorCauses(err)) {
    if (typeof e !== 'object') continue;
    const o = e as {
      name?: unknown;
      code?: unknown;
      kind?: unknown;
      message?: unknown;
      retriable?: unknown;
      statusCode?: unknown;
    };
    const message = typeof o.message === 'string' ? o.message : '';
    const say = (fallback: string) => (message || fallback).split('\n').filter(Boolean).at(-1)!.trim();
    if (typeof o.code === 'string' && transientCodes.has(o.code)) return say(o.code);
    if (typeof o.code === 'number' && transientGrpcCodes.has(o.code) && 'details' in o)
      return say(`gRPC status ${o.code}`);
    if (typeof o.kind === 'string' && transientAdapterKinds.has(o.kind)) return say(o.kind);
    if (typeof o.name === 'string' && transientNames.has(o.name)) return say(o.name);
    if (typeof o.name === 'string' && o.name.startsWith('KafkaJS') && o.retriable === true)
      return say(o.name);
    // An HTTP answer of a server that is overloaded or behind a proxy whose backend is away.
    if (typeof o.statusCode === 'number' && [502, 503, 504].includes(o.statusCode))
      return say(`HTTP ${o.statusCode}`);
    if (transientMessage.test(message)) return say('unreachable');
  }
  return undefined;
}

/** A service could not be reached within the time there was: names it, where, and the last error. */
export class ServiceUnavailableError extends PrismError {
  constructor(
    /** The component, as people name it: "InfluxDB", "PostgreSQL", "Redis", "Weaviate", "Kafka", "Temporal". */
    readonly component: string,
    /** Where it was looked for (a URL, host:port). */
    readonly target: string,
    readonly reason: string,
    readonly waitedMs: number,
    options?: { cause?: unknown },
  ) {
    super(
      'SERVICE_UNAVAILABLE',
      `${component} unreachable at ${target}: ${reason}` +
        (waitedMs >= 1000 ? ` (still after ${Math.round(waitedMs / 1000)} s of retries)` : ''),
      { cause: options?.cause },
    );
    this.name = 'ServiceUnavailableError';
  }
}

export interface RetryPolicy {
  /** Names the component in the final error. */
  component: string;
  target: string;
  /** Stop retrying at this time (epoch ms): the caller's own deadline. */
  deadlineMs?: number;
  /** Or after this long from the first attempt. Default 60 s when no deadline is given. */
  maxWaitMs?: number;
  /** First pause, doubled after each failure up to maxDelayMs. Defaults 200 and 2000. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Told of each transient failure before the pause. */
  onRetry?: (info: { attempt: number; reason: string; delayMs: number }) => void;
  /** Stops waiting when aborted (the last error is thrown). */
  signal?: AbortSignal;
}

/** The pause before retry number `attempt` (1 for the first retry): doubling, capped, with ±20% jitter. */
export function backoffDelayMs(attempt: number, initialDelayMs = 200, maxDelayMs = 2_000): number {
  const base = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/**
 * Runs `work`, and again after a pause each time it fails with a transient error (transientReason), until
 * it succeeds or the deadline comes; then throws ServiceUnavailableError naming the component. Any other
 * error is thrown at once.
 */
export async function retryTransient<T>(
  work: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
): Promise<T> {
  const started = Date.now();
  const deadline = policy.deadlineMs ?? started + (policy.maxWaitMs ?? 60_000);
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (err) {
      // A refused certificate is the same on every attempt: said at once. (A Kafka consumer still holds its
      // message on it, as on any unreachable store, until the certificate is put right: nothing is lost.)
      const reason = certificateProblem(err) ? undefined : transientReason(err);
      if (reason === undefined) throw err;
      const delayMs = backoffDelayMs(attempt, policy.initialDelayMs, policy.maxDelayMs);
      if (Date.now() + delayMs >= deadline || policy.signal?.aborted) {
        throw new ServiceUnavailableError(policy.component, policy.target, reason, Date.now() - started, {
          cause: err,
        });
      }
      policy.onRetry?.({ attempt, reason, delayMs });
      await sleep(delayMs, undefined, policy.signal ? { signal: policy.signal } : undefined).catch(() => {
        throw new ServiceUnavailableError(policy.component, policy.target, reason, Date.now() - started, {
          cause: err,
        });
      });
    }
  }
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  (typeof v === 'object' || typeof v === 'function') &&
  v !== null &&
  typeof (v as { then?: unknown }).then === 'function';

/**
 * The same client, with every method that returns a promise retried by `retryTransient` under the policy
 * `policyFor()` gives at the time of the call; nested objects (`collection.query`) are wrapped the same
 * way. Methods run with the real client as `this`. Methods that return something else (a pipeline, a
 * builder) are passed through unchanged, and so is what they return.
 */
export function withRetries<T extends object>(client: T, policyFor: () => RetryPolicy): T {
  const wrapped = new WeakMap<object, object>();
  const wrap = <O extends object>(target: O): O => {
    const known = wrapped.get(target);
    if (known) return known as O;
    const proxy = new Proxy(target, {
      get(obj, prop) {
        const value = Reflect.get(obj, prop, obj) as unknown;
        if (typeof value === 'function') {
          if (prop === 'constructor') return value;
          return (...args: unknown[]) => {
            const first = Reflect.apply(value, obj, args) as unknown;
            if (!isThenable(first)) return first;
            return retryTransient(
              (attempt) =>
                attempt === 1 ? Promise.resolve(first) : Promise.resolve(Reflect.apply(value, obj, args)),
              policyFor(),
            );
          };
        }
        if (typeof value === 'object' && value !== null && !isThenable(value) && !Array.isArray(value))
          return wrap(value);
        return value;
      },
    });
    wrapped.set(target, proxy);
    return proxy;
  };
  return wrap(client);
}
