// Merging search hits of several collections into one list. Pure.

export interface KnowledgeHit {
  id: string;
  collection: string;
  title: string;
  snippet: string;
  score: number;
}

/** The best `limit` hits, highest score first; ties broken by collection and id so the order is stable. */
export function rankHits(hits: readonly KnowledgeHit[], limit: number): KnowledgeHit[] {
  return [...hits]
    .sort((a, b) => b.score - a.score || a.collection.localeCompare(b.collection) || a.id.localeCompare(b.id))
    .slice(0, limit);
}
