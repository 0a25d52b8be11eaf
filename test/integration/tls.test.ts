// TLS to Redis (REDIS_TLS, REDIS_TLS_CA_FILE) and Kafka (KAFKA_TLS, KAFKA_TLS_CA_FILE; docs/security.md),
// against the stack's own servers, which offer TLS beside their plain ports with certificates of the stack's
// CA: the product's clients encrypt when told to, still log in as their users (and stay within their ACLs),
// and refuse a server that the CA they were given did not sign.
import { connect as tlsConnect } from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, logLevel } from '../../src/clients/kafka.ts';
import { createRedis } from '../../src/clients/redis.ts';
import { ConfigError, parseConfig, rawEnvironment } from '../../src/config.ts';
import { asKafkaUser, asRedisUser } from '../../src/identity.ts';
import { stackPaths } from '../../src/stack/paths.ts';
import { stackCaCertificate } from '../../src/stack/tls.ts';
import { Topic } from '../../src/stores/kafka/topics.ts';
import { env, otherCa } from '../helpers.ts';

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

describe('TLS configuration', () => {
  it('stops start-up naming a CA file that does not exist', () => {
    for (const variable of ['REDIS_TLS_CA_FILE', 'KAFKA_TLS_CA_FILE']) {
      let error: unknown;
      try {
        parseConfig({ ...rawEnvironment(), [variable]: join(dir, 'missing.crt') });
      } catch (err) {
        error = err;
      }
      expect(error, variable).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toContain(variable);
    }
  });
});
