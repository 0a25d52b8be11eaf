// The whole flow, through every entry point (Kafka user.queries, HTTP API, SDK, CLI), with the real worker,
// the reference MONITORING agent on Kafka, the real API, and every effect asserted in every store.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { runKafkaAgent } from '../../src/agents/kafka-transport.ts';
import { silentLogger } from '../../src/agents/logger.ts';
import { monitoringAgent } from '../../src/agents/reference/monitoring.ts';
import type { RunningAgent } from '../../src/agents/types.ts';
import { startApi, type RunningApi } from '../../src/api/server.ts';
import { createKafka } from '../../src/clients/kafka.ts';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import type { TaskOutcome } from '../../src/task/index.ts';
import { parseTaskRef, taskIdFor } from '../../src/task/ids.ts';
import { liveTask, waitForTask } from '../../src/task/client.ts';
import { PrismClient } from '../../src/sdk/client.ts';
import { sensorReading } from '../../src/stores/influx/points.ts';
import { createInfluxWriter } from '../../src/stores/influx/writer.ts';
import { createEnvelope } from '../../src/stores/kafka/envelope.ts';
import { createPublisher } from '../../src/stores/kafka/producer.ts';
import { commandTopicsOf, Topic } from '../../src/stores/kafka/topics.ts';
import { createApiKey, provisionAccessControl } from '../../src/stores/postgres/auth.ts';
import type { RunningWorker } from '../../src/worker/index.ts';
import { env, testId } from '../helpers.ts';
import { expectTaskEffects, recordTopics } from './effects.ts';
import { startTestWorker, waitFor } from './support.ts';

const run = promisify(execFile);

