import { readFileSync } from 'node:fs';
import {
  Client,
  Connection,
  isRetryableError,
  makeGrpcRetryInterceptor,
  type TLSConfig,
} from '@temporalio/client';
import type { Env } from '../config.ts';
import { backoffDelayMs, retryTransient } from '../retry.ts';
import { refusedCertificate } from './tls.ts';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import type { Tracing } from '../tracing.ts';

export type TemporalEnv = Pick<Env, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'> &
  Partial<
    Pick<
      Env,
      | 'TEMPORAL_TLS'
      | 'TEMPORAL_TLS_CA_FILE'
      | 'TEMPORAL_TLS_CERT_FILE'
      | 'TEMPORAL_TLS_KEY_FILE'
      | 'TEMPORAL_TLS_SERVER_NAME'
    >
  >;

/**
 * Where and how every connection of ours reaches Temporal — the clients (`Connection`) and the workers and
 * Temporal-native agents (`NativeConnection`) alike: its address, and with TEMPORAL_TLS, TLS that verifies
 * the server (against TEMPORAL_TLS_CA_FILE, else each library's default CAs — Node's for the clients, the
 * system's for the workers' Rust core: set the file for a private CA; its name against the address's host or
 * TEMPORAL_TLS_SERVER_NAME) and presents a client certificate where one is configured (mTLS, as Temporal
 * Cloud and a cluster with `requireClientAuth` ask).
 */
export function temporalTarget(env: Omit<TemporalEnv, 'TEMPORAL_NAMESPACE'>): {
  address: string;
  tls?: TLSConfig;
} {
  return temporalTargetAt(env, temporalAddresses(env)[0]!);
}

/** The frontends of TEMPORAL_ADDRESS, in the order given (a cluster's: every node's). */
export function temporalAddresses(env: Pick<TemporalEnv, 'TEMPORAL_ADDRESS'>): string[] {
  return env.TEMPORAL_ADDRESS.split(',');
}

function temporalTargetAt(
  env: Omit<TemporalEnv, 'TEMPORAL_NAMESPACE'>,
  address: string,
): { address: string; tls?: TLSConfig } {
  if (!env.TEMPORAL_TLS) return { address };
  const tls: TLSConfig = {};
  if (env.TEMPORAL_TLS_SERVER_NAME) tls.serverNameOverride = env.TEMPORAL_TLS_SERVER_NAME;
  if (env.TEMPORAL_TLS_CA_FILE) tls.serverRootCACertificate = readFileSync(env.TEMPORAL_TLS_CA_FILE);
  if (env.TEMPORAL_TLS_CERT_FILE && env.TEMPORAL_TLS_KEY_FILE) {
    tls.clientCertPair = {
      crt: readFileSync(env.TEMPORAL_TLS_CERT_FILE),
      key: readFileSync(env.TEMPORAL_TLS_KEY_FILE),
    };
  }
  return { address, tls };
}

/**
 * `connect` to the first frontend of TEMPORAL_ADDRESS that answers, in its order: a cluster's frontends are
 * peers (any one serves every namespace and queue), so a client given all of them starts while one is
 * lost. Every connection of ours (Connection and the workers' NativeConnection) is made through this. When
 * none answers, the error names each frontend and why.
 */
export async function connectToFrontend<T>(
  env: Omit<TemporalEnv, 'TEMPORAL_NAMESPACE'>,
  connect: (target: { address: string; tls?: TLSConfig }) => Promise<T>,
): Promise<T> {
  const addresses = temporalAddresses(env);
  if (addresses.length === 1) return connect(temporalTargetAt(env, addresses[0]!));
  const failures: string[] = [];
  for (const address of addresses) {
    try {
      return await connect(temporalTargetAt(env, address));
    } catch (err) {
      failures.push(`${address}: ${(err as Error).message}`);
    }
  }
  const error = new Error(`no Temporal frontend answered (${failures.join('; ')})`);
  // The gRPC code of the last failure, so that retry decisions (retryTransient) see an unavailable server.
  throw Object.assign(error, { code: 14 });
}

