import { PrismError } from '../errors.ts';
import weaviate, { type WeaviateClient } from 'weaviate-client';
import type { Env } from '../config.ts';
import { randomUUID } from 'node:crypto';
import { refusedCertificate } from './tls.ts';

/** One node of Weaviate as a client reaches it. */
export interface WeaviateEndpoint {
  host: string;
  httpPort: number;
  grpcPort: number;
}

export type WeaviateEnv = Pick<
  Env,
  'WEAVIATE_HOST' | 'WEAVIATE_HTTP_PORT' | 'WEAVIATE_GRPC_PORT' | 'WEAVIATE_API_KEY'
> &
  Partial<
    Pick<Env, 'WEAVIATE_TLS' | 'WEAVIATE_REPLICATION_FACTOR' | 'PRISM_TOPOLOGY' | 'PRISM_CLUSTER_MACHINES'>
  >;

/**
 * The gRPC port of node `index` (1-based) of the cluster topology on one box. Weaviate listens for gRPC on
 * every address (`:port`, no setting binds it to one), so the nodes sharing a box cannot share the port:
 * node n takes WEAVIATE_GRPC_PORT + n (src/stack/services/weaviate.ts starts it there).
 */
export function weaviateClusterGrpcPort(env: Pick<Env, 'WEAVIATE_GRPC_PORT'>, index: number): number {
  return env.WEAVIATE_GRPC_PORT + index;
}

/**
 * Every node of WEAVIATE_HOST with its ports, in the order given. A host that is machine n of the cluster
 * topology (PRISM_TOPOLOGY=cluster, PRISM_CLUSTER_MACHINES) has its gRPC port moved as above; any other
 * host serves gRPC on WEAVIATE_GRPC_PORT, as every node of a cluster on real machines does.
 */
export function weaviateEndpoints(env: WeaviateEnv): WeaviateEndpoint[] {
  const machines =
    env.PRISM_TOPOLOGY === 'cluster' && env.PRISM_CLUSTER_MACHINES
      ? env.PRISM_CLUSTER_MACHINES.split(',')
      : [];
  return env.WEAVIATE_HOST.split(',').map((host) => {
    const machine = machines.indexOf(host);
    return {
      host,
      httpPort: env.WEAVIATE_HTTP_PORT,
      grpcPort: machine >= 0 ? weaviateClusterGrpcPort(env, machine + 1) : env.WEAVIATE_GRPC_PORT,
    };
  });
}

/**
 * Weaviate's REST base (https with WEAVIATE_TLS): the first node of WEAVIATE_HOST, or `host` (one of them).
 */
export function weaviateRestUrl(
  env: Pick<Env, 'WEAVIATE_HOST' | 'WEAVIATE_HTTP_PORT'> & Partial<Pick<Env, 'WEAVIATE_TLS'>>,
  host = env.WEAVIATE_HOST.split(',')[0]!,
): string {
  return `${env.WEAVIATE_TLS ? 'https' : 'http'}://${host}:${env.WEAVIATE_HTTP_PORT}`;
}

/** The REST API's headers for WEAVIATE_API_KEY: none when Weaviate runs without API-key auth. */
export function weaviateAuthHeaders(env: Pick<Env, 'WEAVIATE_API_KEY'>): Record<string, string> {
  return env.WEAVIATE_API_KEY ? { Authorization: `Bearer ${env.WEAVIATE_API_KEY}` } : {};
}

/**
 * Connects the weaviate-client v3 (REST + gRPC; both over TLS with WEAVIATE_TLS, verified against Node's
 * CAs and NODE_EXTRA_CA_CERTS for REST, gRPC's or GRPC_DEFAULT_SSL_ROOTS_FILE_PATH for gRPC: the library
 * takes no CA of its own). Close it with `close()`.
 *
 * With several hosts (a cluster) the client talks to the first that answers and, when that node is lost,
 * moves to another that answers (failoverClient below): a call that surely never reached the
 * lost node, and every read, is sent again there; a write that may have reached it fails as before.
 */
export async function connectWeaviate(env: WeaviateEnv): Promise<WeaviateClient> {
  const endpoints = weaviateEndpoints(env);
  const client =
    endpoints.length === 1
      ? await connectTo(env, endpoints[0]!)
      : await failoverClient(endpoints, (endpoint) => connectTo(env, endpoint), {
          live: (endpoint) => weaviateRestUrl(env, endpoint.host) + '/v1/.well-known/live',
        });
  replicationFactors.set(client, env.WEAVIATE_REPLICATION_FACTOR ?? 1);
  return client;
}

const replicationFactors = new WeakMap<WeaviateClient, number>();

/**
 * How many copies of each object the collections of this client's deployment keep (WEAVIATE_REPLICATION_
 * FACTOR of the configuration it was connected with; 1 for a single server): consistency levels are only
 * sent when there are replicas to agree.
 */
export function weaviateReplicationFactor(client: WeaviateClient): number {
  return replicationFactors.get(client) ?? 1;
}

