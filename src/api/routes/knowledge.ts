// External knowledge: a document goes to Weaviate (ExternalKnowledge, with its vector) and gets a record in
// PostgreSQL (knowledge_documents) linking the Weaviate object; `knowledge.updates` announces it.
import type { FastifyInstance } from 'fastify';
import { uuidFrom } from '../../task/ids.ts';
import { createEnvelope } from '../../stores/kafka/envelope.ts';
import { findKnowledgeDocument, upsertKnowledgeDocument } from '../../stores/postgres/knowledge.ts';
import { Topic } from '../../stores/kafka/topics.ts';
import { prismCollection } from '../../stores/weaviate/collections.ts';
import { importObjects } from '../../stores/weaviate/import.ts';
import {
  collectionName,
  externalKnowledgeSpec,
  type ExternalKnowledge,
} from '../../stores/weaviate/schema.ts';
import type { ApiDeps } from '../deps.ts';
import { defineRoute } from '../route.ts';
import {
  ingestedKnowledgeSchema,
  ingestKnowledgeBody,
  knowledgeResultsSchema,
  searchKnowledgeQuery,
  type KnowledgeHit,
} from '../schemas/knowledge.ts';
import { searchText, vectorOf, weaviateRefused } from '../vectors.ts';

const collection = collectionName('ExternalKnowledge');

function parseMetadata(text: string | undefined): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text ?? '{}');
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

export function knowledgeRoutes(app: FastifyInstance, deps: ApiDeps): void {
  defineRoute(app, {
    method: 'POST',
    url: '/knowledge',
    permission: 'knowledge:ingest',
    tags: ['knowledge'],
    summary: 'Ingest a document into the knowledge base',
    description:
      'Stores the document in Weaviate (ExternalKnowledge) with a vector of its title and content, and its ' +
      'record in PostgreSQL (knowledge_documents). Idempotent: the document id is yours (`id`) or derived from ' +
      '`source` and `title`, and ingesting the same id again replaces the document and increments its version.',
    body: ingestKnowledgeBody,
    responses: {
      200: { description: 'Stored', schema: ingestedKnowledgeSchema },
      502: { description: 'Weaviate refused the document' },
    },
    handler: async (request) => {
      const { id: givenId, title, content, documentType, source, metadata = {} } = request.body;
      const id = givenId ?? uuidFrom(`knowledge:${source ?? ''}:${title}`);
      const existing = await findKnowledgeDocument(deps.prisma, id);
      const properties: ExternalKnowledge = {
        title,
        content,
        documentType,
        ...(source !== undefined ? { source } : {}),
        metadata: JSON.stringify(metadata),
        createdAt: existing?.createdAt ?? new Date(),
        accessCount: existing?.accessCount ?? 0,
      };
      const { vector, embedder } = await vectorOf(deps, externalKnowledgeSpec.embeddingText(properties));
      const report = await importObjects(
        prismCollection(deps.weaviate, 'ExternalKnowledge', { prefix: deps.env.WEAVIATE_COLLECTION_PREFIX }),
        [{ id, properties, ...(vector ? { vector } : {}) }],
      );
      if (report.failures.length > 0) throw weaviateRefused('document', report.failures[0]!.message);
      const record = {
        title,
        documentType,
        summary: content.slice(0, 500),
        source: source ?? null,
        metadata: metadata as object,
        embedder: vector ? embedder : null,
      };
      // Weaviate first: if PostgreSQL fails now, the client's retry rewrites the same object.
      const row = await upsertKnowledgeDocument(deps.prisma, { id, collection, ...record });
      await deps.publisher.publish(
        Topic.KnowledgeUpdates,
        createEnvelope({
          id: uuidFrom(`knowledge:${id}:v${row.version}`),
          type: 'knowledge.updated',
          payload: {
            documentId: id,
            collection,
            title,
            documentType,
            source: source ?? null,
            version: row.version,
          },
        }),
        { key: id },
      );
      return {
        id,
        collection,
        version: row.version,
        created: !existing,
        vectorized: vector !== null,
        embedder: record.embedder,
      };
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/knowledge/search',
    permission: 'knowledge:search',
    tags: ['knowledge'],
    summary: 'Search the knowledge base',
    description:
      '`mode=bm25` matches keywords; `vector` matches meaning (GloVe word vectors, English only); `hybrid` ' +
      '(default) fuses both. The first vector or hybrid search of a server process loads the word vectors (a few seconds).',
    query: searchKnowledgeQuery,
    responses: { 200: { description: 'Best first', schema: knowledgeResultsSchema } },
    handler: async (request) => {
      const { q, mode, limit, documentType } = request.query;
      const result = await searchText(
        deps,
        prismCollection(deps.weaviate, 'ExternalKnowledge', { prefix: deps.env.WEAVIATE_COLLECTION_PREFIX }),
        {
          mode,
          query: q,
          limit,
          ...(documentType ? { filters: { documentType } } : {}),
        },
      );
      const hits: KnowledgeHit[] = result.hits.map(({ id, score, distance, properties: p }) => ({
        id,
        score,
        ...(distance !== undefined ? { distance } : {}),
        title: p.title,
        content: p.content,
        documentType: p.documentType,
        source: p.source ?? null,
        metadata: parseMetadata(p.metadata),
        createdAt: p.createdAt ? new Date(p.createdAt).toISOString() : null,
      }));
      return { mode: result.mode, hits, ...(result.warning ? { warning: result.warning } : {}) };
    },
  });
}
