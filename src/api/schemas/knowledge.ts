// External knowledge: documents ingested into Weaviate (ExternalKnowledge) with their record in PostgreSQL.
import { z } from 'zod';
import { documentTypes } from '../../stores/weaviate/schema.ts';
import { jsonObject, nonBlankText, storable } from '../../validation.ts';
import { limitSchema, searchModeSchema, timestamp } from './common.ts';

export const documentTypeSchema = z.enum(documentTypes);

export const ingestKnowledgeBody = z.strictObject({
  id: z
    .uuid()
    .optional()
    .describe(
      'Your id for the document; by default derived from source and title, so re-ingesting replaces it',
    ),
  title: nonBlankText(500),
  content: nonBlankText(200_000),
  documentType: documentTypeSchema,
  source: storable(z.string().max(500)).optional().describe('URL, file name or publisher'),
  metadata: jsonObject(64 * 1024).optional(),
});
export type IngestKnowledgeBody = z.input<typeof ingestKnowledgeBody>;

export const ingestedKnowledgeSchema = z.object({
  id: z.uuid().describe('The document id: the Weaviate object id and the knowledge_documents row id'),
  collection: z.string(),
  version: z.number().int().describe('1 when new, incremented by each re-ingest'),
  created: z.boolean(),
  vectorized: z
    .boolean()
    .describe(
      'false when the text has no English word the embedder knows: BM25 finds it, vector search does not',
    ),
  embedder: z.string().nullable(),
});
export type IngestedKnowledge = z.infer<typeof ingestedKnowledgeSchema>;

export const searchKnowledgeQuery = z.strictObject({
  q: nonBlankText(1000),
  mode: searchModeSchema.default('hybrid'),
  limit: limitSchema,
  documentType: documentTypeSchema.optional(),
});
export type SearchKnowledgeQuery = z.input<typeof searchKnowledgeQuery>;

export const knowledgeHitSchema = z.object({
  id: z.uuid(),
  score: z.number(),
  distance: z.number().optional(),
  title: z.string(),
  content: z.string(),
  documentType: z.string(),
  source: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: timestamp.nullable(),
});
export type KnowledgeHit = z.infer<typeof knowledgeHitSchema>;

export const knowledgeResultsSchema = z.object({
  mode: searchModeSchema.describe(
    'The mode used (hybrid falls back to bm25 for a query the embedder cannot read)',
  ),
  hits: z.array(knowledgeHitSchema),
  warning: z.string().optional(),
});
export type KnowledgeResults = z.infer<typeof knowledgeResultsSchema>;
