// The GloVe embedder end to end: real word vectors from node_modules, stored in Weaviate, searched by
// meaning. Loading the vectors takes several seconds, once for this file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentProgress } from '../../../src/progress.ts';
import {
  importObjects,
  loadGloveEmbedder,
  manufacturingKnowledgeSpec,
  prismCollection,
  provisionWeaviate,
  search,
  type Embedder,
} from '../../../src/stores/weaviate/index.ts';
import { manufacturingDocs, weaviateFixture, type WeaviateFixture } from './fixtures.ts';

const cosine = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('GloVe embedder', () => {
  let embedder: Embedder;
  let fx: WeaviateFixture;
  beforeAll(async () => {
    embedder = await loadGloveEmbedder();
    fx = await weaviateFixture();
    await provisionWeaviate(fx.client, silentProgress, { prefix: fx.prefix });
  });
  afterAll(async () => {
    await fx.cleanup();
  });

  it('places related sentences closer than unrelated ones, without shared words', async () => {
    const [query, related, unrelated, other] = await embedder.embed([
      'spindle motor overheating on the milling machine',
      'the lathe drive runs too hot and its bearings show a high temperature',
      'the football team won the championship after extra time',
      'quarterly revenue grew in the retail stores',
    ]);
    expect(query).toHaveLength(embedder.dimensions);
    expect(Math.hypot(...query!)).toBeCloseTo(1, 6);
    expect(cosine(query!, related!)).toBeGreaterThan(cosine(query!, unrelated!) + 0.15);
    expect(cosine(query!, related!)).toBeGreaterThan(cosine(query!, other!) + 0.15);
    expect(await embedder.embed(['Spindle overheating'])).toEqual(
      await embedder.embed(['spindle, OVERHEATING!']),
    );
  });

  it('refuses a text with no known English word, naming it', async () => {
    await expect(embedder.embed(['coolant pressure', '12345 ###'])).rejects.toThrow(
      /text 1 has no English word/,
    );
  });

  it('finds a document by meaning through vector and hybrid search', async () => {
    const knowledge = prismCollection(fx.client, 'ManufacturingKnowledge', { prefix: fx.prefix });
    const report = await importObjects(
      knowledge,
      manufacturingDocs.map((d) => ({ properties: d.properties })),
      { embed: { embedder, text: manufacturingKnowledgeSpec.embeddingText } },
    );
    expect(report.failures).toEqual([]);
    const stored = await knowledge.query.fetchObjects({ includeVector: true });
    expect(stored.objects.every((o) => (o.vectors.default as number[]).length === 100)).toBe(true);

    // No document contains any of these words.
    const query = 'bubbles and voids inside soldered joints';
    expect(await search(knowledge, { mode: 'bm25', query, limit: 3 })).toEqual([]);
    const byMeaning = await search(knowledge, { mode: 'vector', query, embedder, limit: 4 });
    expect(byMeaning[0]!.properties.processName).toBe('Robotic MIG welding');
    const hybrid = await search(knowledge, { mode: 'hybrid', query, embedder, alpha: 0.75, limit: 4 });
    expect(hybrid[0]!.properties.processName).toBe('Robotic MIG welding');
  });

  it('reports an object whose text cannot be embedded, and imports the others', async () => {
    const knowledge = prismCollection(fx.client, 'InstructionTemplate', { prefix: fx.prefix });
    const template = (name: string, original: string) => ({
      properties: { agentType: 'MONITORING', name, original, rewritten: original, successRate: 1 },
    });
    const report = await importObjects(
      knowledge,
      [template('vibration', 'watch the vibration of press 4'), template('42', '### 42')],
      { embed: { embedder, text: (p) => `${p.name} ${p.original}` } },
    );
    expect(report.inserted).toBe(1);
    expect(report.failures).toEqual([
      { index: 1, id: undefined, message: expect.stringMatching(/no English word known/) },
    ]);
  });
});
