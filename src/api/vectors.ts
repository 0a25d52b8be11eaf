// Vectors for what the API writes to Weaviate and for its searches, from the one embedder of the
// product (deps.embedder, loaded on first use). A text the embedder cannot read (no English word it
// knows, e.g. Korean) is stored without a vector rather than with a made-up one: BM25 still finds it.
import type { Collection } from 'weaviate-client';
import { UnembeddableTextError } from '../stores/weaviate/glove-embedder.ts';
import { search, type SearchFilters, type SearchHit, type SearchMode } from '../stores/weaviate/search.ts';
import type { ApiDeps } from './deps.ts';
import { PrismError } from '../errors.ts';
import { RequestValidationError } from './errors.ts';

export interface TextVector {
  vector: number[] | null;
  embedder: string;
}

export async function vectorOf(deps: Pick<ApiDeps, 'embedder'>, text: string): Promise<TextVector> {
  const embedder = await deps.embedder();
  try {
    const [vector] = await embedder.embed([text]);
    return { vector: vector ?? null, embedder: embedder.name };
  } catch (err) {
    if (err instanceof UnembeddableTextError) return { vector: null, embedder: embedder.name };
    throw err;
  }
}

export interface SearchOutcome<P> {
  mode: SearchMode;
  hits: SearchHit<P>[];
  warning?: string;
}

/** Searches in the requested mode; a hybrid search of a query the embedder cannot read falls back to BM25. */
export async function searchText<P>(
  deps: Pick<ApiDeps, 'embedder'>,
  collection: Collection<P>,
  options: { mode: SearchMode; query: string; limit: number; filters?: SearchFilters<P> },
): Promise<SearchOutcome<P>> {
  const { mode, query, limit, filters } = options;
  if (mode === 'bm25') return { mode, hits: await search(collection, { mode, query, limit, filters }) };
  const { vector } = await vectorOf(deps, query);
  if (!vector) {
    const reason = 'the query has no English word the embedder knows';
    if (mode === 'vector') {
      const message = `${reason}: search it with mode=bm25 or mode=hybrid`;
      throw new RequestValidationError([{ field: 'query.q', message }]);
    }
    return {
      mode: 'bm25',
      hits: await search(collection, { mode: 'bm25', query, limit, filters }),
      warning: `${reason}: searched by keywords only (bm25)`,
    };
  }
  return { mode, hits: await search(collection, { mode, query, vector, limit, filters }) };
}

/** What to tell a client when Weaviate refused an object. */
export function weaviateRefused(what: string, reason: string): PrismError {
  return new PrismError(
    'STORE_REFUSED',
    `Weaviate did not store the ${what}: ${reason}. If a collection is missing, run \`prism provision\`.`,
  );
}
