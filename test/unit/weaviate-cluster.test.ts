// The pure parts of Weaviate's cluster topology: each node's ports and environment, the client's endpoints,
// which failures move the client to another node and what it sends again, the collections' replication.
import { withRetries } from '../../src/retry.ts';
import { describe, expect, it } from 'vitest';
import type { WeaviateClient } from 'weaviate-client';
import {
  failoverClient,
  isConnectionError,
  isResendable,
  weaviateEndpoints,
  withObjectIds,
  type WeaviateEndpoint,
} from '../../src/clients/weaviate.ts';
import { weaviateClusterEnv, weaviateNodePorts } from '../../src/stack/services/weaviate.ts';
import { compare, replicationConfig } from '../../src/stores/weaviate/provision.ts';
import { externalKnowledgeSpec } from '../../src/stores/weaviate/schema.ts';
import type { CollectionConfig } from 'weaviate-client';

const ports = {
  WEAVIATE_CLUSTER_PORT: 7946,
  WEAVIATE_HTTP_PORT: 18080,
  WEAVIATE_GRPC_PORT: 50051,
  WEAVIATE_METRICS_PORT: 12112,
};
const machines = [1, 2, 3].map((index) => ({ index, address: `127.0.1.${index}` }));

describe('Weaviate nodes of the cluster topology', () => {
  it('keeps the single node on its ports, gossip and Raft on its address', () => {
    expect(weaviateNodePorts(ports)).toEqual({
      http: 18080,
      grpc: 50051,
      gossip: 7946,
      data: 7947,
      raft: 8300,
      raftRpc: 8301,
      metrics: 12112,
    });
    expect(weaviateClusterEnv({ ...ports, PRISM_BIND_ADDRESS: '127.0.0.1' })).toMatchObject({
      CLUSTER_HOSTNAME: 'node1',
      CLUSTER_BIND_ADDR: '127.0.0.1',
      CLUSTER_IN_LOCALHOST: 'true',
      RAFT_BOOTSTRAP_EXPECT: '1',
    });
    // Weaviate takes an IP only: a host name leaves its default (every address).
    expect(weaviateClusterEnv({ ...ports, PRISM_BIND_ADDRESS: 'localhost' })).not.toHaveProperty(
      'CLUSTER_BIND_ADDR',
    );
    // A single node is its own Raft leader: its schema reads stay Weaviate's default.
    expect(weaviateClusterEnv({ ...ports, PRISM_BIND_ADDRESS: '127.0.0.1' })).not.toHaveProperty(
      'COLLECTION_RETRIEVAL_STRATEGY',
    );
  });

  it('gives every port Weaviate binds to every address a value of its own on each node', () => {
    const wildcard = (p: ReturnType<typeof weaviateNodePorts>) => [p.grpc, p.data, p.metrics, p.gossip];
    const all = [undefined, 1, 2, 3].flatMap((i) => wildcard(weaviateNodePorts(ports, i)));
    expect(new Set(all).size).toBe(all.length);
    // Raft and its RPC must be the same on every node (a node reaches its peers on its own Raft ports).
    expect(new Set([1, 2, 3].map((i) => weaviateNodePorts(ports, i).raft))).toEqual(new Set([8300]));
  });

  it('joins every node to the others and makes each a Raft voter', () => {
    const env = weaviateClusterEnv(
      { ...ports, PRISM_BIND_ADDRESS: '127.0.1.2' },
      { machine: machines[1]!, machines },
    );
    expect(env).toMatchObject({
      CLUSTER_HOSTNAME: 'weaviate-2',
      CLUSTER_BIND_ADDR: '127.0.1.2',
      CLUSTER_IN_LOCALHOST: 'false',
      GRPC_PORT: '50053',
      CLUSTER_JOIN: '127.0.1.1:7956,127.0.1.2:7966,127.0.1.3:7976',
      RAFT_JOIN: 'weaviate-1:8300,weaviate-2:8300,weaviate-3:8300',
      RAFT_BOOTSTRAP_EXPECT: '3',
      // Data requests do not wait on the Raft leader (test/cluster/weaviate.test.ts kills it).
      COLLECTION_RETRIEVAL_STRATEGY: 'LocalOnly',
    });
  });
});