describe('agent task flow, end to end', () => {
  const prisma = createPrisma(env);
  const kafka = createKafka(env);
  const publisher = createPublisher(kafka);
  const machine = testId('cnc').replaceAll('_', '-');
  const agentId = `e2e-monitoring-${randomUUID().slice(0, 8)}`;
  const parameters = { machine, sensorType: 'spindle_temperature_c', since: '-30m' };
  const requestIds: string[] = [];
  let worker: RunningWorker;
  let agent: RunningAgent;
  let api: RunningApi;
  let temporal: Client;
  let recorder: Awaited<ReturnType<typeof recordTopics>>;
  let apiKey: string;
  let userId: string;

  const newRequestId = (entry: string) => {
    const id = testId(`e2e-${entry}`);
    requestIds.push(id);
    return id;
  };
  const deps = () => ({ prisma, temporal, recorded: recorder.messages });

  beforeAll(async () => {
    // An hour of readings for a machine of this test only, one of them far out of line.
    const writer = createInfluxWriter(env);
    const now = Date.now();
    for (let i = 0; i < 20; i++) {
      writer.write(
        sensorReading({
          line: 'line-e2e',
          machine,
          sensorType: 'spindle_temperature_c',
          value: i === 17 ? 97.5 : 62 + (i % 3) * 0.4,
          quality: 'GOOD',
          time: now - (20 - i) * 60_000,
        }),
      );
    }
    await writer.close();
    await provisionAccessControl(prisma);
    const operator = await prisma.role.findUniqueOrThrow({ where: { name: 'operator' } });
    const user = await prisma.user.create({
      data: { username: testId('e2e-user'), roles: { create: { roleId: operator.id } } },
    });
    userId = user.id;
    apiKey = (await createApiKey(prisma, { userId, name: 'e2e' })).key;
    await publisher.connect();
    [worker, temporal, recorder] = await Promise.all([
      startTestWorker(),
      connectTemporal(env),
      recordTopics(kafka, [
        ...commandTopicsOf('MONITORING'),
        Topic.OrchestrationResponses,
        Topic.SystemLogs,
        `${Topic.UserQueries}.dlq`,
      ]),
    ]);
    agent = await runKafkaAgent({
      ...monitoringAgent,
      env,
      agentId,
      log: silentLogger,
      heartbeatIntervalMs: 2_000,
    });
    api = await startApi(env, { port: 0, logger: false });
  }, 180_000);

  afterAll(async () => {
    await api?.stop();
    await agent?.stop();
    await worker?.stop();
    await recorder?.stop();
    await publisher.disconnect();
    await temporal?.connection.close();
    await prisma.task.deleteMany({ where: { requestId: { in: requestIds } } });
    await prisma.agent.deleteMany({ where: { id: agentId } });
    await prisma.user.deleteMany({ where: { id: userId } });
    await prisma.$disconnect();
  }, 60_000);

  const request = (entry: string) => ({
    requestId: newRequestId(entry),
    query: `Check the spindle temperature of ${machine}`,
    agentType: 'MONITORING' as const,
    priority: 'HIGH' as const,
    parameters,
  });

  async function expectMonitoringResult(outcome: TaskOutcome) {
    expect(outcome.status).toBe('COMPLETED');
    const result = outcome.results.main!.result as {
      machine: string;
      readings: number;
      anomalies: { value: number }[];
    };
    expect(result.machine).toBe(machine);
    expect(result.readings).toBe(20);
    expect(result.anomalies.map((a) => a.value)).toEqual([97.5]);
  }

  it('runs a request that arrives on Kafka user.queries', async () => {
    const req = request('kafka');
    await publisher.publish(Topic.UserQueries, createEnvelope({ type: 'user.query', payload: req }));
    const workflowId = `task-${req.requestId}`;
    await waitFor(
      'the workflow to start',
      async () => (await liveTask(temporal, parseTaskRef(workflowId).workflowId)) !== null,
    );
    const outcome = await waitForTask(temporal, workflowId);
    await expectMonitoringResult(outcome);
    await expectTaskEffects(deps(), {
      taskId: taskIdFor(req.requestId),
      workflowId,
      agentType: 'MONITORING',
      priority: 'HIGH',
    });
  });

  it('starts one run however often the same request arrives', async () => {
    const req = request('twice');
    await publisher.publish(Topic.UserQueries, [
      createEnvelope({ type: 'user.query', payload: req }),
      createEnvelope({ type: 'user.query', payload: req }),
    ]);
    const outcome = await waitFor('the task', async () => {
      const view = await liveTask(temporal, parseTaskRef(req.requestId).workflowId);
      return view?.outcome ?? null;
    });
    expect(outcome.status).toBe('COMPLETED');
    const { executions } = await temporal.workflowService.listWorkflowExecutions({
      namespace: env.TEMPORAL_NAMESPACE,
      query: `WorkflowId = "task-${req.requestId}"`,
    });
    expect(executions.length).toBeLessThanOrEqual(1);
    expect(await prisma.task.count({ where: { requestId: req.requestId } })).toBe(1);
  });

  it('runs a request posted to the HTTP API', async () => {
    const req = request('http');
    const res = await fetch(`${api.url}/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(req),
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { taskId: string; workflowId: string };
    expect(body.taskId).toBe(taskIdFor(req.requestId));
    await waitFor(
      'the workflow to start',
      async () => (await liveTask(temporal, parseTaskRef(body.workflowId).workflowId)) !== null,
    );
    await expectMonitoringResult(await waitForTask(temporal, body.workflowId));
    await expectTaskEffects(deps(), {
      taskId: body.taskId,
      workflowId: body.workflowId,
      agentType: 'MONITORING',
      priority: 'HIGH',
    });
    // The API's /metrics shows the tasks that ended in the last minute over every worker (Redis).
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    const finished = /^prism_tasks_finished_last_minute\{status="COMPLETED"[^}]*\} (\d+)$/m.exec(metrics);
    expect(Number(finished?.[1])).toBeGreaterThanOrEqual(1);
  });

  it('runs a request submitted through the TypeScript SDK', async () => {
    const sdk = new PrismClient({ baseUrl: api.url, apiKey });
    const req = request('sdk');
    const submitted = await sdk.submitTask(req);
    const done = await sdk.waitForTask(submitted.taskId, { timeoutMs: 60_000, pollMs: 250 });
    expect(done.status).toBe('COMPLETED');
    await expectTaskEffects(deps(), {
      taskId: submitted.taskId,
      workflowId: submitted.workflowId,
      agentType: 'MONITORING',
      priority: 'HIGH',
    });
  });

  it('runs a request submitted with the CLI, printing the outcome as JSON', async () => {
    const requestId = newRequestId('cli');
    const { stdout } = await run(
      process.execPath,
      [
        'bin/prism.js',
        'task',
        'submit',
        '--type',
        'MONITORING',
        '--priority',
        'HIGH',
        '--query',
        'Check the spindle',
        '--request-id',
        requestId,
        '--param',
        `machine=${machine}`,
        '--param',
        'sensorType=spindle_temperature_c',
        '--param',
        'since=-30m',
        '--wait',
        '--json',
      ],
      { env: process.env },
    );
    const printed = JSON.parse(stdout) as TaskOutcome & { temporalUrl: string };
    expect(printed).toMatchObject({
      taskId: taskIdFor(requestId),
      workflowId: `task-${requestId}`,
      status: 'COMPLETED',
    });
    expect(printed.temporalUrl).toContain(`/workflows/task-${requestId}`);
    await expectMonitoringResult(printed);
    await expectTaskEffects(deps(), {
      taskId: printed.taskId,
      workflowId: printed.workflowId,
      agentType: 'MONITORING',
      priority: 'HIGH',
    });
  });

  it('dead-letters a malformed user.queries message with the reason and keeps consuming', async () => {
    const bad = createEnvelope({
      type: 'user.query',
      payload: { requestId: newRequestId('bad'), query: '' },
    });
    await publisher.publish(Topic.UserQueries, bad);
    const good = request('after-bad');
    await publisher.publish(Topic.UserQueries, createEnvelope({ type: 'user.query', payload: good }));
    const dead = await waitFor('the dead letter', async () =>
      recorder.raw.get(`${Topic.UserQueries}.dlq`)!.find((m) => m.value?.toString().includes(bad.id)),
    );
    expect(dead.headers?.['x-dlq-reason']?.toString()).toMatch(
      /invalid task request: payload\.query: must not be empty/,
    );
    const outcome = await waitFor(
      'the next request',
      async () => (await liveTask(temporal, parseTaskRef(good.requestId).workflowId))?.outcome ?? null,
    );
    expect(outcome.status).toBe('COMPLETED');
  });

  it('refuses an unknown agent type at the edge: a dead letter naming the field, no task', async () => {
    const requestId = newRequestId('unknown');
    const envelope = createEnvelope({
      type: 'user.query',
      payload: { requestId, query: 'weld the frame', agentType: 'WELDING' },
    });
    await publisher.publish(Topic.UserQueries, envelope);
    const dead = await waitFor('the dead letter', async () =>
      recorder.raw.get(`${Topic.UserQueries}.dlq`)!.find((m) => m.value?.toString().includes(envelope.id)),
    );
    expect(dead.headers?.['x-dlq-reason']?.toString()).toMatch(
      /invalid task request: payload\.agentType: expected one of "MONITORING"\|"PREDICTION"\|"CONTROL"\|"ANALYSIS"/,
    );
    expect(await liveTask(temporal, parseTaskRef(requestId).workflowId)).toBeNull();
    expect(await prisma.task.count({ where: { requestId } })).toBe(0);
  });
});
