// The one search entry point over every PRISM collection: keyword (BM25), vector, or both (hybrid).
import { Filters, type Collection, type FilterValue } from 'weaviate-client';
import type { Embedder } from './embedder.ts';

export type SearchMode = 'bm25' | 'vector' | 'hybrid';

type Scalar = string | number | boolean | Date;
/** Equality per property; an array means "any of these values". All conditions must hold. */
export type SearchFilters<P> = { [K in keyof P]?: P[K] extends Scalar | undefined ? P[K] | P[K][] : never };

export type SearchOptions<P> = {
  mode: SearchMode;
  /** The text to search for: required for bm25 and hybrid, and for vector when no `vector` is given. */
  query?: string;
  /** The query vector; when absent, vector and hybrid search embed `query` with `embedder`. */
  vector?: number[];
  embedder?: Embedder;
  /** Hybrid only: 0 is pure keyword, 1 pure vector. Default 0.5. */
  alpha?: number;
  limit: number;
  filters?: SearchFilters<P>;
};

export type SearchHit<P> = {
  id: string;
  properties: P;
  /** Higher is better. bm25: the BM25 score; hybrid: the fused score (0–1); vector: 1 − cosine distance. */
  score: number;
  /** Vector mode only: the cosine distance to the query vector. */
  distance?: number;
};

function whereClause<P>(collection: Collection<P>, filters: SearchFilters<P> | undefined) {
  const conditions: FilterValue[] = Object.entries(filters ?? {}).flatMap(([name, value]) => {
    if (value === undefined) return [];
    const property = collection.filter.byProperty(name as never) as unknown as {
      equal(v: Scalar): FilterValue;
      containsAny(v: Scalar[]): FilterValue;
    };
    return [Array.isArray(value) ? property.containsAny(value as Scalar[]) : property.equal(value as Scalar)];
  });
  if (conditions.length === 0) return undefined;
  return conditions.length === 1 ? conditions[0] : Filters.and(...conditions);
}

async function queryVector<P>(options: SearchOptions<P>): Promise<number[]> {
  if (options.vector) return options.vector;
  if (!options.query || !options.embedder) {
    throw new Error(
      `${options.mode} search needs a query vector: pass \`vector\`, or \`query\` with an \`embedder\` ` +
        '(or use mode "bm25" for keyword search)',
    );
  }
  const [vector] = await options.embedder.embed([options.query]);
  return vector!;
}

function requireQuery<P>(options: SearchOptions<P>): string {
  if (!options.query?.trim()) throw new Error(`${options.mode} search needs a non-empty \`query\``);
  return options.query;
}

/** Searches a collection (or a tenant of it: pass `collection.withTenant(agentId)`). */
export async function search<P>(
  collection: Collection<P>,
  options: SearchOptions<P>,
): Promise<SearchHit<P>[]> {
  const { mode, limit } = options;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new Error(`search limit must be an integer from 1 to 1000, got ${limit}`);
  }
  const alpha = options.alpha ?? 0.5;
  if (alpha < 0 || alpha > 1) throw new Error(`hybrid alpha must be between 0 and 1, got ${alpha}`);
  const filters = whereClause(collection, options.filters);
  const hit = (o: {
    uuid: string;
    properties: unknown;
    metadata?: { score?: number; distance?: number };
  }) => ({
    id: o.uuid,
    properties: o.properties as P,
    score: o.metadata?.score ?? 0,
  });

  switch (mode) {
    case 'bm25': {
      const result = await collection.query.bm25(requireQuery(options), {
        limit,
        filters,
        returnMetadata: ['score'],
      });
      return result.objects.map(hit);
    }
    case 'hybrid': {
      const query = requireQuery(options);
      const result = await collection.query.hybrid(query, {
        vector: await queryVector(options),
        alpha,
        limit,
        filters,
        returnMetadata: ['score'],
      });
      return result.objects.map(hit);
    }
    case 'vector': {
      const result = await collection.query.nearVector(await queryVector(options), {
        limit,
        filters,
        returnMetadata: ['distance'],
      });
      return result.objects.map((o) => {
        const distance = o.metadata?.distance ?? 1;
        return { ...hit(o), score: 1 - distance, distance };
      });
    }
    default:
      throw new Error(`unknown search mode "${String(mode)}": use bm25, vector or hybrid`);
  }
}
