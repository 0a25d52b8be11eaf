import kafkajs, { type Kafka as KafkaClient, type KafkaConfig, type SASLOptions } from 'kafkajs';
import SnappyCodec from 'kafkajs-snappy';
import type { Env } from '../config.ts';
import { kafkaMechanism, type KafkaMechanism } from '../identity.ts';
import { tlsOptions } from './tls.ts';

// kafkajs is CommonJS without named ESM exports.
const { CompressionCodecs, CompressionTypes, Kafka } = kafkajs;
export const { logLevel } = kafkajs;

// The spec compresses every topic with snappy; kafkajs needs the codec registered once per process.
CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;

export type KafkaEnv = Pick<Env, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'> &
  Partial<
    Pick<
      Env,
      | 'KAFKA_TOPIC_PREFIX'
      | 'KAFKA_LOGIN_USER'
      | 'KAFKA_LOGIN_PASSWORD'
      | 'KAFKA_LOGIN_MECHANISM'
      | 'KAFKA_TLS'
      | 'KAFKA_TLS_CA_FILE'
      | 'KAFKA_REPLICATION_FACTOR'
      | 'KAFKA_MIN_INSYNC_REPLICAS'
    >
  >;

/**
 * A kafkajs client that knows its deployment's name prefix (KAFKA_TOPIC_PREFIX). Code names topics and
 * consumer groups by their spec names (`Topic.*`); the publisher, the consumer and provisioning put the
 * prefix in front (`kafkaName`), so two deployments — the running system and the tests — share a cluster
 * without reading each other's messages.
 */
export class PrismKafka extends Kafka {
  constructor(
    config: KafkaConfig,
    readonly namePrefix: string,
  ) {
    super(config);
  }
}

/** The name on the cluster of a topic or consumer group of this client's deployment. */
export function kafkaName(kafka: KafkaClient, name: string): string {
  return kafka instanceof PrismKafka ? `${kafka.namePrefix}${name}` : name;
}

/**
 * A kafkajs client for the product's brokers, logged in (SASL: PLAIN for the stack's admin, SCRAM-SHA-512 for
 * the components) as this process's Kafka user (its component's: src/identity.ts) where it has one.
 */
export function createKafka(env: KafkaEnv, config: Partial<KafkaConfig> = {}): KafkaClient {
  const { KAFKA_LOGIN_USER: username, KAFKA_LOGIN_PASSWORD: password } = env;
  const mechanism = env.KAFKA_LOGIN_MECHANISM ?? (username ? kafkaMechanism(username) : 'scram-sha-512');
  return new PrismKafka(
    {
      clientId: env.KAFKA_CLIENT_ID,
      brokers: env.KAFKA_BROKERS.split(','),
      logLevel: logLevel.WARN,
      connectionTimeout: 5_000,
      // With several brokers, a request to one that is cut off (a partition: nothing answers, nothing is
      // refused) gives up after 10 s instead of kafkajs's 30 s, and is sent to the partition's new leader or
      // the group's new coordinator: a command and its consumer's rejoin then fit in a step's timeout. With one
      // broker there is no other to go to, and waiting longer is the only way through.
      ...(env.KAFKA_BROKERS.split(',').length > 1 ? { requestTimeout: 10_000 } : {}),
      ...(username && password ? { sasl: saslOptions(mechanism, username, password) } : {}),
      // SASL_SSL where KAFKA_TLS says so: the brokers' certificates verified, their names included.
      ...(env.KAFKA_TLS ? { ssl: tlsOptions(env.KAFKA_TLS_CA_FILE) } : {}),
      ...config,
    },
    env.KAFKA_TOPIC_PREFIX ?? '',
  );
}

function saslOptions(mechanism: KafkaMechanism, username: string, password: string): SASLOptions {
  // Every KafkaMechanism is one of kafkajs's username/password mechanisms.
  return { mechanism, username, password } as SASLOptions;
}
