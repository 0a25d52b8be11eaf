// The worker's /metrics endpoint, as Prometheus scrapes it, counts tasks and times their steps.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { runKafkaAgent } from '../../src/agents/kafka-transport.ts';
import { silentLogger } from '../../src/agents/logger.ts';
import type { RunningAgent } from '../../src/agents/types.ts';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { startTask, waitForTask } from '../../src/task/client.ts';
import { startWorker, type RunningWorker } from '../../src/worker/index.ts';
import { env, testId } from '../helpers.ts';

describe('worker metrics', () => {
  const port = 21_000 + Math.floor(Math.random() * 5_000);
  const requestId = testId('metrics');
  const agentId = `metrics-analysis-${randomUUID().slice(0, 8)}`;
  let worker: RunningWorker;
  let agent: RunningAgent;
  let client: Client;
  beforeAll(async () => {
    [worker, client, agent] = await Promise.all([
      startWorker(env, { metricsPort: port, withIngress: false, log: () => {} }),
      connectTemporal(env),
      runKafkaAgent({
        type: 'ANALYSIS',
        env,
        agentId,
        log: silentLogger,
        handler: async () => ({ summary: 'measured' }),
      }),
    ]);
  }, 120_000);
  afterAll(async () => {
    await agent?.stop();
    await worker?.stop();
    await client?.connection.close();
    const prisma = createPrisma(env);
    await prisma.task.deleteMany({ where: { requestId } });
    await prisma.agent.deleteMany({ where: { id: agentId } });
    await prisma.$disconnect();
  });

  it('exposes task counts and step durations in the Prometheus format', async () => {
    const { workflowId } = await startTask(client, env, {
      requestId,
      query: 'summarise',
      agentType: 'ANALYSIS',
    });
    expect((await waitForTask(client, workflowId)).status).toBe('COMPLETED');
    const text = await (await fetch(`http://${env.PRISM_BIND_ADDRESS}:${port}/metrics`)).text();
    // Label order differs between metric types: find each line by its labels.
    const line = (name: string, ...labels: string[]) =>
      text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)));
    expect(line('prism_tasks_finished_total', 'agent_type="ANALYSIS"', 'status="COMPLETED"')).toMatch(
      / [1-9]\d*$/,
    );
    expect(line('prism_knowledge_searches_total', 'outcome="ok"')).toMatch(/ [1-9]\d*$/);
    for (const step of ['createTask', 'knowledge', 'dispatch', 'agent', 'recordStep', 'recordResult']) {
      expect(line('prism_step_duration_seconds_count', `step="${step}"`, 'outcome="SUCCESS"')).toMatch(
        / [1-9]\d*$/,
      );
    }
    expect(text).toContain('process_cpu_seconds_total');
  });
});