async function connectTo(env: WeaviateEnv, endpoint: WeaviateEndpoint): Promise<WeaviateClient> {
  try {
    return await connect(env, endpoint);
  } catch (err) {
    // The library keeps only the words of what went wrong ("fetch failed"): when a certificate was refused,
    // say so and how to fix it.
    if (!env.WEAVIATE_TLS) throw err;
    throw (
      (await refusedCertificate(
        'Weaviate',
        { host: endpoint.host, port: endpoint.httpPort },
        {},
        'give the process the CA that signed it: NODE_EXTRA_CA_CERTS for REST, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH ' +
          'for gRPC (docs/security.md#tls)',
      )) ?? err
    );
  }
}

function connect(env: WeaviateEnv, endpoint: WeaviateEndpoint): Promise<WeaviateClient> {
  return weaviate.connectToCustom({
    httpHost: endpoint.host,
    httpPort: endpoint.httpPort,
    httpSecure: env.WEAVIATE_TLS ?? false,
    grpcHost: endpoint.host,
    grpcPort: endpoint.grpcPort,
    grpcSecure: env.WEAVIATE_TLS ?? false,
    authCredentials: env.WEAVIATE_API_KEY ? new weaviate.ApiKey(env.WEAVIATE_API_KEY) : undefined,
    timeout: { init: 10, query: 30, insert: 60 },
  });
}

// ---- Failover over the nodes of a cluster ----------------------------------------------------------------
//
// The weaviate-client talks to one host, and the handles it gives out (`collections.use(name)`,
// `withTenant`, `withConsistency`) are bound to that connection. The client below is a stand-in with the same
// API: every handle is a path (`collections.use('X').withTenant('a')`) replayed on the current connection at
// each call, so when the node is lost every handle already taken moves with it to the next node that answers.
//
// When a node is lost: a call that fails to connect, or whose node stops answering its liveness check while
// it waits (the library itself retries gRPC's UNAVAILABLE for about 30 s before it gives up), makes the client
// move on. The call is then sent again to the new node when sending it twice cannot change the outcome: reads,
// deletes, and batch inserts (which get their object ids here, before the first send, so that a second send
// overwrites the same objects); any other write waits for its own outcome, as with a single server.

type Step = { get: PropertyKey } | { call: unknown[] };

/** Calls that return a new handle bound to the connection (not data): replayed, never kept. */
const handleMethods = new Set(['use', 'get', 'withTenant', 'withConsistency']);
/** Calls whose second sending changes nothing. */
const resendable =
  /^(exists|export|list\w*|get\w*|fetch\w*|length|is\w+|bm25|hybrid|near\w+|overAll|deleteById|deleteMany|insertMany)$/;

export interface FailoverOptions {
  /** The liveness URL of a node; asked while a call waits for longer than `suspectAfterMs`. */
  live: (endpoint: WeaviateEndpoint) => string;
  suspectAfterMs?: number;
  liveTimeoutMs?: number;
}

const connectionCodes = /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNABORTED/;
const connectionWords =
  /fetch failed|UNAVAILABLE|No connection established|Connection dropped|socket hang up|other side closed|connect ECONN/i;

/** Whether `err` (or what caused it) is a failure to reach the node rather than an answer from it. */
export function isConnectionError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message, name } = e as { code?: unknown; message?: unknown; name?: unknown };
    if (typeof code === 'string' && connectionCodes.test(code)) return true;
    if (name === 'WeaviateGRPCUnavailableError') return true;
    if (typeof message === 'string' && (connectionWords.test(message) || connectionCodes.test(message)))
      return true;
  }
  return false;
}

/** Whether a call (its path's last method) may be sent again to another node after its node was lost. */
export function isResendable(method: PropertyKey | undefined): boolean {
  return typeof method === 'string' && resendable.test(method);
}

/** Gives each batch object an id before its first send, so that sending it again overwrites, never adds. */
export function withObjectIds(objects: unknown): unknown {
  if (!Array.isArray(objects)) return objects;
  return objects.map((o: unknown) =>
    o && typeof o === 'object' && 'properties' in o && !(o as { id?: unknown }).id
      ? { ...o, id: randomUUID() }
      : o,
  );
}

class LostNode extends PrismError {
  constructor(message: string) {
    super('NODE_LOST', message);
  }
}

/**
 * A WeaviateClient over several nodes: connected to the first of `endpoints` that answers, and to the next
 * that answers when that one is lost.
 */
