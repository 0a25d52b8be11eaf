import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { productSearchAttributes } from '../../src/stores/temporal/provision.ts';
import { createFixtureActivities } from '../fixtures/activities.ts';
import { inspectLine } from '../fixtures/workflows.ts';
import { env, testId } from '../helpers.ts';

describe('Temporal', () => {
  let client: Client;
  beforeAll(async () => {
    client = await connectTemporal(env);
  });
  afterAll(async () => {
    await client.connection.close();
  });

  it('runs a workflow to completion on a worker', async () => {
    const taskQueue = testId('queue');
    const calls: string[] = [];
    const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
    try {
      const worker = await Worker.create({
        connection,
        namespace: env.TEMPORAL_NAMESPACE,
        taskQueue,
        workflowsPath: fileURLToPath(new URL('../fixtures/workflows.ts', import.meta.url)),
        activities: createFixtureActivities(calls),
      });
      const workflowId = testId('wf');
      const result = await worker.runUntil(
        client.workflow.execute(inspectLine, { taskQueue, workflowId, args: [['press-1', 'lathe-2']] }),
      );
      expect(result).toEqual(['press-1: ok', 'lathe-2: ok']);
      expect(calls).toEqual(['press-1', 'lathe-2']);
      const description = await client.workflow.getHandle(workflowId).describe();
      expect(description.status.name).toBe('COMPLETED');
    } finally {
      await connection.close();
    }
  });

  it('has the product search attributes registered', async () => {
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({
      namespace: env.TEMPORAL_NAMESPACE,
    });
    expect(Object.keys(customAttributes)).toEqual(expect.arrayContaining([...productSearchAttributes]));
  });
});

describe('Temporal Web UI', () => {
  it('serves its page and its settings', async () => {
    const page = await fetch(env.TEMPORAL_UI_URL);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    const settings = (await (await fetch(`${env.TEMPORAL_UI_URL}/api/v1/settings`)).json()) as {
      Version: string;
    };
    expect(settings.Version).toMatch(/^\d+\.\d+\.\d+/);
  });
});
