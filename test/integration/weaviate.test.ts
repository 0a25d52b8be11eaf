import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WeaviateClient } from 'weaviate-client';
import { connectWeaviate } from '../../src/clients/weaviate.ts';
import { env, testId } from '../helpers.ts';

describe('Weaviate', () => {
  let client: WeaviateClient;
  // Collection names start with a capital letter.
  const name = `Test${testId('weaviate').replace(/^test_weaviate_/, '')}`;
  beforeAll(async () => {
    client = await connectWeaviate(env);
  });
  afterAll(async () => {
    await client.collections.delete(name).catch(() => undefined);
    await client.close();
  });

  it('creates a collection, inserts objects, queries them and deletes the collection', async () => {
    const collection = await client.collections.create({
      name,
      properties: [
        { name: 'title', dataType: 'text' },
        { name: 'process', dataType: 'text' },
      ],
    });
    await collection.data.insertMany([
      { properties: { title: 'Spindle overheating', process: 'CNC milling' }, vectors: [1, 0, 0] },
      { properties: { title: 'Weld porosity', process: 'Robotic welding' }, vectors: [0, 1, 0] },
      { properties: { title: 'Coolant pressure drop', process: 'CNC milling' }, vectors: [0.9, 0.1, 0] },
    ]);
    const keyword = await collection.query.bm25('welding', { limit: 5 });
    expect(keyword.objects.map((o) => o.properties.title)).toEqual(['Weld porosity']);
    const nearest = await collection.query.nearVector([1, 0, 0], { limit: 2 });
    expect(nearest.objects.map((o) => o.properties.title)).toEqual([
      'Spindle overheating',
      'Coolant pressure drop',
    ]);
    await client.collections.delete(name);
    expect(await client.collections.exists(name)).toBe(false);
  });
});