export async function failoverClient(
  endpoints: WeaviateEndpoint[],
  connectOne: (endpoint: WeaviateEndpoint) => Promise<WeaviateClient>,
  options: FailoverOptions,
): Promise<WeaviateClient> {
  const suspectAfterMs = options.suspectAfterMs ?? 1_000;
  const liveTimeoutMs = options.liveTimeoutMs ?? 2_000;
  let current = { index: -1, client: undefined as unknown as WeaviateClient, generation: 0 };
  let moving: Promise<void> | undefined;

  /** Connects to the first node after `from` (in the list's order, round) that answers. */
  async function moveFrom(from: number): Promise<void> {
    const errors: string[] = [];
    for (let k = 1; k <= endpoints.length; k++) {
      const index = (from + k) % endpoints.length;
      const endpoint = endpoints[index]!;
      try {
        const client = await connectOne(endpoint);
        const old = current.client;
        current = { index, client, generation: current.generation + 1 };
        if (old) void old.close().catch(() => undefined);
        return;
      } catch (err) {
        errors.push(`${endpoint.host}: ${(err as Error).message}`);
      }
    }
    throw new Error(`no Weaviate node answers (${errors.join('; ')})`);
  }

  /** Moves off the node of `generation` once, however many calls saw it lost. */
  function moveOff(generation: number): Promise<void> {
    if (current.generation !== generation) return moving ?? Promise.resolve();
    moving ??= moveFrom(current.index).finally(() => (moving = undefined));
    return moving;
  }

  async function alive(endpoint: WeaviateEndpoint): Promise<boolean> {
    try {
      const res = await fetch(options.live(endpoint), { signal: AbortSignal.timeout(liveTimeoutMs) });
      return res.ok;
    } catch {
      return false;
    }
  }

  /** The call's own outcome, or LostNode as soon as its node stops answering while the call waits. */
  function watched<T>(call: Promise<T>, endpoint: WeaviateEndpoint): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const lost = new Promise<never>((_, reject) => {
      const check = async () => {
        if (done) return;
        if (!(await alive(endpoint)) && !done) reject(new LostNode(`Weaviate at ${endpoint.host} is lost`));
        else if (!done) timer = setTimeout(() => void check(), suspectAfterMs);
      };
      timer = setTimeout(() => void check(), suspectAfterMs);
    });
    lost.catch(() => undefined);
    return Promise.race([call, lost]).finally(() => {
      done = true;
      clearTimeout(timer);
    });
  }

  function resolve(path: Step[]): { value: unknown; self: unknown } {
    let self: unknown;
    let value: unknown = current.client;
    for (const step of path) {
      if ('get' in step) {
        self = value;
        value = (value as Record<PropertyKey, unknown>)[step.get];
      } else {
        value = (value as (...a: unknown[]) => unknown).apply(self, step.call);
        self = undefined;
      }
    }
    return { value, self };
  }

  async function invoke(path: Step[], args: unknown[]): Promise<unknown> {
    const method = (path.at(-1) as { get?: PropertyKey } | undefined)?.get;
    for (let attempt = 1; ; attempt++) {
      const { generation, index } = current;
      const { value: fn, self } = resolve(path);
      const call = Promise.resolve((fn as (...a: unknown[]) => unknown).apply(self, args));
      try {
        return await watched(call, endpoints[index]!);
      } catch (err) {
        const lost = err instanceof LostNode;
        if (!lost && !isConnectionError(err)) throw err;
        await moveOff(generation);
        if (!isResendable(method) || attempt >= endpoints.length) {
          if (lost) return call; // its own outcome, whatever it is
          throw err;
        }
        call.catch(() => undefined); // superseded by the call sent again below
      }
    }
  }

  // A handle is of the kind of what it stands for (a function or an object): code that looks at
  // `typeof` (the retry wrapper of src/retry.ts wraps methods and walks into objects) sees the real shape.
  function handle(path: Step[], kind: 'function' | 'object' = 'function'): unknown {
    const target = kind === 'function' ? () => undefined : {};
    return new Proxy(target, {
      get(_, key) {
        if (path.length === 0 && key === 'close') return () => current.client.close();
        const { value } = resolve([...path, { get: key }]);
        if (typeof value === 'function') return handle([...path, { get: key }], 'function');
        if (value !== null && typeof value === 'object' && !('then' in value))
          return handle([...path, { get: key }], 'object');
        return value;
      },
      apply(_, __, given: unknown[]) {
        const method = (path.at(-1) as { get?: PropertyKey } | undefined)?.get;
        const args = method === 'insertMany' ? [withObjectIds(given[0]), ...given.slice(1)] : given;
        const { value: fn, self } = resolve(path);
        const result = (fn as (...a: unknown[]) => unknown).apply(self, args);
        if (result && typeof (result as Promise<unknown>).then === 'function') {
          (result as Promise<unknown>).catch(() => undefined); // its outcome is read by invoke's first try
          return invokeFirst(path, args, result as Promise<unknown>);
        }
        return typeof method === 'string' && handleMethods.has(method) && result && typeof result === 'object'
          ? handle([...path, { call: args }], 'object')
          : result;
      },
    });
  }

  /** invoke, with its first sending already made (by the apply trap). */
  async function invokeFirst(path: Step[], args: unknown[], first: Promise<unknown>): Promise<unknown> {
    const method = (path.at(-1) as { get?: PropertyKey } | undefined)?.get;
    const { generation, index } = current;
    try {
      return await watched(first, endpoints[index]!);
    } catch (err) {
      const lost = err instanceof LostNode;
      if (!lost && !isConnectionError(err)) throw err;
      await moveOff(generation);
      if (!isResendable(method)) {
        if (lost) return first;
        throw err;
      }
      return invoke(path, args);
    }
  }

  await moveFrom(-1);
  return handle([], 'object') as WeaviateClient;
}
