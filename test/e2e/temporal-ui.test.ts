// The Temporal UI is a user interface of the product: a person finds a task's run there by its search
// attribute and sees at a glance how it ended — a completed, a failed and a cancelled task each look like
// what they are. Headless Chromium (Debian's package) driven by playwright-core.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import type { Client } from '@temporalio/client';
import { runKafkaAgent } from '../../src/agents/kafka-transport.ts';
import { silentLogger } from '../../src/agents/logger.ts';
import type { RunningAgent } from '../../src/agents/types.ts';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { liveTask, startTask, waitForTask } from '../../src/task/client.ts';
import type { RunningWorker } from '../../src/worker/index.ts';
import { env, testId, waitFor } from '../helpers.ts';
import { startTestWorker } from './support.ts';

const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

describe('Temporal UI', () => {
  let worker: RunningWorker;
  let agent: RunningAgent;
  let client: Client;
  let browser: Browser;
  const agentId = `ui-analysis-${randomUUID().slice(0, 8)}`;
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  beforeAll(async () => {
    if (!chromiumPath)
      throw new Error(
        'Chromium is not installed: `prism stack up` installs Debian’s chromium with the services',
      );
    [worker, client] = await Promise.all([startTestWorker(), connectTemporal(env)]);
    // Answers at once, fails when asked to, and holds a command it is asked to hold until the tests end.
    agent = await runKafkaAgent({
      type: 'ANALYSIS',
      env,
      agentId,
      log: silentLogger,
      handler: async (command) => {
        if (command.instruction.includes('fail')) throw new Error('the analysis was asked to fail');
        if (command.instruction.includes('hold')) await held;
        return { summary: 'ok' };
      },
    });
    // A fresh temporary profile each launch (Playwright's default); no background traffic to the internet.
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 120_000);
  afterAll(async () => {
    release();
    await browser?.close();
    await agent?.stop();
    await client?.connection.close();
    await worker?.stop();
    const prisma = createPrisma(env);
    await prisma.task.deleteMany({ where: { requestId: { startsWith: 'test_ui_' } } });
    await prisma.agent.deleteMany({ where: { id: agentId } });
    await prisma.$disconnect();
  });

  /** Runs a task through the test agent and waits until Temporal's visibility can find it by TaskId. */
  async function runTask(query: string, cancelAfterCommand = false) {
    const { workflowId, taskId } = await startTask(client, env, {
      requestId: testId('ui'),
      query,
      agentType: 'ANALYSIS',
    });
    if (cancelAfterCommand) {
      await waitFor(
        'the step to run',
        async () => (await liveTask(client, workflowId))?.progress?.steps[0]?.status === 'RUNNING',
      );
      await client.workflow.getHandle(workflowId).cancel();
    }
    const outcome = await waitForTask(client, workflowId);
    // Visibility is eventually consistent: wait until the server can find the closed run by its attribute.
    await waitFor('the run in visibility', async () => {
      const { executions } = await client.workflowService.listWorkflowExecutions({
        namespace: env.TEMPORAL_NAMESPACE,
        query: `TaskId = "${taskId}" AND ExecutionStatus != "Running"`,
      });
      return executions.length > 0;
    });
    return { workflowId, taskId, outcome };
  }

  /** What a person sees in the UI's list of runs, filtered by the task's id: the run's row. */
  async function rowText(taskId: string, workflowId: string): Promise<string> {
    const page = await browser.newPage();
    try {
      const query = encodeURIComponent(`TaskId = "${taskId}"`);
      await page.goto(`${env.TEMPORAL_UI_URL}/namespaces/${env.TEMPORAL_NAMESPACE}/workflows?query=${query}`);
      const link = page.getByRole('link', { name: workflowId });
      await link.waitFor({ timeout: 30_000 });
      const row = page.getByRole('row').filter({ has: link });
      return (await row.first().innerText()).replace(/\s+/g, ' ');
    } finally {
      await page.close();
    }
  }

  it('shows a completed task as Completed, found by its TaskId', async () => {
    const { workflowId, taskId, outcome } = await runTask('summarise the shift');
    expect(outcome.status).toBe('COMPLETED');
    const row = await rowText(taskId, workflowId);
    expect(row).toMatch(/\bCompleted\b/i);
    expect(row).not.toMatch(/\b(Failed|Canceled)\b/i);
  });

  it('shows a failed task as Failed, with the reason on its page', async () => {
    const { workflowId, taskId, outcome } = await runTask('please fail this analysis');
    expect(outcome.status).toBe('FAILED');
    const row = await rowText(taskId, workflowId);
    expect(row).toMatch(/\bFailed\b/i);
    expect(row).not.toMatch(/\bCompleted\b/i);

    const page = await browser.newPage();
    try {
      await page.goto(`${env.TEMPORAL_UI_URL}/namespaces/${env.TEMPORAL_NAMESPACE}/workflows/${workflowId}`);
      await page.getByText('agentTask').first().waitFor({ timeout: 30_000 });
      await page
        .getByText(/the analysis was asked to fail/)
        .first()
        .waitFor({ timeout: 30_000 });
      await page.screenshot({ path: join(tmpdir(), 'prism-temporal-ui-failed.png') });
    } finally {
      await page.close();
    }
  });

  it('shows a cancelled task as Canceled', async () => {
    const { workflowId, taskId, outcome } = await runTask('please hold this analysis', true);
    expect(outcome.status).toBe('CANCELLED');
    const row = await rowText(taskId, workflowId);
    expect(row).toMatch(/\bCancel{1,2}ed\b/i);
    expect(row).not.toMatch(/\b(Completed|Failed)\b/i);
  });
});
