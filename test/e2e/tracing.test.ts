// One task, one trace (docs/monitoring.md#traces): a task posted to the real API, run by the real worker and
// the reference MONITORING agent on Kafka, is found in the stack's Jaeger as one trace with spans of every
// component — the API request, the workflow start and run, its activities, the Kafka command published and
// consumed, the agent's work and its store calls, the answer published, consumed by the bridge and handed to
// the run (to its waiting dispatch, or signalled: the spans say which the run's history says) — each span's
// parent in the same trace. The task view names the trace.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { runKafkaAgent } from '../../src/agents/kafka-transport.ts';
import { silentLogger } from '../../src/agents/logger.ts';
import { monitoringAgent } from '../../src/agents/reference/monitoring.ts';
import type { RunningAgent } from '../../src/agents/types.ts';
import { startApi, type RunningApi } from '../../src/api/server.ts';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { liveTask, waitForTask } from '../../src/task/client.ts';
import { sensorReading } from '../../src/stores/influx/points.ts';
import { createInfluxWriter } from '../../src/stores/influx/writer.ts';
import { createApiKey, provisionAccessControl } from '../../src/stores/postgres/auth.ts';
import { commandTopicsOf, Topic } from '../../src/stores/kafka/topics.ts';
import type { RunningWorker } from '../../src/worker/index.ts';
import { env, testId } from '../helpers.ts';
import { startTestWorker, waitFor } from './support.ts';

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  processID: string;
  tags: { key: string; value: unknown }[];
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

const jaegerUrl = `http://127.0.0.1:${env.JAEGER_PORT}`;

async function jaegerTrace(traceId: string): Promise<JaegerTrace | null> {
  const res = await fetch(`${jaegerUrl}/api/traces/${traceId}`);
  if (res.status === 404) return null;
  expect(res.status).toBe(200);
  const body = (await res.json()) as { data: JaegerTrace[] };
  return body.data[0] ?? null;
}

