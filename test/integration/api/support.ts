// Helpers of the API tests: recording a task as step 2 does, reading what the API publishes on a topic, and
// removing the tasks they caused.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { KafkaMessage } from 'kafkajs';
import type { ApiDeps } from '../../../src/api/deps.ts';
import { taskActivities } from '../../../activities/task.ts';
import { workflowIdFor, type AgentType } from '../../../src/task/index.ts';
import { createRedis } from '../../../src/clients/redis.ts';
import { kafkaName } from '../../../src/clients/kafka.ts';
import { uuidFrom } from '../../../src/task/ids.ts';
import { ingressGroup } from '../../../src/worker/ingress.ts';
import { redisDedupeStore } from '../../../src/stores/kafka/dedupe.ts';
import { parseEnvelope, type Envelope } from '../../../src/stores/kafka/envelope.ts';
import { testId, waitFor } from '../../helpers.ts';

/**
 * Consumes a topic with a group of its own, starting at the end offsets of the moment it is created, so it
 * sees exactly what is published afterwards (by this test or by others: filter by id).
 */
export async function watchTopic(deps: Pick<ApiDeps, 'kafka'>, name: string) {
  const topic = kafkaName(deps.kafka, name);
  const admin = deps.kafka.admin();
  await admin.connect();
  const groupId = testId('apiwatch');
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.setOffsets({
    groupId,
    topic,
    partitions: ends.map((p) => ({ partition: p.partition, offset: p.offset })),
  });
  const consumer = deps.kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: false });
  await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
  const envelopes = () =>
    messages.flatMap((m) => {
      const parsed = parseEnvelope(m.value);
      return parsed.ok ? [parsed.envelope] : [];
    });
  return {
    envelopes,
    /** Every envelope with this id, once at least `count` have arrived. */
    async withId(id: string, count = 1): Promise<Envelope[]> {
      return waitFor(`${count} envelope(s) ${id} on ${topic}`, () => {
        const found = envelopes().filter((e) => e.id === id);
        return found.length >= count ? found : undefined;
      });
    },
    async stop() {
      await consumer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

/**
 * A task recorded as production records it: step 2's activity (createTask), which opens the task ACTIVE
 * with its query, plan and subtasks. No run exists unless the test starts one.
 */
export async function recordTask(
  deps: Pick<ApiDeps, 'prisma' | 'publisher' | 'redis'>,
  request: { requestId: string; query: string; agentType: AgentType; priority?: 'LOW' | 'NORMAL' | 'HIGH' },
) {
  return taskActivities(deps).createTask({ request, workflowId: workflowIdFor(request.requestId) });
}

/**
 * Removes the tasks of these request ids: their runs (if an orchestrator started them meanwhile, or the
 * test did) and their PostgreSQL records. Their `user.query` envelopes stay on the topic, where the next
 * orchestrator's ingress would start them: they are marked handled for its consumer group (the marks
 * expire with the dedupe TTL), so no later test's worker and agents run them.
 */
export async function removeTasks(
  deps: Pick<ApiDeps, 'temporal' | 'prisma' | 'env'>,
  requestIds: string[],
): Promise<void> {
  const redis = createRedis(deps.env);
  try {
    const handled = redisDedupeStore(redis, { groupId: ingressGroup });
    await Promise.all(requestIds.map((id) => handled.remember(uuidFrom(`request:${id}`))));
  } finally {
    await redis.quit();
  }
  for (const requestId of requestIds) {
    try {
      await deps.temporal.workflow.getHandle(workflowIdFor(requestId)).terminate('API test cleanup');
    } catch (err) {
      // Not found, or already ended: nothing runs.
      if (
        !(err instanceof WorkflowNotFoundError) &&
        !/already completed|not found/i.test((err as Error).message)
      )
        throw err;
    }
  }
  await deps.prisma.task.deleteMany({ where: { requestId: { in: requestIds } } });
}
