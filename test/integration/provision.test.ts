import { afterAll, describe, expect, it } from 'vitest';
import { connectWeaviate } from '../../src/clients/weaviate.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { demoConstraints, demoKnowledgeIds, loadDemoData } from '../../src/provision/demo.ts';
import { provisionAll } from '../../src/provision/index.ts';
import { silentProgress } from '../../src/progress.ts';
import { prismCollection } from '../../src/stores/weaviate/collections.ts';
import { allTopicSpecs } from '../../src/stores/kafka/topics.ts';
import { env } from '../helpers.ts';

describe('prism provision', () => {
  const prisma = createPrisma(env);
  afterAll(() => prisma.$disconnect());

  it('changes nothing when run again on a provisioned stack', async () => {
    await provisionAll(env, silentProgress);
    const second = await provisionAll(env, silentProgress);
    expect(second.kafka.created).toEqual([]);
    expect(second.kafka.updated).toEqual([]);
    expect(second.kafka.unchanged).toHaveLength(allTopicSpecs.length);
    expect(second.weaviate.created).toEqual([]);
    expect(second.weaviate.updated).toEqual([]);
    expect(second.weaviate.unchanged.sort()).toEqual(
      ['AgentMemory', 'ExternalKnowledge', 'InstructionTemplate', 'ManufacturingKnowledge'].map(
        (name) => `${env.WEAVIATE_COLLECTION_PREFIX}${name}`,
      ),
    );
    expect(second.temporal).toEqual({
      namespace: env.TEMPORAL_NAMESPACE,
      createdNamespace: false,
      addedSearchAttributes: [],
    });
    expect(second.influx.action).toBe('unchanged');
  });

  it('loads the demo data set once, however often it runs, and keeps existing data', async () => {
    await loadDemoData(env, silentProgress);
    const weaviate = await connectWeaviate(env);
    try {
      const count = async () => ({
        agents: await prisma.agent.count({ where: { id: { endsWith: '-agent-1' } } }),
        constraints: await prisma.constraint.count({
          where: { name: { in: demoConstraints.map((c) => c.name) } },
        }),
        documents: await prisma.knowledgeDocument.count({
          where: { weaviateId: { in: demoKnowledgeIds.ExternalKnowledge } },
        }),
        process: (
          await prismCollection(weaviate, 'ManufacturingKnowledge', {
            prefix: env.WEAVIATE_COLLECTION_PREFIX,
          }).query.fetchObjects({
            filters: prismCollection(weaviate, 'ManufacturingKnowledge', {
              prefix: env.WEAVIATE_COLLECTION_PREFIX,
            })
              .filter.byId()
              .containsAny(demoKnowledgeIds.ManufacturingKnowledge),
            limit: 100,
          })
        ).objects.length,
      });
      const before = await count();
      expect(before.agents).toBe(4);
      expect(before.constraints).toBe(demoConstraints.length);
      expect(before.documents).toBe(demoKnowledgeIds.ExternalKnowledge.length);
      expect(before.process).toBe(demoKnowledgeIds.ManufacturingKnowledge.length);
      await provisionAll(env, silentProgress);
      await loadDemoData(env, silentProgress);
      expect(await count()).toEqual(before);
    } finally {
      await weaviate.close();
    }
  });
});
