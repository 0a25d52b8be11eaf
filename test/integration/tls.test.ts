// TLS to Redis (REDIS_TLS, REDIS_TLS_CA_FILE) and Kafka (KAFKA_TLS, KAFKA_TLS_CA_FILE; docs/security.md),
// against the stack's own servers, which offer TLS beside their plain ports with certificates of the stack's
// CA: the product's clients encrypt when told to, still log in as their users (and stay within their ACLs),
// and refuse a server that the CA they were given did not sign. And TLS with client certificates (mTLS) to
// Temporal (TEMPORAL_TLS*): Temporal's development server has no TLS, so the stack's Temporal is reached here
// through a TLS terminator that requires a client certificate, as a load balancer in front of a cluster's
// frontend does (or Temporal Cloud).
import { execFile } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createKafka, logLevel } from '../../src/clients/kafka.ts';
import { createRedis } from '../../src/clients/redis.ts';
import { connectTemporal, temporalTarget } from '../../src/clients/temporal.ts';
import { ConfigError, parseConfig, rawEnvironment } from '../../src/config.ts';
import { ServiceUnavailableError } from '../../src/retry.ts';
import { asKafkaUser, asRedisUser } from '../../src/identity.ts';
import { stackPaths } from '../../src/stack/paths.ts';
import { ensureServerTls, issueCertificate, stackCaCertificate } from '../../src/stack/tls.ts';
import { Topic } from '../../src/stores/kafka/topics.ts';
import { env, otherCa, testId, waitFor } from '../helpers.ts';

const stackCa = stackCaCertificate(stackPaths(env));
const dir = mkdtempSync(join(tmpdir(), 'prism-tls-'));

/** The TLS version a server negotiates on `port`, verified with `ca`. */
function negotiated(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(ca) }, () => {
      resolve(String(socket.getProtocol()));
      socket.end();
    });
    socket.on('error', reject);
  });
}

