// The PostgreSQL record of each knowledge document (`knowledge_documents`): the document itself lives in
// Weaviate under the same id; the row keeps its title, type, source and version.
import type { PrismaClient } from '../../db/prisma.ts';
import type { DocumentType } from '../../generated/prisma/client.ts';

export async function findKnowledgeDocument(prisma: PrismaClient, weaviateId: string) {
  return prisma.knowledgeDocument.findUnique({ where: { weaviateId } });
}

/** Creates the record, or replaces it and increments its version: one statement, so a retry is safe. */
export async function upsertKnowledgeDocument(
  prisma: PrismaClient,
  d: {
    id: string;
    collection: string;
    title: string;
    documentType: DocumentType;
    summary: string;
    source: string | null;
    metadata: object;
    embedder: string | null;
  },
) {
  const { id, collection, ...record } = d;
  return prisma.knowledgeDocument.upsert({
    where: { weaviateId: id },
    create: { id, weaviateId: id, collection, ...record },
    update: { ...record, version: { increment: 1 } },
  });
}

/** The record of a document shipped with the product: created once, its title kept current. */
export async function ensureKnowledgeDocument(
  prisma: PrismaClient,
  d: {
    weaviateId: string;
    title: string;
    documentType: DocumentType;
    collection: string;
    source: string | null;
  },
) {
  return prisma.knowledgeDocument.upsert({
    where: { weaviateId: d.weaviateId },
    create: d,
    update: { title: d.title },
  });
}
