// Bad input at every Kafka boundary of the flow: on each topic a consumer of ours reads (the ingress on
// `user.queries`, the bridge on `agent.orchestration.responses`, the alert handler on
// `agent.monitoring.alerts`, a Kafka agent on `agent.orchestration.commands`), raw garbage, an oversized
// message, a wrong schemaVersion and a wrong type each become a dead letter on `<topic>.dlq` with the reason —
// and the consumer goes on to handle the valid message sent after them. And at the workflow's own boundary:
// signals and queries with bad payloads do not break a running agentTask, which completes afterwards.
//
// The consumers and the worker run on topics and a task queue of this test's own (created here, deleted
// after), so no other consumer takes these messages and no other worker runs this test's task.
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import kafkajs, { type KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKafkaAgent } from '../../src/agents/kafka-transport.ts';
import { silentLogger } from '../../src/agents/logger.ts';
import type { RunningAgent } from '../../src/agents/types.ts';
import { createKafka, kafkaName } from '../../src/clients/kafka.ts';
import { createRedis } from '../../src/clients/redis.ts';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { createMetrics } from '../../src/metrics.ts';
import { silentProgress } from '../../src/progress.ts';
import type { RunningConsumer } from '../../src/stores/kafka/consumer.ts';
import { DeadLetterHeader } from '../../src/stores/kafka/dead-letter.ts';
import { dedupeKey } from '../../src/stores/kafka/dedupe.ts';
import { createEnvelope, maxEnvelopeBytes, type Envelope } from '../../src/stores/kafka/envelope.ts';
import { createPublisher } from '../../src/stores/kafka/producer.ts';
import { provisionKafka } from '../../src/stores/kafka/provision.ts';
import { allTopicSpecs, CommandsTopic, commandTopicsOf, Topic } from '../../src/stores/kafka/topics.ts';
import { registerAgent, recordHeartbeat } from '../../src/stores/postgres/agents.ts';
import {
  agentResponseSignal,
  commandIdFor,
  feedbackSignal,
  progressQuery,
  taskIdFor,
  workflowIdFor,
  type AgentCommand,
  type TaskOutcome,
  type TaskProgress,
} from '../../src/task/index.ts';
import { runAlertHandler } from '../../src/worker/alert-handler.ts';
import { runBridge } from '../../src/worker/bridge.ts';
import { startWorker, type RunningWorker } from '../../src/worker/index.ts';
import { runIngress } from '../../src/worker/ingress.ts';
import { deleteTestTopics, header, readTopic } from './kafka/support.ts';
import { env, testId, waitFor } from '../helpers.ts';

const { CompressionTypes } = kafkajs;

const id = testId('dlq');
// Topics `test.<id>.<topic>`, a task queue, consumer groups and an agent of this test's own.
const prefix = `${id}.`;
const testEnv = {
  ...env,
  KAFKA_TOPIC_PREFIX: `${env.KAFKA_TOPIC_PREFIX}${prefix}`,
  TEMPORAL_TASK_QUEUE: id,
  TEMPORAL_MAINTENANCE_TASK_QUEUE: `${id}-maintenance`,
};
const consumed = [
  Topic.UserQueries,
  Topic.OrchestrationResponses,
  Topic.MonitoringAlerts,
  Topic.OrchestrationCommands,
];

