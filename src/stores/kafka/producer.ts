// Publishing envelopes: validated before they leave the process, keyed so that one task's messages stay
// in order, written by an idempotent producer so that its own retries never duplicate a message.
import kafkajs from 'kafkajs';
import type { Kafka, Message, Producer, ProducerConfig, RecordMetadata } from 'kafkajs';
import { checkEnvelope, InvalidEnvelopeError, type Envelope } from './envelope.ts';

const { CompressionTypes, Partitioners } = kafkajs;

/** Headers every published message carries, so tools can route and filter without parsing the value. */
export const MessageHeader = {
  id: 'x-message-id',
  type: 'x-message-type',
  schemaVersion: 'x-schema-version',
} as const;

export interface PublishOptions {
  /** The partition key; by default the envelope's taskId, then its id. */
  key?: string;
}

export interface Publisher {
  /** The underlying idempotent producer, e.g. to hand to `runConsumer` as its dead-letter producer. */
  readonly producer: Producer;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Validates every envelope, then sends them in one request. Throws InvalidEnvelopeError before sending. */
  publish(
    topic: string,
    envelopes: Envelope | readonly Envelope[],
    options?: PublishOptions,
  ): Promise<RecordMetadata[]>;
}

/** The Kafka message for an envelope (validated): its key, JSON value and headers. */
export function toKafkaMessage(envelope: Envelope, options: PublishOptions = {}): Message {
  const checked = checkEnvelope(envelope);
  if (!checked.ok) throw new InvalidEnvelopeError(checked.reason);
  const valid = checked.envelope;
  return {
    // Same key, same partition: all messages of one task are consumed in the order they were sent.
    key: options.key ?? valid.taskId ?? valid.id,
    value: JSON.stringify(valid),
    headers: {
      [MessageHeader.id]: valid.id,
      [MessageHeader.type]: valid.type,
      [MessageHeader.schemaVersion]: String(valid.schemaVersion),
    },
  };
}

export function createPublisher(kafka: Kafka, config: Partial<ProducerConfig> = {}): Publisher {
  const producer = kafka.producer({
    // Java's partitioner (murmur2), so agents written with other Kafka clients put a key where we do.
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    // kafkajs follows KIP-98's original rule: idempotence is only guaranteed with one request in flight.
    maxInFlightRequests: 1,
    ...config,
  });
  return {
    producer,
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async publish(topic, envelopes, options = {}) {
      const list: readonly Envelope[] = Array.isArray(envelopes) ? envelopes : [envelopes as Envelope];
      const messages = list.map((envelope) => toKafkaMessage(envelope, options));
      return producer.send({ topic, messages, acks: -1, compression: CompressionTypes.Snappy });
    },
  };
}
