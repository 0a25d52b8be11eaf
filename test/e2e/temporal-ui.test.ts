// The Temporal UI is a user interface of the product: a person finds a finished task's run there by its
// search attribute. Headless Chromium (Debian's package) driven by playwright-core.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import type { Client } from '@temporalio/client';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { startTask, waitForTask } from '../../src/task/client.ts';
import { temporalUiUrl } from '../../src/stack/health.ts';
import type { RunningWorker } from '../../src/worker/index.ts';
import { env, testId } from '../helpers.ts';
import { startTestWorker } from './support.ts';

const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

describe('Temporal UI', () => {
  let worker: RunningWorker;
  let client: Client;
  let browser: Browser;
  beforeAll(async () => {
    if (!chromiumPath)
      throw new Error('Chromium is not installed: apt-get install chromium (CI installs it)');
    [worker, client] = await Promise.all([startTestWorker(), connectTemporal(env)]);
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
    await browser?.close();
    await client?.connection.close();
    await worker?.stop();
  });

  it("finds a finished task's run by its TaskId search attribute", async () => {
    // A task whose agent type nobody serves ends at once (FAILED, with the reason): no agent needed.
    const { workflowId, taskId } = await startTask(client, env, {
      requestId: testId('ui'),
      query: 'weld the frame',
      agentType: 'WELDING',
    });
    const outcome = await waitForTask(client, workflowId);
    expect(outcome.status).toBe('FAILED');
    // Visibility is eventually consistent: wait until the server can find it by the attribute.
    for (let i = 0; i < 40; i++) {
      const { executions } = await client.workflowService.listWorkflowExecutions({
        namespace: env.TEMPORAL_NAMESPACE,
        query: `TaskId = "${taskId}"`,
      });
      if (executions.length > 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }

    const page = await browser.newPage();
    const query = encodeURIComponent(`TaskId = "${taskId}"`);
    await page.goto(`${temporalUiUrl(env)}/namespaces/${env.TEMPORAL_NAMESPACE}/workflows?query=${query}`);
    const link = page.getByRole('link', { name: workflowId });
    await link.waitFor({ timeout: 30_000 });
    await link.click();
    await page.waitForURL(new RegExp(`/workflows/${workflowId}/`), { timeout: 30_000 });
    await page.getByText('agentTask').first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(tmpdir(), 'prism-temporal-ui.png') });
    expect(await page.content()).toContain(workflowId);
  });
});