describe('bad input at the boundaries of the flow', () => {
  const kafka = createKafka(testEnv);
  const admin = kafka.admin();
  const publisher = createPublisher(kafka);
  const redis = createRedis(env);
  const prisma = createPrisma(env);
  const metrics = createMetrics('worker');
  const groups = Object.fromEntries(consumed.map((t) => [t, testId('dlqgroup')])) as Record<string, string>;
  // The agent's one group reads its type's own commands topic as well as the shared one.
  groups[CommandsTopic.ANALYSIS] = groups[Topic.OrchestrationCommands]!;
  const agentId = `${id.replaceAll('_', '-')}-analysis`;
  const idleAgentId = `${id.replaceAll('_', '-')}-prediction`;
  const commands: AgentCommand[] = [];
  const handled: Envelope[] = [];
  const requestIds: string[] = [];
  let temporal: Client;
  let consumers: RunningConsumer[] = [];
  let agent: RunningAgent;
  let worker: RunningWorker;

  beforeAll(async () => {
    // The consumed topics and their dead letters, and those the flow's activities write to.
    const written = [
      ...consumed,
      ...Object.values(CommandsTopic),
      Topic.SystemLogs,
      Topic.ConstraintsViolations,
    ];
    await provisionKafka(testEnv, silentProgress, {
      kafka,
      topics: allTopicSpecs.filter((s) => written.some((t) => s.name === t || s.name === `${t}.dlq`)),
    });
    await Promise.all([admin.connect(), publisher.connect()]);
    temporal = await connectTemporal(env);
    const deps = { kafka, redis, temporal, dlqProducer: publisher.producer, metrics };
    consumers = await Promise.all([
      runIngress({ ...deps, env: testEnv, groupId: groups[Topic.UserQueries] }),
      runBridge({ ...deps, groupId: groups[Topic.OrchestrationResponses] }),
      runAlertHandler({ ...deps, env: testEnv, groupId: groups[Topic.MonitoringAlerts] }),
    ]);
    agent = await runKafkaAgent({
      type: 'ANALYSIS',
      env: testEnv,
      agentId,
      groupId: groups[Topic.OrchestrationCommands],
      redisPrefix: `prism:${id}`,
      log: silentLogger,
      handler: async (command) => {
        commands.push(command);
        return { seen: command.instruction };
      },
    });
    worker = await startWorker(testEnv, {
      withIngress: false,
      withBridge: false,
      withAlertHandler: false,
      metricsPort: null,
      log: () => {},
    });
  }, 180_000);

  afterAll(async () => {
    for (const requestId of requestIds) {
      await temporal?.workflow
        .getHandle(workflowIdFor(requestId))
        .terminate('test cleanup')
        .catch(() => undefined);
    }
    await agent?.stop();
    await Promise.allSettled(consumers.map((c) => c.stop()));
    await worker?.stop();
    await prisma.task.deleteMany({ where: { requestId: { in: requestIds } } });
    await prisma.agent.deleteMany({ where: { id: { in: [agentId, idleAgentId] } } });
    const dedupe = Object.values(groups).flatMap((g) => handled.map((e) => dedupeKey(g, e.id)));
    const agentKeys = await redis.keys(`prism:${id}:*`);
    if (dedupe.length + agentKeys.length > 0) await redis.del(...dedupe, ...agentKeys);
    await publisher.disconnect();
    await admin.deleteGroups(Object.values(groups).map((g) => kafkaName(kafka, g))).catch(() => undefined);
    await deleteTestTopics(admin, prefix);
    await admin.disconnect();
    await temporal?.connection.close();
    await prisma.$disconnect();
    await redis.quit();
  }, 120_000);

  /** Sends raw values on a topic, in order (one key, one partition). */
  const sendRaw = (topic: string, values: (Buffer | string | null)[]) =>
    publisher.producer.send({
      topic: kafkaName(kafka, topic),
      acks: -1,
      // The oversized message is mostly one repeated byte: compressed, it is well within what the broker takes.
      compression: CompressionTypes.Snappy,
      messages: values.map((value) => ({ key: id, value })),
    });

  const counted = async (topic: string, outcome: string) =>
    (await metrics.messagesConsumed.get()).values.find(
      (v) => v.labels.topic === kafkaName(kafka, topic) && v.labels.outcome === outcome,
    )?.value ?? 0;

  /** The bad messages of every topic: garbage bytes, too large, schemaVersion 2, and a type nobody reads. */
  function badMessages(agentType?: 'ANALYSIS') {
    const valid = createEnvelope({ type: 'anything', payload: {}, ...(agentType ? { agentType } : {}) });
    return [
      { value: randomBytes(512), reason: /^(not JSON: |empty message)/ },
      {
        value: JSON.stringify({ ...valid, payload: { blob: 'x'.repeat(maxEnvelopeBytes) } }),
        reason: /^message too large: \d+ bytes, at most 1048576/,
      },
      { value: JSON.stringify({ ...valid, schemaVersion: 2 }), reason: /^schemaVersion: expected 1/ },
      {
        value: JSON.stringify({ ...valid, type: 'no.such.type' }),
        reason: /^type: expected "[a-z.]+", got "no\.such\.type"/,
      },
    ];
  }

  async function expectDeadLetters(topic: string, bad: ReturnType<typeof badMessages>) {
    const letters: KafkaMessage[] = await readTopic(kafka, admin, `${topic}.dlq`, bad.length);
    expect(letters).toHaveLength(bad.length);
    letters.forEach((letter, i) => {
      expect(header(letter, DeadLetterHeader.reason)).toMatch(bad[i]!.reason);
      expect(header(letter, DeadLetterHeader.topic)).toBe(kafkaName(kafka, topic));
      expect(header(letter, DeadLetterHeader.groupId)).toBe(kafkaName(kafka, groups[topic]!));
      // The original value, unchanged, for a person to read and a tool to replay.
      expect(letter.value?.equals(Buffer.from(bad[i]!.value))).toBe(true);
    });
  }

  it('user.queries: dead-letters each bad message with its reason, then starts the valid request', async () => {
    const bad = badMessages();
    const requestId = testId('dlq_request');
    requestIds.push(requestId);
    const valid = createEnvelope({
      type: 'user.query',
      payload: { requestId, query: 'after the bad ones', agentType: 'PREDICTION', agentTimeoutMs: 60_000 },
    });
    handled.push(valid);
    await sendRaw(Topic.UserQueries, [...bad.map((b) => b.value), JSON.stringify(valid)]);
    await waitFor(
      'the valid request handled',
      async () => (await counted(Topic.UserQueries, 'processed')) >= 1,
    );
    expect(await counted(Topic.UserQueries, 'dead_lettered')).toBe(bad.length);
    await expectDeadLetters(Topic.UserQueries, bad);
    const run = await temporal.workflow.getHandle(workflowIdFor(requestId)).describe();
    expect(run.taskQueue).toBe(testEnv.TEMPORAL_TASK_QUEUE);
  });

  it('agent.orchestration.responses: dead-letters each bad message, then takes the valid answer', async () => {
    const bad = badMessages();
    const valid = createEnvelope({
      type: 'agent.response',
      payload: {
        commandId: commandIdFor(taskIdFor(id), 'main'),
        workflowId: workflowIdFor(testId('nobody')),
        stepKey: 'main',
        agentId,
        status: 'SUCCESS',
        result: {},
      },
    });
    handled.push(valid);
    await sendRaw(Topic.OrchestrationResponses, [...bad.map((b) => b.value), JSON.stringify(valid)]);
    await waitFor(
      'the valid answer handled',
      async () => (await counted(Topic.OrchestrationResponses, 'processed')) >= 1,
    );
    expect(await counted(Topic.OrchestrationResponses, 'dead_lettered')).toBe(bad.length);
    await expectDeadLetters(Topic.OrchestrationResponses, bad);
  });

  it('agent.monitoring.alerts: dead-letters each bad message, then handles the valid alert', async () => {
    const bad = badMessages();
    // The resolution of an alert nobody raised: handled, and it changes nothing in the alert store.
    const valid = createEnvelope({
      type: 'alert',
      payload: {
        fingerprint: `test.${id}`,
        name: 'TestCondition',
        status: 'RESOLVED',
        severity: 'INFO',
        source: id,
        message: 'after the bad ones',
        startsAt: new Date().toISOString(),
      },
    });
    handled.push(valid);
    await sendRaw(Topic.MonitoringAlerts, [...bad.map((b) => b.value), JSON.stringify(valid)]);
    await waitFor(
      'the valid alert handled',
      async () => (await counted(Topic.MonitoringAlerts, 'processed')) >= 1,
    );
    expect(await counted(Topic.MonitoringAlerts, 'dead_lettered')).toBe(bad.length);
    await expectDeadLetters(Topic.MonitoringAlerts, bad);
  });

  it.each(commandTopicsOf('ANALYSIS'))(
    '%s: the agent dead-letters each bad message, then runs the valid command',
    async (topic) => {
      const bad = badMessages('ANALYSIS');
      const taskId = taskIdFor(`${id}-${topic}`);
      const command: AgentCommand = {
        commandId: commandIdFor(taskId, 'main'),
        taskId,
        workflowId: workflowIdFor(`${id}-${topic}`),
        stepKey: 'main',
        agentType: 'ANALYSIS',
        instruction: 'after the bad ones',
        parameters: {},
        knowledge: [],
        upstream: {},
        deadlineAt: new Date(Date.now() + 60_000).toISOString(),
      };
      const valid = createEnvelope({
        id: command.commandId,
        type: 'agent.command',
        taskId,
        workflowId: command.workflowId,
        agentType: 'ANALYSIS',
        payload: command,
      });
      handled.push(valid);
      await sendRaw(topic, [...bad.map((b) => b.value), JSON.stringify(valid)]);
      await waitFor('the valid command run', () => commands.find((c) => c.commandId === command.commandId));
      await expectDeadLetters(topic, bad);
    },
  );

  it('a running agentTask takes bad signals and queries in its stride, and completes afterwards', async () => {
    // A PREDICTION agent that is registered and alive but never answers: the answer is this test's to send.
    await registerAgent(prisma, { id: idleAgentId, name: 'idle', type: 'PREDICTION', transport: 'KAFKA' });
    await recordHeartbeat(prisma, idleAgentId);
    const requestId = testId('dlq_signals');
    requestIds.push(requestId);
    const workflowId = workflowIdFor(requestId);
    const handle = await temporal.workflow.start('agentTask', {
      taskQueue: testEnv.TEMPORAL_TASK_QUEUE,
      workflowId,
      args: [{ requestId, query: 'wait for my answer', agentType: 'PREDICTION', agentTimeoutMs: 120_000 }],
    });
    await waitFor(
      'the command sent',
      async () => (await handle.query<TaskProgress>(progressQuery)).steps[0]?.status === 'RUNNING',
      60_000,
    );
    const commandId = commandIdFor(taskIdFor(requestId), 'main');
    const answer = {
      commandId,
      workflowId,
      stepKey: 'main',
      agentId: idleAgentId,
      status: 'SUCCESS',
      result: { ok: 1 },
    };
    const badAnswers: unknown[] = [
      null,
      'SUCCESS',
      42,
      [answer],
      {},
      { ...answer, commandId: 'not-a-uuid' },
      { ...answer, status: 'MAYBE' },
      { ...answer, result: [1, 2, 3] },
      { ...answer, agentId: '' },
      { ...answer, durationMs: -1 },
      { ...answer, error: 'nul\u0000inside' },
      { ...answer, result: { text: 'lone \ud800 surrogate' } },
      { ...answer, result: { huge: 'x'.repeat(200_000) }, status: 'FAILED', error: 17 },
    ];
    for (const bad of badAnswers) await handle.signal(agentResponseSignal, bad);
    for (const bad of [null, 'great', { feedbackType: 'NOPE' }, { content: 'x'.repeat(100_000) }]) {
      await handle.signal(feedbackSignal, bad);
    }
    await handle.signal('noSuchSignal', { anything: true });
    // Payloads no converter can read: JSON that is not JSON, an encoding nobody knows.
    for (const payload of [
      { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{not json') },
      { metadata: { encoding: Buffer.from('binary/unknown') }, data: randomBytes(64) },
    ]) {
      await temporal.workflowService.signalWorkflowExecution({
        namespace: env.TEMPORAL_NAMESPACE,
        workflowExecution: { workflowId },
        signalName: agentResponseSignal,
        input: { payloads: [payload] },
        identity: 'dead-letters test',
      });
    }
    await expect(handle.query('noSuchQuery')).rejects.toThrow();
    const progress = await handle.query<TaskProgress, unknown[]>(progressQuery, 'unexpected', {
      args: [1, 2],
    });
    expect(progress).toMatchObject({
      status: 'ACTIVE',
      steps: [{ key: 'main', status: 'RUNNING' }],
      feedback: 4,
    });

    await handle.signal(agentResponseSignal, answer);
    const outcome = (await handle.result()) as TaskOutcome;
    expect(outcome).toMatchObject({
      status: 'COMPLETED',
      results: { main: { agentId: idleAgentId, result: { ok: 1 } } },
    });
    const record = await prisma.task.findUniqueOrThrow({ where: { requestId } });
    expect(record.status).toBe('COMPLETED');
  }, 120_000);
});
