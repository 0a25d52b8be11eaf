// Assertions of every store's effect of one finished agent task.
import type { Client } from '@temporalio/client';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { expect } from 'vitest';
import { createInflux, influxOrg } from '../../src/clients/influx.ts';
import { kafkaName } from '../../src/clients/kafka.ts';
import { createRedis } from '../../src/clients/redis.ts';
import type { PrismaClient } from '../../src/db/prisma.ts';
import { commandIdFor, finishedTasksMetric, subtaskIdFor, taskMemoryNamespace } from '../../src/task/ids.ts';
import { keys } from '../../src/stores/redis/keys.ts';
import { createSharedMemory } from '../../src/stores/redis/shared-memory.ts';
import { parseEnvelope, type Envelope } from '../../src/stores/kafka/envelope.ts';
import { commandTopicsOf, Topic } from '../../src/stores/kafka/topics.ts';
import type { AgentType } from '../../src/task/index.ts';
import { createAgentStateStore } from '../../src/stores/redis/agent-state.ts';
import { env, testId } from '../helpers.ts';
import { waitFor } from './support.ts';

/** Collects every message of some topics from now on, with a group of its own. */
export async function recordTopics(kafka: Kafka, topics: string[]) {
  const messages = new Map<string, Envelope[]>(topics.map((t) => [t, []]));
  const raw = new Map<string, KafkaMessage[]>(topics.map((t) => [t, []]));
  const consumer = kafka.consumer({ groupId: testId('e2e-rec'), maxWaitTimeInMs: 200 });
  // Recorded under the names the tests use (the spec names); read from this deployment's topics.
  const byPhysical = new Map(topics.map((t) => [kafkaName(kafka, t), t]));
  await consumer.connect();
  await consumer.subscribe({ topics: [...byPhysical.keys()], fromBeginning: false });
  let assigned = false;
  consumer.on(consumer.events.GROUP_JOIN, () => void (assigned = true));
  await consumer.run({
    eachMessage: async ({ topic: physical, message }) => {
      const topic = byPhysical.get(physical)!;
      raw.get(topic)!.push(message);
      const parsed = parseEnvelope(message.value);
      if (parsed.ok) messages.get(topic)!.push(parsed.envelope);
    },
  });
  await waitFor('the recorder to join its group', async () => assigned, 30_000);
  return { messages, raw, stop: () => consumer.disconnect() };
}

export async function expectTaskEffects(
  deps: { prisma: PrismaClient; temporal: Client; recorded: Map<string, Envelope[]> },
  task: { taskId: string; workflowId: string; agentType: AgentType; priority?: string },
): Promise<void> {
  const { prisma, temporal, recorded } = deps;
  const { taskId, workflowId } = task;

  // PostgreSQL: the task, its subtask, and each history event exactly once.
  const row = await prisma.task.findUniqueOrThrow({
    where: { id: taskId },
    include: { queries: true, plans: { include: { subtasks: true } }, history: { orderBy: { id: 'asc' } } },
  });
  expect(row).toMatchObject({ status: 'COMPLETED', workflowId, errorMessage: null });
  expect(row.queries).toHaveLength(1);
  const subtask = row.plans[0]!.subtasks[0]!;
  expect(subtask).toMatchObject({
    id: subtaskIdFor(taskId, 'main'),
    status: 'SUCCESS',
    agentType: task.agentType,
  });
  expect(subtask.output).toBeTruthy();
  expect(row.history.map((h) => h.eventKey)).toEqual([
    'created',
    'status:ACTIVE',
    'command-sent:main',
    'response:main',
    'status:COMPLETED',
  ]);

  // Kafka: the command, the agent's answer, and the task's lifecycle event — each one message id. The command
  // is on the topic its COMMAND_SENT event names: its type's own, or the shared one (docs/kafka.md).
  const commandId = commandIdFor(taskId, 'main');
  const sentOn = (row.history.find((h) => h.eventKey === 'command-sent:main')!.details as { topic: string })
    .topic;
  expect(commandTopicsOf(task.agentType)).toContain(sentOn);
  await waitFor('the command, answer and event on Kafka', async () => {
    const commands = recorded.get(sentOn)!.filter((e) => e.id === commandId);
    const answers = recorded
      .get(Topic.OrchestrationResponses)!
      .filter((e) => e.payload.commandId === commandId);
    const events = recorded
      .get(Topic.SystemLogs)!
      .filter((e) => e.taskId === taskId && e.type === 'task.completed');
    return commands.length > 0 && answers.length > 0 && events.length > 0;
  });
  const command = recorded.get(sentOn)!.find((e) => e.id === commandId)!;
  expect(command).toMatchObject({ type: 'agent.command', taskId, workflowId, agentType: task.agentType });
  const answers = recorded
    .get(Topic.OrchestrationResponses)!
    .filter((e) => e.payload.commandId === commandId);
  expect(new Set(answers.map((a) => a.id)).size).toBe(1);
  const answer = answers[0]!;
  expect(answer.payload).toMatchObject({ status: 'SUCCESS', workflowId, stepKey: 'main' });

  // Redis: the agent that answered recorded this task as its last one and is idle again; the steps' shared
  // memory served the task and was cleared when it ended; the task was counted once in real time.
  const redis = createRedis(env);
  try {
    const state = await createAgentStateStore(redis).get(String(answer.payload.agentId));
    expect(state).not.toBeNull();
    expect(state!.fields.lastTask ?? state!.currentTask).toBe(taskId);
    expect(await createSharedMemory(redis, { namespace: taskMemoryNamespace(taskId) }).keys()).toEqual([]);
    expect(await redis.exists(keys.metricEvent(finishedTasksMetric('COMPLETED'), taskId))).toBe(1);
  } finally {
    redis.disconnect();
  }

  // InfluxDB: the task's performance points (task id as a field, never a tag).
  const rows = await waitFor('task_performance points', async () => {
    const r = await createInflux(env)
      .getQueryApi(influxOrg)
      .collectRows<{ step: string; _value: number }>(
        `from(bucket: "${env.INFLUX_BUCKET}") |> range(start: -1h)
           |> filter(fn: (r) => r._measurement == "task_performance" and r._field == "task_id" and r._value == "${taskId}")`,
      );
    return r.length > 0 ? r : null;
  });
  expect(rows.map((r) => r.step)).toEqual(expect.arrayContaining(['task', 'createTask', 'recordResult']));

  // Temporal: a completed run, findable by its search attributes.
  const description = await temporal.workflow.getHandle(workflowId).describe();
  expect(description.status.name).toBe('COMPLETED');
  const attrs = description.searchAttributes as Record<string, unknown[]>;
  expect(attrs.TaskId).toEqual([taskId]);
  expect(attrs.TaskStatus).toEqual(['COMPLETED']);
  expect(attrs.AgentType).toEqual([task.agentType]);
  if (task.priority) expect(attrs.TaskPriority).toEqual([task.priority]);
}