/** A TLS handshake with Temporal's settings, when a connection failed: the refused certificate, named. */
function refusedTemporalCertificate(
  env: Omit<TemporalEnv, 'TEMPORAL_NAMESPACE'>,
): Promise<Error | undefined> {
  const { tls } = temporalTarget(env);
  const [host, port] = env.TEMPORAL_ADDRESS.split(':') as [string, string];
  return refusedCertificate(
    'Temporal',
    { host, port: Number(port) },
    {
      ALPNProtocols: ['h2'],
      ...(tls?.serverNameOverride ? { servername: tls.serverNameOverride } : {}),
      ...(tls?.serverRootCACertificate ? { ca: Buffer.from(tls.serverRootCACertificate) } : {}),
      ...(tls?.clientCertPair
        ? { cert: Buffer.from(tls.clientCertPair.crt), key: Buffer.from(tls.clientCertPair.key) }
        : {}),
    },
    'set TEMPORAL_TLS_CA_FILE to the CA that signed it, or TEMPORAL_TLS_SERVER_NAME to the name it carries (docs/security.md#tls)',
  );
}

// The SDK retries a call that finds Temporal unavailable 10 times over about 20 s; a server restart (the
// dev server reopening its SQLite, or Temporal waiting for its PostgreSQL) outlasts that, and every client
// of ours (the ingress, the bridge, the API, the CLI, the SDK through the API, the bench) would give up and
// say so to its user, or lose what it was delivering. So: up to ~2 minutes, pausing at most 2 s.
export const temporalRetryAttempts = 60;

/** How long our Temporal clients keep retrying a call while the server is unavailable, about. */
export const temporalRetryBudgetMs = 2 * 60_000;

/**
 * A Temporal client that rides out a server restart: every call (start, signal, query, describe, the long
 * poll for a result) is retried while the server is unavailable, for about two minutes, and the channel
 * reconnects within 2 s of the server being back (gRPC's default backoff grows to 2 minutes). Starts and
 * signals carry a request id, so the server applies a retried one once. The first connection is retried
 * for 30 s (a restart's worth; a server that is simply not running is reported sooner than a call's
 * budget). Close its connection with `client.connection.close()`.
 */
const retryDelay = (attempt: number) => backoffDelayMs(attempt, 100, 2_000);
const retryUnavailable = makeGrpcRetryInterceptor({
  delayFunction: retryDelay,
  retryableDecider: (attempt, status) => attempt < temporalRetryAttempts && isRetryableError(status),
});
// A start or signal whose server ran out of time (DEADLINE_EXCEEDED from the server: on a cluster, the history
// host that owns the workflow's shard frozen or cut off until the ring hands the shard to another) is sent
// again: it carries a request id, so the server applies it once. Other calls are not, since a deadline of
// the caller's own (withDeadline) ends the same way and must end the call.
const retryStartsPastDeadline = makeGrpcRetryInterceptor({
  delayFunction: retryDelay,
  retryableDecider: (attempt, status) =>
    attempt < temporalRetryAttempts && (isRetryableError(status) || status.code === deadlineExceeded),
});
/** gRPC's status code DEADLINE_EXCEEDED. */
const deadlineExceeded = 4;
type Interceptor = ReturnType<typeof makeGrpcRetryInterceptor>;
const idempotentCalls =
  /\/(StartWorkflowExecution|SignalWorkflowExecution|SignalWithStartWorkflowExecution)$/;
const retryInterceptor: Interceptor = (options, nextCall) =>
  idempotentCalls.test(options.method_definition.path)
    ? retryStartsPastDeadline(options, nextCall)
    : retryUnavailable(options, nextCall);

/**
 * With `tracing` on, starting, signalling and querying a workflow are spans whose context travels to the
 * workflow in Temporal's headers (@temporalio/interceptors-opentelemetry), and the trace continues there.
 */
export async function connectTemporal(
  env: TemporalEnv,
  options: { tracing?: Tracing } = {},
): Promise<Client> {
  const connection = await retryTransient(
    () =>
      connectToFrontend(env, (target) =>
        Connection.connect({
          ...target,
          connectTimeout: '5s',
          interceptors: [retryInterceptor],
          channelArgs: {
            'grpc.initial_reconnect_backoff_ms': 200,
            'grpc.max_reconnect_backoff_ms': 2_000,
          },
        }),
      ).catch(async (err: unknown) => {
        // grpc-js says only "Failed to connect before the deadline": when the certificate is why, say so.
        throw (env.TEMPORAL_TLS && (await refusedTemporalCertificate(env))) || err;
      }),
    { component: 'Temporal', target: env.TEMPORAL_ADDRESS, maxWaitMs: 30_000 },
  );
  const tracing = options.tracing?.enabled ? options.tracing : undefined;
  return new Client({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    ...(tracing
      ? {
          interceptors: {
            workflow: [new OpenTelemetryWorkflowClientInterceptor({ tracer: tracing.tracer })],
          },
        }
      : {}),
  });
}
