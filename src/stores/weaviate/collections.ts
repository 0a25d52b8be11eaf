// Typed handles on PRISM's collections. AgentMemory is multi-tenant: reach it through agentMemory().
import type { Collection, WeaviateClient } from 'weaviate-client';
import { weaviateReplicationFactor } from '../../clients/weaviate.ts';
import { collectionName, type AgentMemory, type CollectionName, type CollectionShapes } from './schema.ts';

export type SharedCollectionName = Exclude<CollectionName, 'AgentMemory'>;

/**
 * The consistency level of every read and write, where the collections keep replicas (WEAVIATE_REPLICATION_
 * FACTOR > 1; docs/scaling.md#weaviate). Writes wait for a quorum of replicas (2 of 3): one lost node neither
 * stops them nor loses an acknowledged object. Reads ask a quorum too: QUORUM + QUORUM > the factor, so an
 * agent always recalls the memory it has just written and a document is found as soon as its import
 * returns. ONE would answer from any single replica and outlive two lost nodes, but with two lost the
 * writes stop anyway; it would buy speed (one digest read less), not availability.
 */
export const consistency = { write: 'QUORUM', read: 'QUORUM' } as const;

/** The handle at the level of its reads and writes (the same); as it was, without replicas. */
function replicated<P>(client: WeaviateClient, collection: Collection<P>): Collection<P> {
  return weaviateReplicationFactor(client) > 1 ? collection.withConsistency(consistency.write) : collection;
}

export function prismCollection<N extends SharedCollectionName>(
  client: WeaviateClient,
  name: N,
  options: { prefix?: string } = {},
): Collection<CollectionShapes[N]> {
  return replicated(
    client,
    client.collections.use<string, CollectionShapes[N]>(collectionName(name, options.prefix)),
  );
}

// Weaviate's rule for tenant names.
const tenantName = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The memory of one agent: a handle on its own tenant of AgentMemory, created on first use. Objects
 * written or searched through it are invisible to every other agent.
 */
export async function agentMemory(
  client: WeaviateClient,
  agentId: string,
  options: { prefix?: string } = {},
): Promise<Collection<AgentMemory>> {
  if (!tenantName.test(agentId)) {
    throw new Error(
      `agent id "${agentId}" cannot name a Weaviate tenant: use 1 to 64 letters, digits, _ or -`,
    );
  }
  const collection = replicated(
    client,
    client.collections.use<string, AgentMemory>(collectionName('AgentMemory', options.prefix)),
  );
  if (!(await collection.tenants.getByName(agentId))) {
    try {
      await collection.tenants.create([{ name: agentId }]);
    } catch (err) {
      // Two workers may create the same agent's tenant at once; only a tenant still missing is an error.
      if (!(await collection.tenants.getByName(agentId))) throw err;
    }
  }
  return collection.withTenant(agentId);
}
