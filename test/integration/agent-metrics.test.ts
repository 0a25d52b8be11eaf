// Every agent process is measured: `prism agent run --metrics-port` serves its commands, their durations
// and its dedupe hits by type; and the API measures what no single process sees — the agents alive by type,
// the consumer groups' lag and the topics' sizes of this deployment.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { agentConsumerGroup } from '../../src/agents/kafka-transport.ts';
import { createKafka, kafkaName } from '../../src/clients/kafka.ts';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { commandTopicsOf } from '../../src/stores/kafka/topics.ts';
import { startTask, waitForTask } from '../../src/task/client.ts';
import type { RunningWorker } from '../../src/worker/index.ts';
import { startTestWorker } from '../e2e/support.ts';
import { env, freePorts, testId, waitFor } from '../helpers.ts';
import { apiFixture, type ApiFixture } from './api/fixture.ts';

/** The value of the first sample of `name` whose labels include all of `labels`, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const line = text
    .split('\n')
    .find(
      (l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
    );
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('agent and deployment metrics', () => {
  const prisma = createPrisma(env);
  const agentId = `metrics-analysis-${randomUUID().slice(0, 8)}`;
  const requestIds = [testId('agm'), testId('agm')];
  let agent: ChildProcess;
  let port: number;
  let worker: RunningWorker;
  let temporal: Client;
  let api: ApiFixture;

  beforeAll(async () => {
    [port] = (await freePorts(1)) as [number];
    agent = spawn(
      process.execPath,
      ['bin/prism.js', 'agent', 'run', '--type', 'ANALYSIS', '--id', agentId, '--metrics-port', String(port)],
      { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    agent.stdout!.on('data', (d: Buffer) => void (output += d.toString()));
    [worker, temporal, api] = await Promise.all([startTestWorker(), connectTemporal(env), apiFixture()]);
    await waitFor('the agent to be ready', () => /ready/.test(output), 120_000);
  }, 180_000);

  afterAll(async () => {
    agent?.kill('SIGTERM');
    await new Promise((r) => agent?.once('exit', r));
    await worker?.stop();
    await api?.close();
    await temporal?.connection.close();
    await prisma.task.deleteMany({ where: { requestId: { in: requestIds } } });
    await prisma.agent.deleteMany({ where: { id: agentId } });
    await prisma.$disconnect();
  });

  it("counts the agent's commands and their duration on its own /metrics", async () => {
    for (const requestId of requestIds) {
      const { workflowId } = await startTask(temporal, env, {
        requestId,
        query: 'summarise',
        agentType: 'ANALYSIS',
      });
      expect((await waitForTask(temporal, workflowId)).status).toBe('COMPLETED');
    }
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const labels = { agent_type: 'ANALYSIS', outcome: 'SUCCESS' };
    expect(sample(text, 'prism_agent_commands_total', labels)).toBe(2);
    expect(sample(text, 'prism_agent_command_duration_seconds_count', labels)).toBe(2);
    expect(text).toMatch(/^# TYPE prism_agent_dedupe_hits_total counter$/m);
    expect(text).toContain('process_cpu_seconds_total');
  });

  it("shows the deployment's agents alive, its groups' lag and its topics' sizes on the API's /metrics", async () => {
    const kafka = createKafka(env);
    const text = await (await fetch(`${api.baseUrl}/metrics`)).text();
    expect(sample(text, 'prism_agents_alive', { agent_type: 'ANALYSIS' })).toBeGreaterThanOrEqual(1);
    // The ANALYSIS commands went on the type's own topic or the shared one (docs/kafka.md); the group reads both.
    const [typed, shared] = commandTopicsOf('ANALYSIS').map((t) => kafkaName(kafka, t));
    const messages = (topic: string) => sample(text, 'prism_kafka_topic_messages', { topic }) ?? 0;
    expect(messages(typed!) + messages(shared!)).toBeGreaterThan(0);
    const lag = (topic: string) =>
      sample(text, 'prism_kafka_consumer_group_lag', {
        group: kafkaName(kafka, agentConsumerGroup('ANALYSIS')),
        topic,
      });
    // A lag series for the group on the topic it consumed from (none for a topic it committed nothing on).
    expect(Math.max(lag(typed!) ?? -1, lag(shared!) ?? -1)).toBeGreaterThanOrEqual(0);
    // Only this deployment's: no topic of another prefix.
    const topics = [...text.matchAll(/^prism_kafka_topic_messages\{[^}]*topic="([^"]+)"/gm)].map(
      (m) => m[1]!,
    );
    expect(topics.length).toBeGreaterThan(0);
    expect(topics.every((t) => t.startsWith(kafkaName(kafka, '')))).toBe(true);
  });
});
