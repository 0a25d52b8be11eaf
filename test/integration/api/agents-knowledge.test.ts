// Agents, knowledge and agent memory against the real PostgreSQL and Weaviate (with the real GloVe
// embedder, loaded once for this file by the first write).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidFrom } from '../../../src/task/ids.ts';
import { Topic } from '../../../src/stores/kafka/topics.ts';
import { collectionName } from '../../../src/stores/weaviate/schema.ts';
import { prismCollection } from '../../../src/stores/weaviate/collections.ts';
import { env, testId } from '../../helpers.ts';
import { apiFixture, type ApiFixture } from './fixture.ts';
import { watchTopic } from './support.ts';

type Hits = { mode: string; hits: Record<string, unknown>[]; warning?: string };

describe('agents, knowledge and memory routes', () => {
  let fx: ApiFixture;
  let admin: string;
  let agentKey: string;
  const agentIds: string[] = [];
  const documentIds: string[] = [];
  // A made-up word, so that searches find this file's documents and nobody else's.
  const marker = `zq${testId('kw').slice(-10)}`;
  beforeAll(async () => {
    fx = await apiFixture();
    admin = (await fx.keyFor('admin')).key;
    agentKey = (await fx.keyFor('agent')).key;
    // The server loads the word vectors on first use (seconds): pay that here, not inside a test's timeout.
    await fx.deps.embedder();
  });
  afterAll(async () => {
    if (fx) {
      const knowledge = prismCollection(fx.deps.weaviate, 'ExternalKnowledge', {
        prefix: env.WEAVIATE_COLLECTION_PREFIX,
      });
      for (const id of documentIds) await knowledge.data.deleteById(id);
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

  const registerAgent = async (type: string, extra: Record<string, unknown> = {}) => {
    const id = testId(type.toLowerCase()).replaceAll('_', '-');
    agentIds.push(id);
    const res = await fx.call('POST', '/agents', {
      key: agentKey,
      body: { id, name: `${type} test agent`, type, transport: 'KAFKA', capabilities: ['spindle'], ...extra },
    });
    expect(res.status).toBe(200);
    return { id, res };
  };

  it('registers agents (an upsert) and lists them, by type', async () => {
    const { id: monitor, res } = await registerAgent('MONITORING', { config: { line: 3 }, version: '1.0.0' });
    expect(res.body).toMatchObject({
      id: monitor,
      type: 'MONITORING',
      transport: 'KAFKA',
      status: 'OFFLINE',
      config: { line: 3 },
    });
    const { id: predictor } = await registerAgent('PREDICTION', {
      transport: 'TEMPORAL',
      taskQueue: 'prism-agent-prediction',
    });

    const again = await fx.call('POST', '/agents', {
      key: agentKey,
      body: { id: monitor, name: 'renamed', type: 'MONITORING', transport: 'KAFKA', version: '1.1.0' },
    });
    expect(again.body).toMatchObject({ id: monitor, name: 'renamed', version: '1.1.0' });
    const row = await fx.deps.prisma.agent.findUniqueOrThrow({ where: { id: monitor } });
    expect(row).toMatchObject({ name: 'renamed', version: '1.1.0', type: 'MONITORING' });

    const all = await fx.call<{ agents: { id: string }[] }>('GET', '/agents', { key: admin });
    expect(all.body.agents.map((a) => a.id)).toEqual(expect.arrayContaining([monitor, predictor]));
    const monitors = await fx.call<{ agents: { id: string; type: string }[] }>(
      'GET',
      '/agents?type=MONITORING',
      { key: admin },
    );
    expect(monitors.body.agents.map((a) => a.id)).toContain(monitor);
    expect(monitors.body.agents.map((a) => a.id)).not.toContain(predictor);
    expect(new Set(monitors.body.agents.map((a) => a.type))).toEqual(new Set(['MONITORING']));
  });

  it('refuses an invalid registration naming the field', async () => {
    const res = await fx.call<{ fields: unknown[] }>('POST', '/agents', {
      key: agentKey,
      body: { id: 'has spaces', name: 'x', type: 'WELDING', transport: 'KAFKA' },
    });
    expect(res.status).toBe(400);
    expect(res.body.fields).toEqual(
      expect.arrayContaining([
        { field: 'body.id', message: expect.stringMatching(/letters, digits/) },
        { field: 'body.type', message: expect.stringMatching(/MONITORING/) },
      ]),
    );
  });

  it('ingests a document into Weaviate and PostgreSQL, idempotently, and finds it', async () => {
    const document = {
      title: `Spindle ${marker} overheating guide`,
      content: `When the spindle of the ${marker} mill runs hot, check the coolant flow and the bearings.`,
      documentType: 'MANUAL',
      source: `api-test/${marker}`,
      metadata: { revision: 3 },
    };
    const updates = await watchTopic(fx.deps, Topic.KnowledgeUpdates);
    const first = await fx.call<{ id: string; version: number }>('POST', '/knowledge', {
      key: agentKey,
      body: document,
    });
    expect(first.status).toBe(200);
    documentIds.push(first.body.id);
    expect(first.body).toMatchObject({
      collection: 'ExternalKnowledge',
      version: 1,
      created: true,
      vectorized: true,
    });
    try {
      const [announced] = await updates.withId(uuidFrom(`knowledge:${first.body.id}:v1`));
      expect(announced).toMatchObject({
        type: 'knowledge.updated',
        payload: {
          documentId: first.body.id,
          collection: 'ExternalKnowledge',
          title: document.title,
          version: 1,
        },
      });
    } finally {
      await updates.stop();
    }

    const row = await fx.deps.prisma.knowledgeDocument.findUniqueOrThrow({
      where: { weaviateId: first.body.id },
    });
    expect(row).toMatchObject({
      id: first.body.id,
      title: document.title,
      documentType: 'MANUAL',
      collection: 'ExternalKnowledge',
    });
    expect(row.embedder).toMatch(/glove/);
    const object = await prismCollection(fx.deps.weaviate, 'ExternalKnowledge', {
      prefix: env.WEAVIATE_COLLECTION_PREFIX,
    }).query.fetchObjectById(first.body.id, {
      includeVector: true,
    });
    expect(object?.properties).toMatchObject({
      title: document.title,
      documentType: 'MANUAL',
      source: document.source,
    });
    expect((object?.vectors.default as number[]).length).toBe(100);

    const again = await fx.call('POST', '/knowledge', {
      key: agentKey,
      body: { ...document, content: `${document.content} Revised.` },
    });
    expect(again.body).toMatchObject({ id: first.body.id, version: 2, created: false });
    expect(await fx.deps.prisma.knowledgeDocument.count({ where: { source: document.source } })).toBe(1);

    const bm25 = await fx.call<Hits>('GET', `/knowledge/search?q=${marker}&mode=bm25&limit=5`, {
      key: admin,
    });
    expect(bm25.status).toBe(200);
    expect(bm25.body.mode).toBe('bm25');
    expect(bm25.body.hits).toHaveLength(1);
    expect(bm25.body.hits[0]).toMatchObject({
      id: first.body.id,
      title: document.title,
      content: expect.stringMatching(/Revised\.$/),
      metadata: { revision: 3 },
      score: expect.any(Number),
    });
    const hybrid = await fx.call<Hits>(
      'GET',
      `/knowledge/search?q=${encodeURIComponent(`${marker} spindle coolant`)}`,
      { key: admin },
    );
    expect(hybrid.body.mode).toBe('hybrid');
    expect(hybrid.body.hits[0]).toMatchObject({ id: first.body.id });
  });

  it('stores a text the embedder cannot read without a vector, and BM25 still finds it', async () => {
    const res = await fx.call<{ id: string; vectorized: boolean }>('POST', '/knowledge', {
      key: agentKey,
      body: {
        title: `스핀들 과열 ${marker}`,
        content: '냉각수 유량과 베어링을 점검하십시오',
        documentType: 'FAQ',
      },
    });
    expect(res.status).toBe(200);
    documentIds.push(res.body.id);
    expect(res.body.vectorized).toBe(false);
    const search = await fx.call<Hits>(
      'GET',
      `/knowledge/search?q=${encodeURIComponent('냉각수')}&mode=hybrid`,
      { key: admin },
    );
    expect(search.body.mode).toBe('bm25');
    expect(search.body.warning).toMatch(/keywords only/);
    expect(search.body.hits.map((h) => h.id)).toContain(res.body.id);
    const vector = await fx.call<{ fields: unknown[] }>(
      'GET',
      `/knowledge/search?q=${encodeURIComponent('냉각수')}&mode=vector`,
      { key: admin },
    );
    expect(vector.status).toBe(400);
    expect(vector.body.fields).toEqual([{ field: 'query.q', message: expect.stringMatching(/mode=bm25/) }]);
  });

  it('refuses bad knowledge input naming the field', async () => {
    const ingest = await fx.call<{ fields: { field: string }[] }>('POST', '/knowledge', {
      key: agentKey,
      body: { title: '', content: 'x', documentType: 'NOVEL' },
    });
    expect(ingest.status).toBe(400);
    expect(ingest.body.fields.map((f) => f.field).sort()).toEqual(['body.documentType', 'body.title']);
    const search = await fx.call<{ fields: { field: string }[] }>('GET', '/knowledge/search?q=&limit=1000', {
      key: admin,
    });
    expect(search.status).toBe(400);
    expect(search.body.fields.map((f) => f.field).sort()).toEqual(['query.limit', 'query.q']);
  });

  it("keeps each agent's memory to itself", async () => {
    const { id: a } = await registerAgent('ANALYSIS');
    const { id: b } = await registerAgent('CONTROL');
    const write = await fx.call<{ id: string }>('POST', `/agents/${a}/memory`, {
      key: agentKey,
      body: {
        memoryType: 'EPISODIC',
        content: `Spindle ${marker} overheated after the coolant pump failed`,
        importance: 0.9,
        taskId: 't-1',
      },
    });
    expect(write.status).toBe(201);
    expect(write.body).toMatchObject({ agentId: a, vectorized: true });
    await fx.call('POST', `/agents/${a}/memory`, {
      key: agentKey,
      body: { memoryType: 'SHORT_TERM', content: 'Line 2 restarted at 06:00' },
    });

    const recalled = await fx.call<Hits>('GET', `/agents/${a}/memory?q=${marker}&mode=bm25`, {
      key: agentKey,
    });
    expect(recalled.status).toBe(200);
    expect(recalled.body.hits).toEqual([
      expect.objectContaining({ id: write.body.id, memoryType: 'EPISODIC', importance: 0.9, taskId: 't-1' }),
    ]);
    const semantic = await fx.call<Hits>(
      'GET',
      `/agents/${a}/memory?q=${encodeURIComponent('overheating spindle')}&mode=vector&limit=1`,
      {
        key: agentKey,
      },
    );
    expect(semantic.body.hits.map((h) => h.id)).toEqual([write.body.id]);
    const latest = await fx.call<Hits>('GET', `/agents/${a}/memory?limit=5`, { key: agentKey });
    expect(latest.body.mode).toBe('latest');
    expect(latest.body.hits.map((h) => h.content)).toEqual([
      'Line 2 restarted at 06:00',
      expect.stringContaining(marker),
    ]);
    const shortTerm = await fx.call<Hits>('GET', `/agents/${a}/memory?memoryType=SHORT_TERM`, {
      key: agentKey,
    });
    expect(shortTerm.body.hits.map((h) => h.memoryType)).toEqual(['SHORT_TERM']);

    const other = await fx.call<Hits>('GET', `/agents/${b}/memory?q=${marker}&mode=bm25`, { key: agentKey });
    expect(other.status).toBe(200);
    expect(other.body.hits).toEqual([]);
  });

  it('refuses memory of an unregistered agent with 404, and creates no tenant for it', async () => {
    const ghost = testId('ghost').replaceAll('_', '-');
    const res = await fx.call<{ code: string; message: string }>('POST', `/agents/${ghost}/memory`, {
      key: agentKey,
      body: { memoryType: 'SHORT_TERM', content: 'boo' },
    });
    expect(res.status).toBe(404);
    expect(res.body.message).toMatch(/not registered/);
    expect(res.body.code).toBe('AGENT_NOT_REGISTERED');
    expect((await fx.call('GET', `/agents/${ghost}/memory`, { key: agentKey })).status).toBe(404);
    const tenants = await fx.deps.weaviate.collections
      .use(collectionName('AgentMemory', env.WEAVIATE_COLLECTION_PREFIX))
      .tenants.get();
    expect(Object.keys(tenants)).not.toContain(ghost);
  });
});
