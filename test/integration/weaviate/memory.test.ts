import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentProgress } from '../../../src/progress.ts';
import {
  agentMemory,
  collectionName,
  importObjects,
  provisionWeaviate,
  search,
  type AgentMemory,
} from '../../../src/stores/weaviate/index.ts';
import { testId } from '../../helpers.ts';
import { weaviateFixture, type WeaviateFixture } from './fixtures.ts';

const memory = (content: string, taskId: string): AgentMemory => ({
  memoryType: 'EPISODIC',
  content,
  importance: 0.8,
  createdAt: new Date('2026-01-05T08:00:00Z'),
  lastAccessedAt: new Date('2026-01-05T08:00:00Z'),
  taskId,
});

describe('agent memory', () => {
  let fx: WeaviateFixture;
  beforeAll(async () => {
    fx = await weaviateFixture();
    await provisionWeaviate(fx.client, silentProgress, { prefix: fx.prefix });
  });
  afterAll(async () => {
    await fx.cleanup();
  });

  it("keeps each agent's memories in its own tenant: agent B never sees agent A's", async () => {
    const agentA = testId('agentA');
    const agentB = testId('agentB');
    const memoryA = await agentMemory(fx.client, agentA, { prefix: fx.prefix });
    const memoryB = await agentMemory(fx.client, agentB, { prefix: fx.prefix });
    const a = await importObjects(memoryA, [
      { properties: memory('Spindle 3 overheats above 11000 rpm', 'task-a1'), vector: [1, 0] },
      { properties: memory('Coolant pump on line 2 was replaced', 'task-a2'), vector: [0.9, 0.1] },
    ]);
    const b = await importObjects(memoryB, [
      { properties: memory('Welding robot 7 needs a new nozzle', 'task-b1'), vector: [0, 1] },
    ]);
    expect([a.failures, b.failures]).toEqual([[], []]);

    // The same queries through each tenant: A's words and A's vector find nothing of A's in B.
    const bKeyword = await search(memoryB, { mode: 'bm25', query: 'spindle overheats coolant', limit: 10 });
    expect(bKeyword).toEqual([]);
    const bVector = await search(memoryB, { mode: 'vector', vector: [1, 0], limit: 10 });
    expect(bVector.map((h) => h.properties.taskId)).toEqual(['task-b1']);
    const aVector = await search(memoryA, { mode: 'vector', vector: [1, 0], limit: 10 });
    expect(aVector.map((h) => h.properties.taskId)).toEqual(['task-a1', 'task-a2']);
    const aKeyword = await search(memoryA, { mode: 'bm25', query: 'spindle', limit: 10 });
    expect(aKeyword.map((h) => h.properties.content)).toEqual(['Spindle 3 overheats above 11000 rpm']);
    expect(aKeyword[0]!.properties.createdAt).toEqual(new Date('2026-01-05T08:00:00Z'));

    const tenants = await fx.client.collections.use(collectionName('AgentMemory', fx.prefix)).tenants.get();
    expect(Object.keys(tenants).sort()).toEqual([agentA, agentB].sort());
  });

  it('creates a tenant once, however often it is asked for', async () => {
    const agent = testId('agentC');
    await Promise.all([1, 2, 3].map(() => agentMemory(fx.client, agent, { prefix: fx.prefix })));
    const tenants = await fx.client.collections.use(collectionName('AgentMemory', fx.prefix)).tenants.get();
    expect(Object.keys(tenants).filter((t) => t === agent)).toHaveLength(1);
  });

  it('rejects an agent id that cannot name a tenant', async () => {
    await expect(agentMemory(fx.client, 'agent/../other', { prefix: fx.prefix })).rejects.toThrow(
      /cannot name a Weaviate tenant/,
    );
  });
});
