// The dead-letter convention: the original key, value and headers, unchanged, plus headers saying why
// and where from, so a person can read the reason and a tool can replay the message to its topic.
import kafkajs from 'kafkajs';
import type { IHeaders, KafkaMessage, Message, Producer } from 'kafkajs';

const { CompressionTypes } = kafkajs;

export const DeadLetterHeader = {
  reason: 'x-dlq-reason',
  topic: 'x-dlq-original-topic',
  partition: 'x-dlq-original-partition',
  offset: 'x-dlq-original-offset',
  groupId: 'x-dlq-consumer-group',
  failedAt: 'x-dlq-failed-at',
} as const;

export interface DeadLetterSource {
  topic: string;
  partition: number;
  message: Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'offset'>;
  groupId: string;
}

/** The message to write to the DLQ for a message that could not be processed. */
export function deadLetterMessage(source: DeadLetterSource, reason: string, now = new Date()): Message {
  const headers: IHeaders = {
    ...source.message.headers,
    [DeadLetterHeader.reason]: reason,
    [DeadLetterHeader.topic]: source.topic,
    [DeadLetterHeader.partition]: String(source.partition),
    [DeadLetterHeader.offset]: source.message.offset,
    [DeadLetterHeader.groupId]: source.groupId,
    [DeadLetterHeader.failedAt]: now.toISOString(),
  };
  return { key: source.message.key, value: source.message.value, headers };
}

/** Writes the dead letter and waits for all in-sync replicas: the original offset is committed after. */
export async function sendDeadLetter(
  producer: Pick<Producer, 'send'>,
  deadLetterTopic: string,
  source: DeadLetterSource,
  reason: string,
): Promise<void> {
  await producer.send({
    topic: deadLetterTopic,
    acks: -1,
    compression: CompressionTypes.Snappy,
    messages: [deadLetterMessage(source, reason)],
  });
}
