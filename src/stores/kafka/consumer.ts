// Consuming envelopes at least once, with effects once: a message's offset is committed only after it
// was handled (or dead-lettered), and handled ids are remembered so a redelivery is skipped.
import { PrismError } from '../../errors.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  Consumer,
  ConsumerConfig,
  EachBatchPayload,
  IHeaders,
  Kafka,
  KafkaMessage,
  Producer,
} from 'kafkajs';
import kafkajs from 'kafkajs';
import { kafkaName } from '../../clients/kafka.ts';
import { transientReason } from '../../retry.ts';
import { sendDeadLetter } from './dead-letter.ts';
import type { DedupeStore } from './dedupe.ts';
import { parseEnvelope, type Envelope } from './envelope.ts';
import { MessageHeader } from './producer.ts';
import { rangeAssigner } from './range-assigner.ts';
import { deadLetterTopic } from './topics.ts';
import { contextFromHeaders, inSpan, SpanKind, type Tracer } from '../../tracing.ts';

export interface MessageContext {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  headers: IHeaders;
  /** 1 on the first try, up to `maxAttempts`. */
  attempt: number;
  /** Call during long work so the group does not consider this consumer dead. */
  heartbeat(): Promise<void>;
}

export type EnvelopeHandler = (envelope: Envelope, context: MessageContext) => Promise<void>;

interface Position {
  topic: string;
  partition: number;
  offset: string;
}

export type MessageOutcome =
  | (Position & { kind: 'processed'; id: string; attempts: number })
  | (Position & { kind: 'duplicate'; id: string })
  | (Position & { kind: 'ignored'; id: string })
  | (Position & { kind: 'dead-lettered'; id?: string; reason: string; deadLetterTopic: string });

/**
 * Thrown by a handler for a message that can never succeed (its payload is invalid for this consumer):
 * it goes to the dead-letter topic at once, with this message as the reason, instead of being retried.
 */
export class InvalidMessageError extends PrismError {
  constructor(message: string) {
    super('INVALID_MESSAGE', message);
    this.name = 'InvalidMessageError';
  }
}

export interface RunConsumerOptions {
  kafka: Kafka;
  /** The group and the topics by their spec names: a `createKafka` client adds its deployment's prefix. */
  groupId: string;
  topics: readonly string[];
  handler: EnvelopeHandler;
  dedupe: DedupeStore;
  /** Writes dead letters; an idempotent producer (`createPublisher(kafka).producer`) is best. */
  dlqProducer: Pick<Producer, 'send'>;
  /**
   * Tries per message before it is dead-lettered, so one bad message cannot block its partition. Default 3.
   * A try that failed because a service could not be reached (`transientReason`) does not count: the
   * message is not at fault, and dead-lettering it would lose it (an agent's answer, a user's request).
   * Such a message is retried until the service is back, holding up its partition meanwhile.
   */
  maxAttempts?: number;
  /** Wait before the second try, doubled before each further try (at most 5 s). Default 500. */
  retryDelayMs?: number;
  /** Where a new group starts: true (default) reads what the topics retain, so nothing sent before is lost. */
  fromBeginning?: boolean;
  partitionsConsumedConcurrently?: number;
  /**
   * Which valid envelopes are this consumer's: the others are passed over (committed, never handled, no
   * dedupe round trip), e.g. the commands for other agent types on a shared topic. Default: all.
   */
  accept?: (envelope: Envelope) => boolean;
  /**
   * The agent type whose messages this consumer takes: a message whose `x-agent-type` header names another is
   * passed over as `accept` would, without reading its value. Messages without the header go to `accept`.
   */
  acceptAgentType?: string;
  /** The dead-letter topic of a topic; default `<topic>.dlq`. */
  deadLetterTopicFor?: (topic: string) => string;
  consumerConfig?: Omit<Partial<ConsumerConfig>, 'groupId'>;
  /** Called after each message, e.g. for metrics. Must not throw. */
  onOutcome?: (outcome: MessageOutcome) => void;
  /**
   * With a tracer, handling a message is a CONSUMER span that continues the trace of its sender (the W3C
   * `traceparent` and `tracestate` headers, docs/agent-protocol.md#tracing).
   */
  tracer?: Tracer;
}

export interface RunningConsumer {
  readonly consumer: Consumer;
  /** Finishes the message in hand, commits what was handled, and leaves the group. */
  stop(): Promise<void>;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const { PartitionAssigners } = kafkajs;

/** Subscribes, joins the group and starts consuming; resolves once the consumer has joined. */
export async function runConsumer(options: RunConsumerOptions): Promise<RunningConsumer> {
  const consumer = options.kafka.consumer({
    // stop() waits for the fetch in flight: a 1 s long poll (kafkajs's default is 5 s) keeps shutdown quick
    // for the cost of one empty fetch a second on an idle topic.
    maxWaitTimeInMs: 1_000,
    // A crashed member holds its partitions until the broker misses its heartbeats for this long (kafkajs
    // default 30 s): 10 s hands a killed agent's or worker's work to a live one sooner.
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    rebalanceTimeout: 20_000,
    // Kafka's `range`, which every client offers, so agents in other languages can join a group of ours;
    // kafkajs's own round robin second, for members started before (range-assigner.ts).
    partitionAssigners: [rangeAssigner, PartitionAssigners.roundRobin],
    ...options.consumerConfig,
    groupId: kafkaName(options.kafka, options.groupId),
  });
  await consumer.connect();
  try {
    await consumer.subscribe({
      topics: options.topics.map((t) => kafkaName(options.kafka, t)),
      fromBeginning: options.fromBeginning ?? true,
    });
    await consumer.run({
      autoCommit: false,
      // Offsets are resolved one by one after each message is done, never for the whole batch up front.
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => consumeBatch(consumer, options, payload),
    });
  } catch (error) {
    await consumer.disconnect();
    throw error;
  }
  return { consumer, stop: () => consumer.disconnect() };
}

async function consumeBatch(
  consumer: Consumer,
  options: RunConsumerOptions,
  payload: EachBatchPayload,
): Promise<void> {
  const { batch } = payload;
  let nextOffset: string | undefined;
  let failure: unknown;
  try {
    for (const message of batch.messages) {
      if (!payload.isRunning() || payload.isStale()) break;
      const outcome = await consumeMessage(consumer, options, payload, message);
      // Stopped between retries: leave the offset uncommitted so the next owner handles the message.
      if (!outcome) break;
      payload.resolveOffset(message.offset);
      nextOffset = (BigInt(message.offset) + 1n).toString();
      options.onOutcome?.(outcome);
      await payload.heartbeat();
    }
  } catch (error) {
    // Redis or the DLQ is unreachable: kafkajs retries the batch from the first unresolved message.
    failure = error;
  }
  if (nextOffset !== undefined) {
    try {
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: nextOffset }]);
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
}

