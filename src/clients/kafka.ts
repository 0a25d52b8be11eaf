import kafkajs, { type Kafka as KafkaClient, type KafkaConfig } from 'kafkajs';
import SnappyCodec from 'kafkajs-snappy';
import type { Env } from '../config.ts';

// kafkajs is CommonJS without named ESM exports.
const { CompressionCodecs, CompressionTypes, Kafka } = kafkajs;
export const { logLevel } = kafkajs;

// The spec compresses every topic with snappy; kafkajs needs the codec registered once per process.
CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;

export type KafkaEnv = Pick<Env, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'>;

/** A kafkajs client for the product's brokers. */
export function createKafka(env: KafkaEnv, config: Partial<KafkaConfig> = {}): KafkaClient {
  return new Kafka({
    clientId: env.KAFKA_CLIENT_ID,
    brokers: env.KAFKA_BROKERS.split(','),
    logLevel: logLevel.WARN,
    connectionTimeout: 5_000,
    ...config,
  });
}
