// The TypeScript SDK against the live server and the real services.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIdFor } from '../../../src/task/index.ts';
import { planIdFor, taskIdFor, uuidFrom } from '../../../src/task/ids.ts';
import { PrismApiError, PrismClient, PrismTimeoutError } from '../../../src/sdk/index.ts';
import { Topic } from '../../../src/stores/kafka/topics.ts';
import { closeTask } from '../../../src/stores/postgres/flow.ts';
import { prismCollection } from '../../../src/stores/weaviate/collections.ts';
import { collectionName } from '../../../src/stores/weaviate/schema.ts';
import { env, testId } from '../../helpers.ts';
import { apiFixture, type ApiFixture } from './fixture.ts';
import { recordTask, removeTasks, watchTopic } from './support.ts';

describe('PrismClient (SDK)', () => {
  let fx: ApiFixture;
  let prism: PrismClient;
  let viewer: PrismClient;
  const requestIds: string[] = [];
  const agentIds: string[] = [];
  const documentIds: string[] = [];
  const marker = `zq${testId('sdk').slice(-10)}`;
  beforeAll(async () => {
    fx = await apiFixture();
    prism = new PrismClient({ baseUrl: `${fx.baseUrl}/`, apiKey: (await fx.keyFor('admin')).key });
    viewer = new PrismClient({ baseUrl: fx.baseUrl, apiKey: (await fx.keyFor('viewer')).key });
    // The server loads the word vectors on first use (seconds): pay that here, not inside a test's timeout.
    await fx.deps.embedder();
  });
  afterAll(async () => {
    if (fx) {
      await removeTasks(fx.deps, requestIds);
      for (const id of documentIds)
        await prismCollection(fx.deps.weaviate, 'ExternalKnowledge', {
          prefix: env.WEAVIATE_COLLECTION_PREFIX,
        }).data.deleteById(id);
      await fx.deps.prisma.knowledgeDocument.deleteMany({ where: { id: { in: documentIds } } });
      const memory = fx.deps.weaviate.collections.use(
        collectionName('AgentMemory', env.WEAVIATE_COLLECTION_PREFIX),
      );
      const tenants = Object.keys(await memory.tenants.get()).filter((t) => agentIds.includes(t));
      if (tenants.length > 0) await memory.tenants.remove(tenants.map((name) => ({ name })));
      await fx.deps.prisma.agent.deleteMany({ where: { id: { in: agentIds } } });
    }
    await fx?.close();
  });

  const recordedTask = async () => {
    const requestId = testId('sdkreq');
    requestIds.push(requestId);
    await recordTask(fx.deps, { requestId, query: 'Check the press', agentType: 'MONITORING' });
    return requestId;
  };

  it('submits a task: one envelope on user.queries, the ids derived from the request id', async () => {
    const watch = await watchTopic(fx.deps, Topic.UserQueries);
    try {
      const requestId = testId('sdkreq');
      requestIds.push(requestId);
      const submitted = await prism.submitTask({
        requestId,
        query: 'Forecast the load of press 4',
        agentType: 'PREDICTION',
        // An orchestrator started later replays user.queries: let such a run end within seconds.
        agentTimeoutMs: 1_000,
      });
      expect(submitted).toMatchObject({
        requestId,
        taskId: taskIdFor(requestId),
        workflowId: workflowIdFor(requestId),
      });
      const [envelope] = await watch.withId(uuidFrom(`request:${requestId}`));
      expect(envelope!.payload).toMatchObject({
        requestId,
        query: 'Forecast the load of press 4',
        agentType: 'PREDICTION',
      });
    } finally {
      await watch.stop();
    }
  });

  it('turns error answers into PrismApiError with the status, message and fields', async () => {
    const invalid = await prism.submitTask({ query: '', agentType: 'MONITORING' }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(PrismApiError);
    expect(invalid).toMatchObject({
      status: 400,
      request: 'POST /tasks',
      fields: [{ field: 'body.query', message: 'must not be empty' }],
    });
    const missing = await prism.getTask(testId('nope')).catch((e: unknown) => e);
    expect(missing).toMatchObject({ status: 404, message: expect.stringMatching(/no task/) });
    const forbidden = await viewer
      .submitTask({ query: 'q', agentType: 'MONITORING' })
      .catch((e: unknown) => e);
    expect(forbidden).toMatchObject({ status: 403, message: expect.stringContaining('tasks:submit') });
    const unreachable = new PrismClient({ baseUrl: 'http://127.0.0.1:1', apiKey: 'k' });
    expect(await unreachable.listAgents().catch((e: unknown) => e)).toMatchObject({
      status: 0,
      message: expect.stringMatching(/cannot reach/),
    });
  });

  it('reads a task, waits for it to end, and reports a timeout', async () => {
    const requestId = await recordedTask();
    expect(await prism.getTask(requestId)).toMatchObject({ taskId: taskIdFor(requestId), status: 'ACTIVE' });
    await expect(prism.waitForTask(requestId, { timeoutMs: 600, pollMs: 100 })).rejects.toBeInstanceOf(
      PrismTimeoutError,
    );

    const finishing = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const taskId = taskIdFor(requestId);
      await closeTask(fx.deps.prisma, {
        taskId,
        planId: planIdFor(taskId),
        status: 'COMPLETED',
        result: { ok: true },
        error: null,
      });
    })();
    const ended = await prism.waitForTask(taskIdFor(requestId), { timeoutMs: 10_000, pollMs: 100 });
    await finishing;
    expect(ended).toMatchObject({ status: 'COMPLETED', record: { result: { ok: true } } });
  });

  it('sends feedback and refuses to cancel a task that does not run', async () => {
    const requestId = await recordedTask();
    const feedback = await prism.sendFeedback(requestId, {
      feedbackType: 'APPROVAL',
      content: 'Looks right',
      satisfaction: 5,
    });
    expect(feedback).toMatchObject({ taskId: taskIdFor(requestId), signalled: false });
    expect(await fx.deps.prisma.userFeedback.count({ where: { id: feedback.feedbackId } })).toBe(1);
    expect(await prism.cancelTask(requestId).catch((e: unknown) => e)).toMatchObject({ status: 409 });
  });

  it('registers and lists agents, and keeps their memory', async () => {
    const id = testId('sdkagent').replaceAll('_', '-');
    agentIds.push(id);
    const agent = await prism.registerAgent({
      id,
      name: 'SDK monitor',
      type: 'MONITORING',
      transport: 'KAFKA',
    });
    expect(agent).toMatchObject({ id, type: 'MONITORING', status: 'OFFLINE' });
    expect((await prism.listAgents({ type: 'MONITORING' })).map((a) => a.id)).toContain(id);
    expect((await prism.listAgents({ type: 'CONTROL' })).map((a) => a.id)).not.toContain(id);

    const memory = await prism.remember(id, {
      memoryType: 'LONG_TERM',
      content: `Press ${marker} vibrates above 80 Hz`,
    });
    expect(memory).toMatchObject({ agentId: id, vectorized: true });
    const recalled = await prism.recall(id, marker, { mode: 'bm25', limit: 3 });
    expect(recalled.hits.map((h) => h.id)).toEqual([memory.id]);
    expect((await prism.recall(id)).hits.map((h) => h.content)).toEqual([
      `Press ${marker} vibrates above 80 Hz`,
    ]);
  });

  it('ingests knowledge and searches it', async () => {
    const ingested = await prism.ingestKnowledge({
      title: `Press ${marker} maintenance`,
      content: `Lubricate the ${marker} press ram guides every 500 hours.`,
      documentType: 'GUIDELINE',
    });
    documentIds.push(ingested.id);
    expect(ingested).toMatchObject({ version: 1, created: true });
    const found = await prism.searchKnowledge(marker, { mode: 'bm25', limit: 5 });
    expect(found.hits.map((h) => h.id)).toEqual([ingested.id]);
    expect(found.hits[0]).toMatchObject({ documentType: 'GUIDELINE', title: `Press ${marker} maintenance` });
    const filtered = await prism.searchKnowledge(marker, { mode: 'bm25', documentType: 'FAQ' });
    expect(filtered.hits).toEqual([]);
  });
});
