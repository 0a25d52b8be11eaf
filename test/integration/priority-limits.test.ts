// Priority, the per-type limit and fairness through the whole flow, against the real services: agentTask
// runs on a worker of this test's own with PRISM_AGENT_LIMITS=PREDICTION=2, commanding a real Kafka agent
// that counts the commands it has in hand at once. (a) HIGH tasks submitted behind a backlog of LOW ones are
// done before most of them; (b) the agent never has more than 2 commands at once, and every task completes;
// (c) user B's 2 tasks, submitted after user A's 20, are done before most of A's.
// Kafka topics, consumer groups, the task queue and the agent are this test's own (as in dead-letters.test.ts).
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKafkaAgent } from '../../src/agents/kafka-transport.ts';
import { silentLogger } from '../../src/agents/logger.ts';
import type { RunningAgent } from '../../src/agents/types.ts';
import { createKafka } from '../../src/clients/kafka.ts';
import { createRedis } from '../../src/clients/redis.ts';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { createMetrics } from '../../src/metrics.ts';
import { silentProgress } from '../../src/progress.ts';
import type { RunningConsumer } from '../../src/stores/kafka/consumer.ts';
import { createPublisher } from '../../src/stores/kafka/producer.ts';
import { provisionKafka } from '../../src/stores/kafka/provision.ts';
import { allTopicSpecs, commandTopicsOf, Topic } from '../../src/stores/kafka/topics.ts';
import { admissionKeys, createAdmissionStore } from '../../src/stores/redis/admission.ts';
import { startTask, waitForTask } from '../../src/task/client.ts';
import {
  commandIdFor,
  taskIdFor,
  workflowIdFor,
  type Priority,
  type TaskOutcome,
} from '../../src/task/index.ts';
import { runBridge } from '../../src/worker/bridge.ts';
import { startWorker, type RunningWorker } from '../../src/worker/index.ts';
import { env, testId, waitFor } from '../helpers.ts';
import { deleteTestTopics } from './kafka/support.ts';

const id = testId('prio');
const limit = 2;
const testEnv = {
  ...env,
  KAFKA_TOPIC_PREFIX: `${env.KAFKA_TOPIC_PREFIX}${id}.`,
  TEMPORAL_TASK_QUEUE: id,
  TEMPORAL_MAINTENANCE_TASK_QUEUE: `${id}-maintenance`,
  PRISM_AGENT_LIMITS: `PREDICTION=${limit}`,
};

