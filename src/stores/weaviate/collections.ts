// Typed handles on PRISM's collections. AgentMemory is multi-tenant: reach it through agentMemory().
import type { Collection, WeaviateClient } from 'weaviate-client';
import { collectionName, type AgentMemory, type CollectionName, type CollectionShapes } from './schema.ts';

export type SharedCollectionName = Exclude<CollectionName, 'AgentMemory'>;

export function prismCollection<N extends SharedCollectionName>(
  client: WeaviateClient,
  name: N,
  options: { prefix?: string } = {},
): Collection<CollectionShapes[N]> {
  return client.collections.use<string, CollectionShapes[N]>(collectionName(name, options.prefix));
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
  const collection = client.collections.use<string, AgentMemory>(
    collectionName('AgentMemory', options.prefix),
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