async function consumeMessage(
  consumer: Consumer,
  options: RunConsumerOptions,
  payload: EachBatchPayload,
  message: KafkaMessage,
): Promise<MessageOutcome | undefined> {
  const position: Position = {
    topic: payload.batch.topic,
    partition: payload.batch.partition,
    offset: message.offset,
  };
  const logger = consumer.logger();
  const deadLetter = async (reason: string, id?: string): Promise<MessageOutcome> => {
    const topic = (options.deadLetterTopicFor ?? deadLetterTopic)(position.topic);
    await sendDeadLetter(
      options.dlqProducer,
      topic,
      { ...position, message, groupId: kafkaName(options.kafka, options.groupId) },
      reason,
    );
    logger.warn('Message dead-lettered', { ...position, deadLetterTopic: topic, reason });
    return { kind: 'dead-lettered', ...position, id, reason, deadLetterTopic: topic };
  };

  // Another agent type's command, told by its header: skipped before its JSON is read (a message without
  // the header, from a producer that does not set it, is told by its envelope below).
  const headerType = options.acceptAgentType && message.headers?.[MessageHeader.agentType]?.toString();
  if (headerType && headerType !== options.acceptAgentType)
    return { kind: 'ignored', ...position, id: message.headers?.[MessageHeader.id]?.toString() ?? '' };
  const parsed = parseEnvelope(message.value);
  if (!parsed.ok) return deadLetter(parsed.reason);
  const { envelope } = parsed;
  if (options.accept && !options.accept(envelope)) return { kind: 'ignored', ...position, id: envelope.id };
  if (await options.dedupe.seen(envelope.id)) return { kind: 'duplicate', ...position, id: envelope.id };

  if (!options.tracer)
    return handleMessage(options, payload, message, position, envelope, deadLetter, logger);
  return inSpan(
    options.tracer,
    `process ${position.topic}`,
    {
      kind: SpanKind.CONSUMER,
      parent: contextFromHeaders(message.headers),
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': position.topic,
        'messaging.destination.partition.id': String(position.partition),
        'messaging.kafka.offset': Number(position.offset),
        'messaging.consumer.group.name': kafkaName(options.kafka, options.groupId),
        'messaging.message.id': envelope.id,
        'prism.message_type': envelope.type,
        ...(envelope.taskId ? { 'prism.task_id': envelope.taskId } : {}),
      },
    },
    () => handleMessage(options, payload, message, position, envelope, deadLetter, logger),
  );
}

/** Runs the handler on a valid, new envelope: retried, dead-lettered when it cannot succeed, then remembered. */
async function handleMessage(
  options: RunConsumerOptions,
  payload: EachBatchPayload,
  message: KafkaMessage,
  position: Position,
  envelope: Envelope,
  deadLetter: (reason: string, id?: string) => Promise<MessageOutcome>,
  logger: ReturnType<Consumer['logger']>,
): Promise<MessageOutcome | undefined> {
  const maxAttempts = options.maxAttempts ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 500;
  let attempt = 1;
  let failures = 0; // those that count towards maxAttempts
  for (; ; attempt++) {
    try {
      await options.handler(envelope, {
        ...position,
        key: message.key,
        headers: message.headers ?? {},
        attempt,
        heartbeat: () => payload.heartbeat(),
      });
      break;
    } catch (error) {
      if (error instanceof InvalidMessageError) return deadLetter(error.message, envelope.id);
      const unreachable = transientReason(error);
      if (unreachable === undefined) failures++;
      if (failures >= maxAttempts) {
        return deadLetter(`handler failed after ${attempt} attempts: ${errorMessage(error)}`, envelope.id);
      }
      logger.warn(unreachable ? 'A service is unreachable, retrying' : 'Handler failed, retrying', {
        ...position,
        id: envelope.id,
        attempt,
        error: errorMessage(error),
      });
      await sleep(Math.min(5_000, retryDelayMs * 2 ** Math.min(attempt - 1, 10)));
      if (!payload.isRunning() || payload.isStale()) return undefined;
      await payload.heartbeat();
    }
  }

  try {
    await options.dedupe.remember(envelope.id);
  } catch (error) {
    // The effect happened: committing is still right. Only a later redelivery could repeat it.
    logger.error('Could not remember a handled message; a redelivery would handle it again', {
      ...position,
      id: envelope.id,
      error: errorMessage(error),
    });
  }
  return { kind: 'processed', ...position, id: envelope.id, attempts: attempt };
}
