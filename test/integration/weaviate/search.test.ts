import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentProgress } from '../../../src/progress.ts';
import {
  importObjects,
  prismCollection,
  provisionWeaviate,
  search,
  type ExternalKnowledge,
} from '../../../src/stores/weaviate/index.ts';
import { manufacturingDocs, weaviateFixture, type WeaviateFixture } from './fixtures.ts';

describe('Weaviate import and search', () => {
  let fx: WeaviateFixture;
  let knowledge: ReturnType<typeof prismCollection<'ManufacturingKnowledge'>>;
  beforeAll(async () => {
    fx = await weaviateFixture();
    await provisionWeaviate(fx.client, silentProgress, { prefix: fx.prefix });
    knowledge = prismCollection(fx.client, 'ManufacturingKnowledge', { prefix: fx.prefix });
    const report = await importObjects(knowledge, manufacturingDocs, { chunkSize: 3 });
    expect(report.failures).toEqual([]);
  });
  afterAll(async () => {
    await fx.cleanup();
  });

  it('imports in chunks and stores every object with its vector', async () => {
    expect((await knowledge.aggregate.overAll()).totalCount).toBe(manufacturingDocs.length);
    const stored = await knowledge.query.fetchObjects({ includeVector: true, limit: 10 });
    const byName = new Map(stored.objects.map((o) => [o.properties.processName, o]));
    for (const doc of manufacturingDocs) {
      const object = byName.get(doc.properties.processName);
      expect(object?.properties).toMatchObject(doc.properties);
      const vector = object?.vectors.default as number[];
      // Weaviate stores float32.
      expect(vector.map((x) => Math.round(x * 1e6) / 1e6)).toEqual(doc.vector);
    }
  });

  it('reports every object it could not store, by index, and stores the rest', async () => {
    const external = prismCollection(fx.client, 'ExternalKnowledge', { prefix: fx.prefix });
    const good = (title: string): { properties: ExternalKnowledge; vector: number[] } => ({
      properties: { title, content: 'text', documentType: 'MANUAL', createdAt: new Date(), accessCount: 0 },
      vector: [1, 0, 0],
    });
    const bad = good('bad');
    (bad.properties as unknown as Record<string, unknown>).accessCount = 'many';
    const report = await importObjects(external, [good('one'), bad, good('three'), good('four')], {
      chunkSize: 2,
    });
    expect(report.inserted).toBe(3);
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0]).toMatchObject({ index: 1, message: expect.stringMatching(/accessCount/) });
    expect(report.ids[1]).toBeUndefined();
    expect(report.ids.filter(Boolean)).toHaveLength(3);
    const titles = (await external.query.fetchObjects()).objects.map((o) => o.properties.title).sort();
    expect(titles).toEqual(['four', 'one', 'three']);
  });

  it('re-importing with the same ids overwrites instead of duplicating', async () => {
    const templates = prismCollection(fx.client, 'InstructionTemplate', { prefix: fx.prefix });
    const id = '5b1f7c1e-0d7e-4a55-9d61-1f0a3f6a9e01';
    const template = (successRate: number) => ({
      id,
      vector: [0, 1, 0],
      properties: { agentType: 'CONTROL', name: 'slow down', original: 'o', rewritten: 'r', successRate },
    });
    await importObjects(templates, [template(0.5)]);
    const again = await importObjects(templates, [template(0.75)]);
    expect(again.ids).toEqual([id]);
    const all = await templates.query.fetchObjects();
    expect(all.objects.map((o) => o.properties.successRate)).toEqual([0.75]);
  });

  it('bm25 finds documents by keyword, best first, with scores', async () => {
    const hits = await search(knowledge, { mode: 'bm25', query: 'porosity shielding gas', limit: 5 });
    expect(hits.map((h) => h.properties.processName)).toEqual(['Robotic MIG welding']);
    expect(hits[0]!.score).toBeGreaterThan(0);
    const spindle = await search(knowledge, { mode: 'bm25', query: 'spindle', limit: 5 });
    expect(spindle.map((h) => h.properties.processName)).toEqual(['CNC milling']);
  });

  it('vector search with a supplied vector ranks the nearest first', async () => {
    const hits = await search(knowledge, { mode: 'vector', vector: [0.9, 0.05, 0.1], limit: 4 });
    expect(hits.map((h) => h.properties.processName)).toEqual([
      'CNC milling',
      'Coolant system maintenance',
      'Powder coating',
      'Robotic MIG welding',
    ]);
    expect(hits[0]!.distance).toBeLessThan(hits[1]!.distance!);
    expect(hits[0]!.score).toBeCloseTo(1 - hits[0]!.distance!, 6);
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
  });

  it('hybrid combines keywords with the vector, as alpha says', async () => {
    // The keyword points at welding, the vector at paint: alpha decides which wins.
    const query = { mode: 'hybrid' as const, query: 'porosity', vector: [0, 0, 1], limit: 2 };
    const keywordHeavy = await search(knowledge, { ...query, alpha: 0.1 });
    const vectorHeavy = await search(knowledge, { ...query, alpha: 0.9 });
    expect(keywordHeavy[0]!.properties.processName).toBe('Robotic MIG welding');
    expect(vectorHeavy[0]!.properties.processName).toBe('Powder coating');
    expect(keywordHeavy[0]!.score).toBeGreaterThan(0);
  });

  it('filters by property equality and by any of several values', async () => {
    const one = await search(knowledge, {
      mode: 'vector',
      vector: [1, 0, 0],
      limit: 5,
      filters: { processName: 'Powder coating' },
    });
    expect(one.map((h) => h.properties.processName)).toEqual(['Powder coating']);
    const two = await search(knowledge, {
      mode: 'vector',
      vector: [0, 1, 0],
      limit: 5,
      filters: { processName: ['Powder coating', 'CNC milling'] },
    });
    expect(two.map((h) => h.properties.processName)).toEqual(['Powder coating', 'CNC milling']);
  });

  it('says what to pass when vector search has neither a vector nor an embedder', async () => {
    await expect(search(knowledge, { mode: 'vector', query: 'heat', limit: 3 })).rejects.toThrow(
      /pass `vector`, or `query` with an `embedder`/,
    );
    await expect(search(knowledge, { mode: 'bm25', limit: 3 })).rejects.toThrow(/non-empty `query`/);
  });
});