let other: string;
beforeAll(async () => {
  other = await otherCa(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('TLS to Redis', () => {
  const tlsEnv = { ...env, REDIS_PORT: env.REDIS_TLS_PORT, REDIS_TLS: true, REDIS_TLS_CA_FILE: stackCa };

  it('encrypts, verifies the server with the stack CA, and logs in as the component user', async () => {
    expect(await negotiated(env.REDIS_TLS_PORT, stackCa)).toMatch(/^TLSv1\.[23]$/);
    const redis = createRedis(asRedisUser(tlsEnv, 'agent'), { maxRetriesPerRequest: 0 });
    try {
      expect(await redis.ping()).toBe('PONG');
      // Logged in as `agent`: still only its own keys and commands.
      await expect(redis.call('FLUSHALL')).rejects.toThrow(/NOPERM/);
    } finally {
      redis.disconnect();
    }
  });

  it('refuses a server that the given CA did not sign, and a plain client on the TLS port', async () => {
    const wrong = createRedis(
      { ...tlsEnv, REDIS_TLS_CA_FILE: other },
      { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true },
    );
    const errors: Error[] = [];
    wrong.on('error', (err: Error) => errors.push(err));
    await expect(wrong.connect()).rejects.toThrow();
    expect(errors.map((e) => e.message).join('; ')).toMatch(/self[- ]signed|unable to verify|certificate/i);
    wrong.disconnect();
    const plain = createRedis(
      { ...env, REDIS_PORT: env.REDIS_TLS_PORT },
      { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true, connectTimeout: 2_000 },
    );
    plain.on('error', () => {});
    await expect(plain.connect().then(() => plain.ping())).rejects.toThrow();
    plain.disconnect();
  });
});

describe('TLS to Kafka (SASL_SSL)', () => {
  const tlsEnv = {
    ...env,
    KAFKA_BROKERS: `127.0.0.1:${env.KAFKA_TLS_PORT}`,
    KAFKA_TLS: true,
    KAFKA_TLS_CA_FILE: stackCa,
  };
  const quiet = { retry: { retries: 0 }, logLevel: logLevel.NOTHING };

  it('encrypts, verifies the broker, logs in with SCRAM and stays within the ACLs', async () => {
    expect(await negotiated(env.KAFKA_TLS_PORT, stackCa)).toMatch(/^TLSv1\.[23]$/);
    const kafka = createKafka(asKafkaUser(tlsEnv, 'agent'), quiet);
    const admin = kafka.admin();
    const producer = kafka.producer({ retry: { retries: 0 } });
    try {
      await admin.connect();
      // The broker advertises its TLS listener to a client that came through it.
      const { brokers } = await admin.describeCluster();
      expect(brokers.map((b) => b.port)).toEqual([env.KAFKA_TLS_PORT]);
      await producer.connect();
      const topic = (name: string) => `${env.KAFKA_TOPIC_PREFIX}${name}`;
      await expect(
        producer.send({ topic: topic(Topic.SystemLogs), messages: [{ value: '{"probe":"tls"}' }] }),
      ).resolves.toHaveLength(1);
      await expect(
        producer.send({ topic: topic(Topic.UserQueries), messages: [{ value: '{"probe":"tls"}' }] }),
      ).rejects.toThrow(/not authorized|authorization/i);
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  it('refuses a broker that the given CA did not sign', async () => {
    const admin = createKafka(asKafkaUser({ ...tlsEnv, KAFKA_TLS_CA_FILE: other }, 'agent'), quiet).admin();
    await expect(admin.connect()).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    await admin.disconnect();
  });
});

/** A client certificate (clientAuth) for `name`, signed by the stack's CA, in `dir`: `{ cert, key }` paths. */
async function stackClientCertificate(name: string): Promise<{ cert: string; key: string }> {
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await issueCertificate(stackPaths(env), files, {
    commonName: name,
    extensions: 'extendedKeyUsage=clientAuth',
    days: 1,
  });
  return files;
}

interface Terminator {
  port: number;
  /** Each client that got through: its certificate's name, the TLS version and the ALPN protocol agreed. */
  peers: { name: unknown; protocol: string | null; alpn: string | false | null }[];
  /** What went wrong in handshakes the terminator refused or the client broke off. */
  handshakeErrors: string[];
  close(): Promise<void>;
}

/**
 * A TLS terminator in front of a plain port of the stack, as a load balancer in front of a service is: TLS
 * 1.2+, a server certificate of the stack's CA for 127.0.0.1, HTTP/2 or HTTP/1.1 by ALPN, and with
 * `requireClientCert` a client certificate of the same CA required.
 */
async function tlsTerminator(
  name: string,
  upstream: { host: string; port: number },
  requireClientCert = false,
): Promise<Terminator> {
  const server = await ensureServerTls(stackPaths(env), join(dir, name));
  const peers: Terminator['peers'] = [];
  const handshakeErrors: string[] = [];
  const terminator = createTlsServer(
    {
      cert: readFileSync(server.cert),
      key: readFileSync(server.key),
      ca: readFileSync(stackCa),
      requestCert: requireClientCert,
      rejectUnauthorized: requireClientCert,
      minVersion: 'TLSv1.2',
      ALPNProtocols: ['h2', 'http/1.1'],
    },
    (socket: TLSSocket) => {
      const cert = socket.getPeerCertificate();
      peers.push({ name: cert.subject?.CN, protocol: socket.getProtocol(), alpn: socket.alpnProtocol });
      const plain = netConnect(upstream.port, upstream.host);
      socket.pipe(plain).pipe(socket);
      const close = () => {
        socket.destroy();
        plain.destroy();
      };
      socket.on('error', close);
      plain.on('error', close);
    },
  );
  terminator.on('tlsClientError', (err: Error) => handshakeErrors.push(err.message));
  await new Promise<void>((resolve) => terminator.listen(0, '127.0.0.1', resolve));
  return {
    port: (terminator.address() as { port: number }).port,
    peers,
    handshakeErrors,
    close: () => new Promise<void>((resolve) => terminator.close(() => resolve())),
  };
}

describe('TLS with client certificates to Temporal', () => {
  let terminator: Terminator;
  let tlsEnv: typeof env;

  beforeAll(async () => {
    const [host, port] = env.TEMPORAL_ADDRESS.split(':') as [string, string];
    terminator = await tlsTerminator('temporal-terminator', { host, port: Number(port) }, true);
    const client = await stackClientCertificate('prism-worker');
    tlsEnv = {
      ...env,
      TEMPORAL_ADDRESS: `127.0.0.1:${terminator.port}`,
      TEMPORAL_TLS: true,
      TEMPORAL_TLS_CA_FILE: stackCa,
      TEMPORAL_TLS_CERT_FILE: client.cert,
      TEMPORAL_TLS_KEY_FILE: client.key,
    };
  });
  afterAll(() => terminator?.close());

  it('connects the clients and the workers over TLS 1.2+ with their client certificate', async () => {
    const temporal = await connectTemporal(tlsEnv);
    try {
      const info = await temporal.workflowService.getSystemInfo({});
      expect(info.serverVersion).toMatch(/^\d+\.\d+/);
      const namespace = await temporal.workflowService.describeNamespace({
        namespace: env.TEMPORAL_NAMESPACE,
      });
      expect(namespace.namespaceInfo?.name).toBe(env.TEMPORAL_NAMESPACE);
    } finally {
      await temporal.connection.close();
    }
    // What the worker and the Temporal-native agents connect with (the SDK's Rust core, its own TLS).
    const native = await NativeConnection.connect(temporalTarget(tlsEnv));
    try {
      expect((await native.workflowService.getSystemInfo({})).serverVersion).toMatch(/^\d+\.\d+/);
    } finally {
      await native.close();
    }
    expect(terminator.peers.length).toBeGreaterThanOrEqual(2);
    for (const peer of terminator.peers) {
      expect(peer).toEqual({
        name: 'prism-worker',
        protocol: expect.stringMatching(/^TLSv1\.[23]$/),
        alpn: 'h2',
      });
    }
  });

  it('is refused without a client certificate, by a server another CA signed, or with another name', async () => {
    const connects = async (over: Partial<typeof env>) => {
      const target = temporalTarget({ ...tlsEnv, ...over });
      const connection = await Connection.connect({ ...target, connectTimeout: '3s' }).catch(() => null);
      await connection?.close();
      return connection !== null;
    };
    const { peers, handshakeErrors } = terminator;
    const accepted = peers.length;
    // The server asks for a client certificate and gets none.
    expect(await connects({ TEMPORAL_TLS_CERT_FILE: undefined, TEMPORAL_TLS_KEY_FILE: undefined })).toBe(
      false,
    );
    await waitFor(
      'the terminator to refuse a client without a certificate',
      () => handshakeErrors.some((e) => /did not return a certificate|certificate required/i.test(e)),
      5_000,
    );
    // The client does not trust a server certificate that another CA signed.
    expect(await connects({ TEMPORAL_TLS_CA_FILE: other })).toBe(false);
    // The certificate does not carry the name the client expects.
    expect(await connects({ TEMPORAL_TLS_SERVER_NAME: 'temporal.plant.example' })).toBe(false);
    // None of them reached Temporal.
    expect(peers.length).toBe(accepted);
    // The product's client says why, at once: not retried as an unreachable server (a certificate does not
    // change between retries), so not a ServiceUnavailableError.
    const refusal = await connectTemporal({ ...tlsEnv, TEMPORAL_TLS_CA_FILE: other }).catch(
      (e: unknown) => e,
    );
    expect(refusal).not.toBeInstanceOf(ServiceUnavailableError);
    expect((refusal as Error).message).toMatch(
      /^Temporal at 127\.0\.0\.1:\d+: its certificate was refused \([A-Z_]+: [^)]*certificate[^)]*\); set TEMPORAL_TLS_CA_FILE/,
    );
    // The native connection refuses a server another CA signed as well.
    await expect(
      NativeConnection.connect(temporalTarget({ ...tlsEnv, TEMPORAL_TLS_CA_FILE: other })),
    ).rejects.toThrow();
  });
});

describe('TLS to Weaviate and InfluxDB, with a private CA given to Node', () => {
  const terminators: Record<'rest' | 'grpc' | 'influx', Terminator> = {} as never;
  let tlsEnv: Record<string, string>;

  beforeAll(async () => {
    const influx = new URL(env.INFLUX_URL);
    terminators.rest = await tlsTerminator('weaviate-rest', {
      host: env.WEAVIATE_HOST,
      port: env.WEAVIATE_HTTP_PORT,
    });
    terminators.grpc = await tlsTerminator('weaviate-grpc', {
      host: env.WEAVIATE_HOST,
      port: env.WEAVIATE_GRPC_PORT,
    });
    terminators.influx = await tlsTerminator('influx', { host: influx.hostname, port: Number(influx.port) });
    tlsEnv = {
      WEAVIATE_TLS: 'true',
      WEAVIATE_HOST: '127.0.0.1',
      WEAVIATE_HTTP_PORT: String(terminators.rest.port),
      WEAVIATE_GRPC_PORT: String(terminators.grpc.port),
      INFLUX_URL: `https://127.0.0.1:${terminators.influx.port}`,
    };
  });
  afterAll(() => Promise.all(Object.values(terminators).map((t) => t.close())));

  /** The fixture process with the product's clients, with this environment on top of the tests' own. */
  const clients = (extra: Record<string, string>) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const probe = testId('tls');
      execFile(
        process.execPath,
        ['--import', 'tsx', 'test/fixtures/tls-clients.ts', probe],
        { env: { ...process.env, ...tlsEnv, ...extra }, timeout: 60_000 },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  const seenBy = (stdout: string) =>
    JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      weaviate: { ready?: boolean; fetched?: number; error?: string };
      influx: { rows?: number; error?: string };
    };

  it('searches Weaviate over https and gRPC with TLS, and writes and reads InfluxDB over https', async () => {
    // Node's HTTP clients (fetch, https) take the CA from NODE_EXTRA_CA_CERTS; gRPC (grpc-js) from its own
    // GRPC_DEFAULT_SSL_ROOTS_FILE_PATH (docs/security.md).
    const run = await clients({ NODE_EXTRA_CA_CERTS: stackCa, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: stackCa });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const seen = seenBy(run.stdout);
    expect(seen.weaviate.ready).toBe(true);
    expect(seen.weaviate.fetched).toBeGreaterThanOrEqual(0);
    expect(seen.influx.rows).toBe(1);
    // Every client went through TLS: REST and InfluxDB's HTTP/1.1, Weaviate's gRPC as HTTP/2.
    for (const [name, terminator] of Object.entries(terminators)) {
      expect(terminator.peers.length, name).toBeGreaterThan(0);
      for (const peer of terminator.peers) expect(peer.protocol, name).toMatch(/^TLSv1\.[23]$/);
    }
    expect(terminators.grpc.peers.map((p) => p.alpn)).toContain('h2');
  });

  it('refuses the servers when the process does not know their CA, and says which and why', async () => {
    const before = Object.values(terminators).map((t) => t.peers.length);
    const run = await clients({ NODE_EXTRA_CA_CERTS: '', GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: '' });
    expect(run.code).toBe(1);
    const seen = seenBy(run.stdout);
    expect(seen.weaviate.error).toMatch(
      /^Weaviate at 127\.0\.0\.1:\d+: its certificate was refused \([A-Z_]+: [^)]*certificate[^)]*\); give the process the CA .*NODE_EXTRA_CA_CERTS/,
    );
    expect(seen.influx.error).toMatch(/self[- ]signed certificate/);
    expect(Object.values(terminators).map((t) => t.peers.length)).toEqual(before);
  });
});

describe('TLS configuration', () => {
  const problem = (raw: Record<string, string | undefined>) => {
    try {
      parseConfig({ ...rawEnvironment(), ...raw });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).message;
    }
    return null;
  };

  it('stops start-up naming a CA file that does not exist', () => {
    for (const variable of ['REDIS_TLS_CA_FILE', 'KAFKA_TLS_CA_FILE', 'TEMPORAL_TLS_CA_FILE']) {
      const flag = variable.replace('_CA_FILE', '');
      expect(problem({ [flag]: 'true', [variable]: join(dir, 'missing.crt') }), variable).toContain(variable);
    }
  });

  it('stops start-up on a client certificate without its key, and on TLS files for a client without TLS', () => {
    expect(problem({ TEMPORAL_TLS: 'true', TEMPORAL_TLS_CERT_FILE: stackCa })).toMatch(
      /TEMPORAL_TLS_CERT_FILE.*set without TEMPORAL_TLS_KEY_FILE/,
    );
    for (const variable of ['REDIS_TLS_CA_FILE', 'KAFKA_TLS_CA_FILE', 'TEMPORAL_TLS_CA_FILE']) {
      const flag = variable.replace('_CA_FILE', '');
      expect(problem({ [flag]: 'false', [variable]: stackCa }), variable).toMatch(
        new RegExp(`${variable}.*set, but ${flag} is not true`),
      );
    }
    expect(problem({ TEMPORAL_TLS: 'true', TEMPORAL_TLS_CA_FILE: stackCa })).toBeNull();
  });
});
