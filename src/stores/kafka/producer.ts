// Publishing envelopes: validated before they leave the process, keyed so that one task's messages stay
// in order, written by an idempotent producer so that its own retries never duplicate a message.
import kafkajs from 'kafkajs';
import type { Kafka, Message, Producer, ProducerConfig, RecordMetadata } from 'kafkajs';
import { kafkaName } from '../../clients/kafka.ts';
import { checkEnvelope, InvalidEnvelopeError, maxEnvelopeBytes, type Envelope } from './envelope.ts';
import { inSpan, SpanKind, traceHeaders, type Tracer } from '../../tracing.ts';

const { CompressionTypes, Partitioners } = kafkajs;

/** Headers every published message carries, so tools can route and filter without parsing the value. */
export const MessageHeader = {
  id: 'x-message-id',
  type: 'x-message-type',
  schemaVersion: 'x-schema-version',
  /** The envelope's agentType, when it has one: an agent skips another type's command by it, unparsed. */
  agentType: 'x-agent-type',
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
  /**
   * Validates every envelope, then sends them in one request, to the topic of this deployment (the spec
   * name with KAFKA_TOPIC_PREFIX in front). Throws InvalidEnvelopeError before sending.
   */
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
  const value = JSON.stringify(valid);
  // Consumers dead-letter a larger message: refuse it here, where the sender can still act on it.
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > maxEnvelopeBytes) {
    throw new InvalidEnvelopeError(`the message is ${bytes} bytes as JSON, at most ${maxEnvelopeBytes}`);
  }
  return {
    // Same key, same partition: all messages of one task are consumed in the order they were sent.
    key: options.key ?? valid.taskId ?? valid.id,
    value,
    headers: {
      [MessageHeader.id]: valid.id,
      [MessageHeader.type]: valid.type,
      [MessageHeader.schemaVersion]: String(valid.schemaVersion),
      ...(valid.agentType ? { [MessageHeader.agentType]: valid.agentType } : {}),
    },
  };
}

/** A batch waiting for the request in flight: messages by topic, and who waits for them. */
interface Batch {
  topics: Map<string, Message[]>;
  waiters: { topic: string; resolve(meta: RecordMetadata[]): void; reject(err: unknown): void }[];
  count: number;
  bytes: number;
}

/** Limits of one request; well under the broker's default `message.max.bytes` (1 MB) per partition batch. */
const maxBatchMessages = 500;
const maxBatchBytes = 512 * 1024;

/**
 * The publisher sends one request at a time (idempotence needs it, see below). Envelopes published while a
 * request is in flight do not queue up one request each: they are gathered and go together in the next
 * one, as soon as the current one is acknowledged. So a busy process sends few, larger requests (less work
 * for the broker, less waiting in line) and an idle one sends at once, with no linger delay. Order is
 * kept: what is published first is sent first, so one task's messages stay in order.
 */
export function createPublisher(
  kafka: Kafka,
  config: Partial<ProducerConfig> = {},
  /**
   * With a tracer, each publish is a PRODUCER span whose W3C trace context (`traceparent`, `tracestate`)
   * travels in every message's headers, so the consumer continues the trace (docs/agent-protocol.md#tracing).
   */
  tracing: { tracer?: Tracer } = {},
): Publisher {
  const producer = kafka.producer({
    // Java's partitioner (murmur2), so agents written with other Kafka clients put a key where we do.
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    // kafkajs follows KIP-98's original rule: idempotence is only guaranteed with one request in flight.
    maxInFlightRequests: 1,
    // A send outlives the loss of its partition's leader: the controller fences a dead broker after its
    // session (broker.session.timeout.ms: 6 s in the cluster topology, Kafka's default 9 s) and elects
    // another leader; kafkajs's default (5 retries, about 9 s in all) could give up just before. Retries at
    // most 2 s apart find the new leader soon after it is elected, 15 of them last about 30 s. A retried
    // batch keeps its sequence numbers, so the new leader drops what it already has instead of writing it
    // twice.
    retry: { initialRetryTime: 250, maxRetryTime: 2_000, retries: 15 },
    ...config,
  });
  const queue: Batch[] = [];
  let sending: Promise<void> | null = null;

  const sendNext = (): void => {
    const batch = queue.shift();
    if (!batch) {
      sending = null;
      return;
    }
    sending = producer
      .sendBatch({
        topicMessages: [...batch.topics].map(([topic, messages]) => ({ topic, messages })),
        acks: -1,
        compression: CompressionTypes.Snappy,
      })
      .then(
        (meta) => batch.waiters.forEach((w) => w.resolve(meta.filter((m) => m.topicName === w.topic))),
        (err: unknown) => batch.waiters.forEach((w) => w.reject(err)),
      )
      .finally(sendNext);
  };

  // Validates, encodes and queues the messages for the next request, each with the trace context's headers.
  function send(
    name: string,
    list: readonly Envelope[],
    options: PublishOptions,
    trace: Record<string, string>,
  ): Promise<RecordMetadata[]> {
    const topic = kafkaName(kafka, name);
    const messages = list.map((envelope) => {
      const message = toKafkaMessage(envelope, options);
      return { ...message, headers: { ...message.headers, ...trace } };
    });
    const bytes = messages.reduce((n, m) => n + (m.value as string).length, 0);
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      let batch = queue.at(-1);
      if (!batch || batch.count + messages.length > maxBatchMessages || batch.bytes + bytes > maxBatchBytes) {
        batch = { topics: new Map(), waiters: [], count: 0, bytes: 0 };
        queue.push(batch);
      }
      const forTopic = batch.topics.get(topic) ?? [];
      forTopic.push(...messages);
      batch.topics.set(topic, forTopic);
      batch.count += messages.length;
      batch.bytes += bytes;
      batch.waiters.push({ topic, resolve, reject });
      if (!sending) sendNext();
    });
  }

  return {
    producer,
    connect: () => producer.connect(),
    async disconnect() {
      while (sending) await sending; // what was published is sent first
      await producer.disconnect();
    },
    async publish(name, envelopes, options = {}) {
      const list: readonly Envelope[] = Array.isArray(envelopes) ? envelopes : [envelopes as Envelope];
      if (!tracing.tracer) return send(name, list, options, {});
      const first = list[0];
      return inSpan(
        tracing.tracer,
        `publish ${name}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            'messaging.system': 'kafka',
            'messaging.operation.type': 'send',
            'messaging.destination.name': kafkaName(kafka, name),
            'messaging.batch.message_count': list.length,
            ...(first ? { 'messaging.message.id': first.id, 'prism.message_type': first.type } : {}),
            ...(first?.taskId ? { 'prism.task_id': first.taskId } : {}),
          },
        },
        () => send(name, list, options, traceHeaders()),
      );
    },
  };
}
