// Helpers shared by the Kafka integration tests: waiting for consumer outcomes, reading a topic back,
// and removing exactly the topics and groups a test created.
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import type { MessageOutcome } from '../../../src/stores/kafka/consumer.ts';
import { kafkaName } from '../../../src/clients/kafka.ts';
import { revokeKafkaAcls } from '../../../src/stores/kafka/acl.ts';
import { env, testId, waitFor } from '../../helpers.ts';

/** Collects a consumer's outcomes (pass `onOutcome` to runConsumer). */
export function outcomeRecorder() {
  const outcomes: MessageOutcome[] = [];
  return {
    outcomes,
    onOutcome: (outcome: MessageOutcome) => void outcomes.push(outcome),
    waitForCount: (count: number) =>
      waitFor(`${count} outcomes (have ${outcomes.length})`, () => outcomes.length >= count),
  };
}

/** Reads the first `count` messages of a topic with a throw-away consumer group. */
export async function readTopic(kafka: Kafka, admin: Admin, name: string, count: number) {
  const topic = kafkaName(kafka, name);
  const groupId = testId('kread');
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
    await waitFor(`${count} messages on ${topic} (have ${messages.length})`, () => messages.length >= count);
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return messages;
}

/**
 * The sum over partitions of the committed offsets of a group on a topic, both named as `runConsumer` takes
 * them (0 when nothing is committed).
 */
export async function committedCount(
  kafka: Kafka,
  admin: Admin,
  group: string,
  name: string,
): Promise<number> {
  const [offsets] = await admin.fetchOffsets({
    groupId: kafkaName(kafka, group),
    topics: [kafkaName(kafka, name)],
  });
  return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

/** Deletes the topics whose names start with this test's unique prefix: never anyone else's. */
export async function deleteTestTopics(admin: Admin, prefix: string): Promise<void> {
  if (!prefix.startsWith('test_'))
    throw new Error(`refusing to delete topics by a non-test prefix: ${prefix}`);
  const topics = (await admin.listTopics()).filter(
    (name) => name.startsWith(prefix) || name.startsWith(`${env.KAFKA_TOPIC_PREFIX}${prefix}`),
  );
  if (topics.length > 0) await admin.deleteTopics({ topics });
  // And the ACLs that provisioning granted for them (none when the test gave its own topics).
  await revokeKafkaAcls(admin, `${env.KAFKA_TOPIC_PREFIX}${prefix}`);
}

export function header(message: KafkaMessage, name: string): string | undefined {
  return message.headers?.[name]?.toString();
}
