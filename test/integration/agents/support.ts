// Helpers of the agent tests: commands with test-unique ids, reading what a topic receives from now on,
// and waiting for a condition.
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { kafkaName } from '../../../src/clients/kafka.ts';
import type { AgentCommand, AgentType } from '../../../src/task/index.ts';
import { parseEnvelope, type Envelope } from '../../../src/stores/kafka/envelope.ts';
import { testId, waitFor } from '../../helpers.ts';

export function makeCommand(agentType: AgentType, overrides: Partial<AgentCommand> = {}): AgentCommand {
  return {
    commandId: randomUUID(),
    taskId: randomUUID(),
    workflowId: testId('wf'),
    stepKey: 'main',
    agentType,
    instruction: 'test instruction',
    parameters: {},
    knowledge: [],
    upstream: {},
    deadlineAt: new Date(Date.now() + 120_000).toISOString(),
    ...overrides,
  };
}

export interface TopicTail {
  readonly envelopes: Envelope[];
  /** The first envelope received with this id. */
  byId(id: string, timeoutMs?: number): Promise<Envelope>;
  stop(): Promise<void>;
}

/**
 * Reads a topic (or several) from its current end with a throw-away group: only messages sent after this call, so a
 * shared topic's history does not matter and other tests' messages are told apart by id.
 */
export async function tailTopic(kafka: Kafka, names: string | readonly string[]): Promise<TopicTail> {
  const topics = (typeof names === 'string' ? [names] : names).map((name) => kafkaName(kafka, name));
  const admin = kafka.admin();
  await admin.connect();
  const ends = await Promise.all(
    topics.map(async (topic) => ({ topic, offsets: await admin.fetchTopicOffsets(topic) })),
  );
  const groupId = testId('agtail');
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const envelopes: Envelope[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: false });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const parsed = parseEnvelope(message.value);
      if (parsed.ok) envelopes.push(parsed.envelope);
    },
  });
  for (const { topic, offsets } of ends)
    for (const end of offsets) consumer.seek({ topic, partition: end.partition, offset: end.offset });
  return {
    envelopes,
    byId: (id, timeoutMs) =>
      waitFor(`message ${id} on ${topics.join(' or ')}`, () => envelopes.find((e) => e.id === id), timeoutMs),
    async stop() {
      await consumer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect();
    },
  };
}
