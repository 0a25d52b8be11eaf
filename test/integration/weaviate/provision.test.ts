import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import weaviate from 'weaviate-client';
import { silentProgress } from '../../../src/progress.ts';
import {
  collectionName,
  collectionSpecs,
  provisionWeaviate,
  WeaviateSchemaConflictError,
  type CollectionName,
} from '../../../src/stores/weaviate/index.ts';
import { weaviateFixture, type WeaviateFixture } from './fixtures.ts';

const names = Object.keys(collectionSpecs) as CollectionName[];

describe('provisionWeaviate', () => {
  let fx: WeaviateFixture;
  beforeAll(async () => {
    fx = await weaviateFixture();
  });
  afterAll(async () => {
    await fx.cleanup();
  });

  it('creates every collection with its properties, self-provided vectors and agent tenancy', async () => {
    const prefix = `${fx.prefix}A_`;
    const report = await provisionWeaviate(fx.client, silentProgress, { prefix });
    expect(report).toEqual({
      created: names.map((n) => collectionName(n, prefix)),
      updated: [],
      unchanged: [],
    });
    for (const name of names) {
      const config = await fx.client.collections.export(collectionName(name, prefix));
      const spec = collectionSpecs[name];
      expect(config.properties.map((p) => [p.name, p.dataType])).toEqual(
        spec.properties.map((p) => [p.name, p.dataType]),
      );
      expect(config.multiTenancy.enabled).toBe(name === 'AgentMemory');
      expect(Object.values(config.vectorizers).map((v) => v.vectorizer.name)).toEqual(['none']);
    }
    const documentType = (
      await fx.client.collections.export(collectionName('ExternalKnowledge', prefix))
    ).properties.find((p) => p.name === 'documentType');
    expect(documentType?.tokenization).toBe('field');
  });

  it('changes nothing when run again', async () => {
    const prefix = `${fx.prefix}B_`;
    await provisionWeaviate(fx.client, silentProgress, { prefix });
    const before = await Promise.all(
      names.map((n) => fx.client.collections.export(collectionName(n, prefix))),
    );
    const steps: string[] = [];
    const report = await provisionWeaviate(
      fx.client,
      { step: (m) => steps.push(m), track: (_m, work) => work() },
      { prefix },
    );
    expect(report).toEqual({
      created: [],
      updated: [],
      unchanged: names.map((n) => collectionName(n, prefix)),
    });
    expect(steps).toEqual(['Weaviate: 0 created, 0 updated, 4 unchanged']);
    const after = await Promise.all(
      names.map((n) => fx.client.collections.export(collectionName(n, prefix))),
    );
    expect(after).toEqual(before);
  });

  it('adds missing properties to a collection that holds data, and keeps the data', async () => {
    const prefix = `${fx.prefix}C_`;
    const name = collectionName('ExternalKnowledge', prefix);
    const old = await fx.client.collections.create({
      name,
      vectorizers: weaviate.configure.vectors.selfProvided(),
      properties: [
        { name: 'title', dataType: 'text' },
        { name: 'content', dataType: 'text' },
      ],
    });
    const inserted = await old.data.insertMany([
      {
        properties: { title: 'Lathe manual', content: 'Chuck jaws must be torqued to spec' },
        vectors: [1, 0],
      },
      { properties: { title: 'Press FAQ', content: 'Never bypass the light curtain' }, vectors: [0, 1] },
    ]);
    expect(inserted.hasErrors).toBe(false);

    const report = await provisionWeaviate(fx.client, silentProgress, { prefix });
    expect(report.updated).toEqual([
      {
        collection: name,
        addedProperties: ['documentType', 'source', 'metadata', 'createdAt', 'accessCount'],
      },
    ]);
    expect(report.created).toHaveLength(3);

    const collection = fx.client.collections.use(name);
    for (const [index, id] of Object.entries(inserted.uuids)) {
      const object = await collection.query.fetchObjectById(id, { includeVector: true });
      expect(object?.properties.title).toBe(index === '0' ? 'Lathe manual' : 'Press FAQ');
      expect(object?.vectors.default).toEqual(index === '0' ? [1, 0] : [0, 1]);
    }
    expect((await collection.aggregate.overAll()).totalCount).toBe(2);
    // The added property is usable at once.
    await collection.data.insert({
      properties: { title: 'Weld guideline', documentType: 'GUIDELINE' },
      vectors: [1, 1],
    });
    const guidelines = await collection.query.fetchObjects({
      filters: collection.filter.byProperty('documentType').equal('GUIDELINE'),
    });
    expect(guidelines.objects.map((o) => o.properties.title)).toEqual(['Weld guideline']);
  });

  it('refuses to retype a property and leaves that collection and its data as they are', async () => {
    const prefix = `${fx.prefix}D_`;
    const name = collectionName('InstructionTemplate', prefix);
    const old = await fx.client.collections.create({
      name,
      vectorizers: weaviate.configure.vectors.selfProvided(),
      properties: [{ name: 'successRate', dataType: 'text' }],
    });
    await old.data.insert({ properties: { successRate: 'high' }, vectors: [1, 0] });

    const failure = await provisionWeaviate(fx.client, silentProgress, { prefix }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(WeaviateSchemaConflictError);
    expect((failure as Error).message).toMatch(`${name}.successRate: is text, PRISM needs number`);
    // The safe work was still done: the other collections exist.
    expect((failure as WeaviateSchemaConflictError).report.created).toHaveLength(3);
    const objects = await fx.client.collections.use(name).query.fetchObjects();
    expect(objects.objects.map((o) => o.properties.successRate)).toEqual(['high']);
    const config = await fx.client.collections.export(name);
    expect(config.properties.find((p) => p.name === 'successRate')?.dataType).toBe('text');
  });
});