describe('the Weaviate client over several nodes', () => {
  const env = { ...ports, WEAVIATE_API_KEY: undefined };

  it('reaches each node of the cluster topology on its own gRPC port, any other host on WEAVIATE_GRPC_PORT', () => {
    expect(
      weaviateEndpoints({
        ...env,
        WEAVIATE_HOST: '127.0.1.1,127.0.1.3',
        PRISM_TOPOLOGY: 'cluster',
        PRISM_CLUSTER_MACHINES: '127.0.1.1,127.0.1.2,127.0.1.3',
      }).map((e) => e.grpcPort),
    ).toEqual([50052, 50054]);
    expect(weaviateEndpoints({ ...env, WEAVIATE_HOST: 'a,b' }).map((e) => e.grpcPort)).toEqual([
      50051, 50051,
    ]);
  });

  it('tells a node that cannot be reached from an answer of the node', () => {
    expect(isConnectionError(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }))).toBe(true);
    expect(
      isConnectionError(new Error('/weaviate.v1.Weaviate/Search UNAVAILABLE: No connection established')),
    ).toBe(true);
    expect(isConnectionError(new Error('cannot achieve consistency level QUORUM: read repair error'))).toBe(
      false,
    );
    expect(isConnectionError(new Error('class PrismX not found'))).toBe(false);
  });

  it('sends again only what cannot change the outcome twice', () => {
    for (const m of ['fetchObjects', 'bm25', 'exists', 'getByName', 'insertMany', 'deleteById'])
      expect(isResendable(m), m).toBe(true);
    for (const m of ['insert', 'create', 'update', 'addProperty', undefined])
      expect(isResendable(m), m).toBe(false);
    const [a, b] = withObjectIds([{ properties: { x: 1 } }, { properties: { x: 2 }, id: 'kept' }]) as {
      id: string;
    }[];
    expect(a!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(b!.id).toBe('kept');
  });

  /** A client of one fake node: `down` nodes refuse every call, as a killed process does. */
  function fakeNodes(down: Set<string>, calls: string[]) {
    return async (endpoint: WeaviateEndpoint): Promise<WeaviateClient> => {
      const refuse = (what: string) => async () => {
        calls.push(`${endpoint.host}:${what}`);
        if (down.has(endpoint.host)) throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
        return `${what} from ${endpoint.host}`;
      };
      if (down.has(endpoint.host) && calls.includes(`connect-refused:${endpoint.host}`))
        throw new Error('refused');
      const collection = {
        query: { fetchObjects: refuse('fetchObjects') },
        tenants: { create: refuse('create') },
        withTenant: () => collection,
      };
      return {
        collections: { use: () => collection },
        close: async () => undefined,
      } as unknown as WeaviateClient;
    };
  }
  const endpoints = ['n1', 'n2', 'n3'].map((host) => ({ host, httpPort: 1, grpcPort: 2 }));
  const options = { live: () => 'http://127.0.0.1:9/', suspectAfterMs: 60_000 };

  it('moves to the next node when its node is lost, and sends a read again there', async () => {
    const down = new Set<string>();
    const calls: string[] = [];
    const client = await failoverClient(endpoints, fakeNodes(down, calls), options);
    // A handle taken before the loss moves with the client.
    const memory = client.collections.use('AgentMemory').withTenant('a');
    expect(await memory.query.fetchObjects()).toBe('fetchObjects from n1');
    down.add('n1');
    expect(await memory.query.fetchObjects()).toBe('fetchObjects from n2');
    expect(calls).toEqual(['n1:fetchObjects', 'n1:fetchObjects', 'n2:fetchObjects']);
  });

  it('gives handles of the shape of what they stand for, so the retry wrapper walks into them', async () => {
    const calls: string[] = [];
    const client = await failoverClient(endpoints, fakeNodes(new Set(), calls), options);
    const collection = client.collections.use('AgentMemory');
    expect(typeof client.collections).toBe('object');
    expect(typeof collection).toBe('object');
    expect(typeof collection.query).toBe('object');
    expect(typeof collection.query.fetchObjects).toBe('function');
    // As the agents use it: every method retried (src/retry.ts), nested objects wrapped the same way.
    const retried = withRetries(collection, () => ({
      component: 'Weaviate',
      target: 'n1',
      maxWaitMs: 1_000,
    }));
    expect(await retried.query.fetchObjects()).toBe('fetchObjects from n1');
  });

  it('fails a write that is not safe to send twice, and sends the next to the new node', async () => {
    const down = new Set<string>(['n1']);
    const calls: string[] = [];
    const client = await failoverClient(endpoints, fakeNodes(down, calls), options);
    const collection = client.collections.use('AgentMemory');
    await expect(collection.tenants.create([{ name: 'a' }])).rejects.toThrow('fetch failed');
    expect(await collection.tenants.create([{ name: 'a' }])).toBe('create from n2');
  });
});

describe('replication of the collections', () => {
  it('creates replicas with async repair only when the factor asks for more than one copy', () => {
    expect(replicationConfig(1)).toBeUndefined();
    expect(replicationConfig(3)).toMatchObject({
      factor: 3,
      asyncEnabled: true,
      deletionStrategy: 'TimeBasedResolution',
    });
  });

  it('reports a collection whose factor differs from WEAVIATE_REPLICATION_FACTOR, never changes it', () => {
    const existing = {
      name: 'ExternalKnowledge',
      multiTenancy: { enabled: false },
      replication: { factor: 1 },
      properties: externalKnowledgeSpec.properties.map((p) => ({ name: p.name, dataType: p.dataType })),
    } as unknown as CollectionConfig;
    expect(compare(existing, externalKnowledgeSpec as never, 1).conflicts).toEqual([]);
    expect(compare(existing, externalKnowledgeSpec as never, 3).conflicts).toEqual([
      expect.stringContaining('WEAVIATE_REPLICATION_FACTOR asks for 3'),
    ]);
  });
});
