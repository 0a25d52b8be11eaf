// The sensor-rule scan (the `sensor-rule-scan` Temporal Schedule's workflow): a sensor rule kept in
// PostgreSQL, readings in InfluxDB that break it → a violation row, a `constraints.violations` message, an
// alert in the Redis alert queue, and a MONITORING task opened for it (the rule is CRITICAL); readings back
// in line → the alert resolves. Triggered here directly (the schedule is paused in the tests' deployment), on
// the maintenance worker's queue; the task it opens runs on the task worker's.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { sensorRuleFingerprint } from '../../activities/sensor-rules.ts';
import { runKafkaAgent } from '../../src/agents/kafka-transport.ts';
import { silentLogger } from '../../src/agents/logger.ts';
import { monitoringAgent } from '../../src/agents/reference/monitoring.ts';
import type { RunningAgent } from '../../src/agents/types.ts';
import { createAlertStore } from '../../src/alerts/store.ts';
import { createKafka } from '../../src/clients/kafka.ts';
import { createRedis } from '../../src/clients/redis.ts';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { sensorReading } from '../../src/stores/influx/points.ts';
import { createInfluxWriter } from '../../src/stores/influx/writer.ts';
import { Topic } from '../../src/stores/kafka/topics.ts';
import { keys } from '../../src/stores/redis/keys.ts';
import { waitForTask } from '../../src/task/client.ts';
import { uuidFrom } from '../../src/task/ids.ts';
import type { RunningWorker } from '../../src/worker/index.ts';
import { startTestMaintenanceWorker, startTestWorker } from '../e2e/support.ts';
import { env, testId, waitFor } from '../helpers.ts';
import { tailTopic, type TopicTail } from './agents/support.ts';

describe('the sensor-rule scan', () => {
  const prisma = createPrisma(env);
  const redis = createRedis(env);
  const machine = testId('mill').replaceAll('_', '-');
  const sensorType = 'spindle_temperature_c';
  const agentId = `scan-monitoring-${randomUUID().slice(0, 8)}`;
  let constraintId: string;
  let worker: RunningWorker;
  let maintenance: RunningWorker;
  let agent: RunningAgent;
  let temporal: Client;
  let violations: TopicTail;
  const now = Math.floor(Date.now() / 60_000) * 60_000;
  const scanAt = (offsetMs: number) => new Date(now + offsetMs).toISOString();

  beforeAll(async () => {
    const constraint = await prisma.constraint.create({
      data: {
        name: testId('rule'),
        constraintType: 'SAFETY',
        agentType: 'MONITORING',
        rule: { sensorType, operator: '<=', value: 85, windowSeconds: 60, machine },
        severity: 'CRITICAL',
      },
    });
    constraintId = constraint.id;
    // A minute of readings before the first scan, one of them far too hot; the next minute all in line.
    const writer = createInfluxWriter(env);
    for (let s = 5; s <= 55; s += 10) {
      writer.write(
        sensorReading({
          line: 'line-scan',
          machine,
          sensorType,
          value: s === 35 ? 97.5 : 71,
          quality: 'GOOD',
          time: now - 60_000 + s * 1000,
        }),
      );
      writer.write(
        sensorReading({
          line: 'line-scan',
          machine,
          sensorType,
          value: 72,
          quality: 'GOOD',
          time: now + s * 1000,
        }),
      );
    }
    await writer.close();
    [worker, maintenance, temporal, violations] = await Promise.all([
      startTestWorker(),
      startTestMaintenanceWorker(),
      connectTemporal(env),
      tailTopic(createKafka(env), Topic.ConstraintsViolations),
    ]);
    agent = await runKafkaAgent({ ...monitoringAgent, env, agentId, log: silentLogger });
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await Promise.all([worker?.stop(), maintenance?.stop()]);
    await violations?.stop();
    await temporal?.connection.close();
    const fp = sensorRuleFingerprint(constraintId, machine);
    await redis.del(keys.memory('alerts', fp));
    await redis.srem(keys.memoryIndex('alerts'), fp);
    redis.disconnect();
    await prisma.task.deleteMany({
      where: {
        requestId: { startsWith: 'sensor-violation-' },
        queries: { some: { queryText: { contains: machine } } },
      },
    });
    await prisma.constraint.deleteMany({ where: { id: constraintId } }); // its violations go with it (SET NULL) …
    await prisma.constraintViolation.deleteMany({ where: { name: { startsWith: 'test_rule_' } } });
    await prisma.agent.deleteMany({ where: { id: agentId } });
    await prisma.$disconnect();
  });

  const scan = (windowEnd: string) =>
    temporal.workflow.execute('sensorRuleScan', {
      taskQueue: env.TEMPORAL_MAINTENANCE_TASK_QUEUE,
      workflowId: `sensor-rule-scan-test-${randomUUID()}`,
      args: [{ windowEnd }],
    }) as Promise<{ violations: number; resolved: number; tasks: string[] }>;

  it('records a violation, announces it, raises the alert and opens a MONITORING task; a rerun adds nothing', async () => {
    const windowEnd = scanAt(0);
    const result = await scan(windowEnd);
    expect(result.violations).toBeGreaterThanOrEqual(1);
    const expectedId = uuidFrom(`sensor-violation:${constraintId}:${machine}:${windowEnd}`);
    const row = await prisma.constraintViolation.findUniqueOrThrow({ where: { id: expectedId } });
    expect(row).toMatchObject({
      constraintId,
      severity: 'CRITICAL',
      actualValue: '97.5',
      expectedValue: `${sensorType} <= 85`,
    });
    const message = await violations.byId(expectedId);
    expect(message).toMatchObject({
      type: 'constraint.violation',
      payload: { machine, actual: 97.5, openTask: true },
    });

    const fp = sensorRuleFingerprint(constraintId, machine);
    const alerts = createAlertStore(redis);
    await waitFor('the alert', async () => (await alerts.get(fp))?.status === 'FIRING');
    expect(await alerts.get(fp)).toMatchObject({
      name: 'SensorRuleViolated',
      severity: 'CRITICAL',
      source: 'sensor-rules',
      labels: { machine },
    });

    const taskWorkflowId = `task-sensor-violation-${expectedId}`;
    expect(result.tasks).toContain(taskWorkflowId);
    const outcome = await waitForTask(temporal, taskWorkflowId);
    // Opened by a scan on the maintenance queue, run on the task worker's.
    const task = await temporal.workflow.getHandle(taskWorkflowId).describe();
    expect(task.taskQueue).toBe(env.TEMPORAL_TASK_QUEUE);
    expect(outcome).toMatchObject({ status: 'COMPLETED', results: { main: { agentId } } });

    const again = await scan(windowEnd); // the same window again: the same ids, nothing new
    expect(again.tasks).toEqual(result.tasks);
    expect(await prisma.constraintViolation.count({ where: { id: expectedId } })).toBe(1);
    await new Promise((r) => setTimeout(r, 1_000)); // visibility follows the runs
    const { executions } = await temporal.workflowService.listWorkflowExecutions({
      namespace: env.TEMPORAL_NAMESPACE,
      query: `WorkflowId = "${taskWorkflowId}"`,
    });
    expect(executions).toHaveLength(1); // one task for the violation, however often the window is scanned
  });

  it('resolves the alert once the readings keep to the rule again', async () => {
    const result = await scan(scanAt(60_000));
    expect(result).toMatchObject({ violations: 0, resolved: 1 });
    const fp = sensorRuleFingerprint(constraintId, machine);
    await waitFor(
      'the resolution',
      async () => (await createAlertStore(redis).get(fp))?.status === 'RESOLVED',
    );
  });
});