describe('tracing: one task is one trace in Jaeger', () => {
  const prisma = createPrisma(env);
  const machine = testId('trace-cnc').replaceAll('_', '-');
  const agentId = `e2e-trace-monitoring-${randomUUID().slice(0, 8)}`;
  const requestId = testId('e2e-trace');
  let worker: RunningWorker;
  let agent: RunningAgent;
  let api: RunningApi;
  let temporal: Client;
  let apiKey: string;
  let userId: string;

  beforeAll(async () => {
    expect(env.PRISM_TRACING).toBe('on');
    const writer = createInfluxWriter(env);
    const now = Date.now();
    for (let i = 0; i < 10; i++) {
      writer.write(
        sensorReading({
          line: 'line-trace',
          machine,
          sensorType: 'spindle_temperature_c',
          value: 60 + (i % 2),
          quality: 'GOOD',
          time: now - (10 - i) * 60_000,
        }),
      );
    }
    await writer.close();
    await provisionAccessControl(prisma);
    const operator = await prisma.role.findUniqueOrThrow({ where: { name: 'operator' } });
    const user = await prisma.user.create({
      data: { username: testId('trace-user'), roles: { create: { roleId: operator.id } } },
    });
    userId = user.id;
    apiKey = (await createApiKey(prisma, { userId, name: 'e2e tracing' })).key;
    [worker, temporal] = await Promise.all([startTestWorker(), connectTemporal(env)]);
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
    await temporal?.connection.close();
    await prisma.task.deleteMany({ where: { requestId } });
    await prisma.agent.deleteMany({ where: { id: agentId } });
    await prisma.user.deleteMany({ where: { id: userId } });
    await prisma.$disconnect();
  }, 60_000);

  it('finds the spans of the API, the workflow, its activities, Kafka, the agent and its stores in one trace', async () => {
    const res = await fetch(`${api.url}/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        requestId,
        query: `Check the spindle temperature of ${machine}`,
        agentType: 'MONITORING',
        parameters: { machine, sensorType: 'spindle_temperature_c', since: '-30m' },
      }),
    });
    expect(res.status).toBe(202);
    const { workflowId } = (await res.json()) as { workflowId: string };
    await waitFor('the workflow to start', async () => (await liveTask(temporal, workflowId)) !== null);
    const outcome = await waitForTask(temporal, workflowId);
    expect(outcome.status).toBe('COMPLETED');

    // The task view names its trace (recorded in the run's memo when the API started it).
    const view = (await (
      await fetch(`${api.url}/tasks/${workflowId}`, { headers: { authorization: `Bearer ${apiKey}` } })
    ).json()) as { traceId: string | null; traceUrl: string | null };
    expect(view.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(view.traceUrl).toBe(`${env.JAEGER_URL}/trace/${view.traceId}`);

    // The answer came with the dispatch (one workflow task) or as a signal (docs/workflows.md, "A quick
    // answer with its dispatch"): the signal's spans are there exactly when the history has the signal.
    const history = await temporal.workflow.getHandle(workflowId).fetchHistory();
    const signalled = history.events!.some((e) => e.workflowExecutionSignaledEventAttributes);
    const signalSpans = ['SignalWorkflow:agentResponse', 'HandleSignal:agentResponse'];
    // Spans leave each process in batches within a second or so; the answer's last spans come last. The
    // command went on the type's own topic or the shared one (docs/kafka.md): its spans name that topic.
    const expectedWith = (commands: string) => [
      'POST /tasks',
      'StartWorkflow:agentTask',
      'RunWorkflow:agentTask',
      `publish ${commands}`,
      `process ${env.KAFKA_TOPIC_PREFIX}${commands}`,
      'agent MONITORING main',
      'redis agent state',
      `publish ${Topic.OrchestrationResponses}`,
      `process ${env.KAFKA_TOPIC_PREFIX}${Topic.OrchestrationResponses}`,
      ...(signalled ? signalSpans : []),
    ];
    let commands = '';
    const trace = await waitFor(
      'the task’s spans in Jaeger',
      async () => {
        const found = await jaegerTrace(view.traceId!);
        const names = new Set(found?.spans.map((s) => s.operationName));
        commands = commandTopicsOf('MONITORING').find((t) => names.has(`publish ${t}`)) ?? '';
        return found && commands && expectedWith(commands).every((name) => names.has(name)) ? found : null;
      },
      30_000,
    );
    const names = trace.spans.map((s) => s.operationName);
    expect(signalSpans.filter((n) => names.includes(n))).toEqual(signalled ? signalSpans : []);
    // The activities the workflow ran, scheduled from the workflow and run by the worker.
    expect(names.filter((n) => n.startsWith('StartActivity:')).length).toBeGreaterThan(0);
    expect(names.filter((n) => n.startsWith('RunActivity:')).length).toBeGreaterThan(0);
    // The agent's store calls: its query of the readings in InfluxDB.
    expect(names.some((n) => n.startsWith('influxdb '))).toBe(true);

    // Every component is a service of its own.
    const services = new Set(Object.values(trace.processes).map((p) => p.serviceName));
    expect([...services].sort()).toEqual(
      expect.arrayContaining(['prism-agent-monitoring', 'prism-api', 'prism-worker']),
    );
    const serviceOf = (name: string) =>
      trace.processes[trace.spans.find((s) => s.operationName === name)!.processID]!.serviceName;
    expect(serviceOf('POST /tasks')).toBe('prism-api');
    expect(serviceOf('RunWorkflow:agentTask')).toBe('prism-worker');
    expect(serviceOf('agent MONITORING main')).toBe('prism-agent-monitoring');
    expect(serviceOf(`process ${env.KAFKA_TOPIC_PREFIX}${Topic.OrchestrationResponses}`)).toBe(
      'prism-worker',
    );

    // One tree: the API request is its root, and every other span's parent is in the trace.
    const ids = new Set(trace.spans.map((s) => s.spanID));
    const roots = trace.spans.filter((s) => !s.references.some((r) => r.refType === 'CHILD_OF'));
    expect(roots.map((s) => s.operationName)).toEqual(['POST /tasks']);
    for (const span of trace.spans)
      for (const ref of span.references.filter((r) => r.refType === 'CHILD_OF'))
        expect(ids.has(ref.spanID), `${span.operationName}'s parent`).toBe(true);

    // The chain from the agent's work up to the request passes through the command it consumed.
    const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
    const ancestors = (span: JaegerSpan): string[] => {
      const parent = span.references.find((r) => r.refType === 'CHILD_OF');
      const up = parent ? byId.get(parent.spanID) : undefined;
      return up ? [up.operationName, ...ancestors(up)] : [];
    };
    const agentSpan = trace.spans.find((s) => s.operationName === 'agent MONITORING main')!;
    expect(ancestors(agentSpan)).toEqual(
      expect.arrayContaining([
        `process ${env.KAFKA_TOPIC_PREFIX}${commands}`,
        `publish ${commands}`,
        'RunWorkflow:agentTask',
        'StartWorkflow:agentTask',
        'POST /tasks',
      ]),
    );
  }, 180_000);
});
