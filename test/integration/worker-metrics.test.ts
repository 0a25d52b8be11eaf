// The worker's /metrics endpoint, as Prometheus scrapes it, counts tasks and times their steps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { startTask, waitForTask } from '../../src/task/client.ts';
import { startWorker, type RunningWorker } from '../../src/worker/index.ts';
import { env, testId } from '../helpers.ts';

describe('worker metrics', () => {
  const port = 21_000 + Math.floor(Math.random() * 5_000);
  const requestId = testId('metrics');
  let worker: RunningWorker;
  let client: Client;
  beforeAll(async () => {
    [worker, client] = await Promise.all([
      startWorker(env, { metricsPort: port, withIngress: false, withBridge: false, log: () => {} }),
      connectTemporal(env),
    ]);
  }, 120_000);
  afterAll(async () => {
    await worker.stop();
    await client.connection.close();
    const prisma = createPrisma(env);
    await prisma.task.deleteMany({ where: { requestId } });
    await prisma.$disconnect();
  });

  it('exposes task counts and step durations in the Prometheus format', async () => {
    // A task nobody can serve ends at once; its steps still count.
    const { workflowId } = await startTask(client, env, { requestId, query: 'weld', agentType: 'WELDING' });
    expect((await waitForTask(client, workflowId)).status).toBe('FAILED');
    const text = await (await fetch(`http://${env.PRISM_BIND_ADDRESS}:${port}/metrics`)).text();
    // Label order differs between metric types: find each line by its labels.
    const line = (name: string, ...labels: string[]) =>
      text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)));
    expect(line('prism_tasks_finished_total', 'agent_type="WELDING"', 'status="FAILED"')).toMatch(
      / [1-9]\d*$/,
    );
    for (const step of ['createTask', 'dispatch', 'recordResult']) {
      expect(line('prism_step_duration_seconds_count', `step="${step}"`, 'outcome="FAILURE"')).toMatch(
        / [1-9]\d*$/,
      );
    }
    expect(text).toContain('process_cpu_seconds_total');
  });
});