describe('priority, limits and fairness through the flow', () => {
  const kafka = createKafka(testEnv);
  const admin = kafka.admin();
  const publisher = createPublisher(kafka);
  const redis = createRedis(env);
  const prisma = createPrisma(env);
  const admission = createAdmissionStore(redis);
  // Three agents in one group, one partition of the commands topic each: up to 3 commands at once, so only
  // the limit holds them to 2.
  const agentIds = [1, 2, 3].map((n) => `${id.replaceAll('_', '-')}-prediction-${n}`);
  const requestIds: string[] = [];
  // What the agent saw: the task of each command in the order it started, and how many it held at once.
  const started: string[] = [];
  let inHand = 0;
  let mostInHand = 0;
  // The agents hold every command they are given until the gate opens (a backlog builds up meanwhile).
  let gate: Promise<void> = Promise.resolve();
  let open = () => {};
  const closeGate = () => {
    gate = new Promise((resolve) => (open = resolve));
  };
  let temporal: Client;
  let bridge: RunningConsumer;
  const agents: RunningAgent[] = [];
  let worker: RunningWorker;

  /** Starts a PREDICTION task; resolves to its request id once started. */
  const submit = async (priority: Priority, userId: string, workMs: number) => {
    const requestId = testId('prio-task');
    requestIds.push(requestId);
    await startTask(temporal, testEnv, {
      requestId,
      query: 'Forecast the spindle wear',
      agentType: 'PREDICTION',
      priority,
      userId,
      parameters: { workMs },
    });
    return requestId;
  };
  const taskOf = (requestId: string) => workflowIdFor(requestId);
  const commandOf = (requestId: string) => commandIdFor(taskIdFor(requestId), 'main');
  /** The commands of this type holding a slot or waiting for one, as the limiter sees them. */
  const inLine = async () => {
    const { holders, waiting } = await admission.state('PREDICTION');
    return holders.length + waiting.length;
  };
  const finish = (requestIds: string[]) =>
    Promise.all(requestIds.map((r) => waitForTask(temporal, taskOf(r)))) as Promise<TaskOutcome[]>;
  /** The order in which the agent took the tasks' commands, as request ids. */
  const agentOrder = async (requestIds: string[]) => {
    const byTask = new Map<string, string>();
    for (const r of requestIds) {
      const task = await prisma.task.findFirstOrThrow({ where: { requestId: r }, select: { id: true } });
      byTask.set(task.id, r);
    }
    return started.filter((t) => byTask.has(t)).map((t) => byTask.get(t)!);
  };

  beforeAll(async () => {
    const keys = admissionKeys('PREDICTION');
    await redis.del(keys.holders, keys.waiting, keys.meta, keys.turns);
    const written: string[] = [
      ...commandTopicsOf('PREDICTION'),
      Topic.OrchestrationResponses,
      Topic.SystemLogs,
      Topic.ConstraintsViolations,
    ];
    await provisionKafka(testEnv, silentProgress, {
      kafka,
      topics: allTopicSpecs.filter((s) => written.some((t) => s.name === t || s.name === `${t}.dlq`)),
    });
    await Promise.all([admin.connect(), publisher.connect()]);
    temporal = await connectTemporal(env);
    bridge = await runBridge({
      kafka,
      redis,
      temporal,
      dlqProducer: publisher.producer,
      metrics: createMetrics('worker'),
      groupId: testId('priobridge'),
    });
    const groupId = testId('prioagents');
    for (const agentId of agentIds) {
      agents.push(
        await runKafkaAgent({
          type: 'PREDICTION',
          env: testEnv,
          agentId,
          groupId,
          redisPrefix: `prism:${id}`,
          heartbeatIntervalMs: 500,
          log: silentLogger,
          handler: async (command) => {
            await gate;
            started.push(command.taskId);
            inHand++;
            mostInHand = Math.max(mostInHand, inHand);
            try {
              await sleep(Number(command.parameters.workMs ?? 200));
            } finally {
              inHand--;
            }
            return { forecast: 'fine' };
          },
        }),
      );
    }
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
        .getHandle(taskOf(requestId))
        .terminate('test cleanup')
        .catch(() => undefined);
    }
    await Promise.allSettled(agents.map((a) => a.stop()));
    await bridge?.stop();
    await worker?.stop();
    await prisma.task.deleteMany({ where: { requestId: { in: requestIds } } });
    await prisma.agent.deleteMany({ where: { id: { in: agentIds } } });
    const keys = admissionKeys('PREDICTION');
    const agentKeys = await redis.keys(`prism:${id}:*`);
    await redis.del(keys.holders, keys.waiting, keys.meta, keys.turns, ...agentKeys);
    await deleteTestTopics(admin, `${id}.`).catch(() => undefined);
    await Promise.allSettled([admin.disconnect(), publisher.disconnect(), temporal?.connection.close()]);
    await Promise.all([prisma.$disconnect(), redis.quit()]);
  }, 120_000);

  it('(a) takes HIGH tasks before the LOW ones waiting ahead of them', async () => {
    const user = randomUUID();
    closeGate();
    const low: string[] = [];
    for (let i = 0; i < 8; i++) low.push(await submit('LOW', user, 300));
    // Every LOW command holds a slot (2, in the agents' hands) or waits in line (6) before the HIGH come.
    await waitFor('8 LOW commands at the limiter', async () => (await inLine()) === 8, 60_000);
    const high: string[] = [];
    for (let i = 0; i < 3; i++) high.push(await submit('HIGH', user, 300));
    await waitFor('the HIGH commands in line too', async () => (await inLine()) === 11, 60_000);
    expect((await admission.state('PREDICTION')).waiting.slice(0, 3).sort()).toEqual(
      (await Promise.all(high.map(commandOf))).sort(),
    );
    open();
    const outcomes = await finish([...low, ...high]);
    expect(outcomes.map((o) => o.status)).toEqual(Array(11).fill('COMPLETED'));
    const order = await agentOrder([...low, ...high]);
    expect(order).toHaveLength(11);
    // Two LOW held the slots when the HIGH arrived; the six LOW waiting in line were granted a slot after
    // every HIGH. Slots are granted one at a time as answers free them, two at a time in flight: the first two
    // HIGH when the two LOW end, then the last HIGH and the first waiting LOW as those two end — granted in
    // that order, but two commands in flight at once may reach their agents (three consumers, several
    // partitions) in either order. So: the holders first, then the first two HIGH, then the last HIGH and
    // one LOW in either order, then the other five LOW.
    const held = order.slice(0, 2);
    expect(held.every((r) => low.includes(r))).toBe(true);
    expect(order.slice(2, 4).every((r) => high.includes(r))).toBe(true);
    const thirdRound = order.slice(4, 6);
    expect(thirdRound.filter((r) => high.includes(r))).toHaveLength(1);
    expect(order.slice(6).every((r) => low.includes(r))).toBe(true);
  }, 240_000);

  it('(c) serves user B’s 2 tasks, submitted after user A’s 20, before most of A’s', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    closeGate();
    const fromA: string[] = [];
    for (let i = 0; i < 20; i++) fromA.push(await submit('NORMAL', a, 150));
    await waitFor('user A’s 20 commands at the limiter', async () => (await inLine()) === 20, 60_000);
    const fromB = [await submit('NORMAL', b, 150), await submit('NORMAL', b, 150)];
    await waitFor('user B’s commands in line too', async () => (await inLine()) === 22, 60_000);
    open();
    const outcomes = await finish([...fromA, ...fromB]);
    expect(outcomes.every((o) => o.status === 'COMPLETED')).toBe(true);
    const order = await agentOrder([...fromA, ...fromB]);
    expect(order).toHaveLength(22);
    const lastB = Math.max(...fromB.map((r) => order.indexOf(r)));
    // B's first takes the turn after A's next (A's two in hand, A's third, B, A, B, ...): 16 of A's after.
    expect(fromA.filter((r) => order.indexOf(r) > lastB).length).toBeGreaterThanOrEqual(15);
  }, 240_000);

  it('(b) never gave the agent more than the limit at once, and every task completed', async () => {
    expect(started.length).toBeGreaterThanOrEqual(33);
    expect(mostInHand).toBe(limit);
    // Nothing is left holding a slot or waiting.
    expect(await admission.state('PREDICTION')).toEqual({ holders: [], waiting: [] });
    const tasks = await prisma.task.findMany({ where: { requestId: { in: requestIds } } });
    expect(tasks).toHaveLength(requestIds.length);
    expect(tasks.every((t) => t.status === 'COMPLETED')).toBe(true);
  });
});
