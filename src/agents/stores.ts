// The store clients of one agent process, each built on first use and closed once when the agent stops.
import type { Redis } from 'ioredis';
import type { WeaviateClient } from 'weaviate-client';
import { createInflux } from '../clients/influx.ts';
import { createKafka } from '../clients/kafka.ts';
import { createRedis } from '../clients/redis.ts';
import { connectWeaviate } from '../clients/weaviate.ts';
import type { Env } from '../config.ts';
import { createPrisma, type PrismaClient } from '../db/prisma.ts';
import { influxTarget, type FluxTarget } from '../stores/influx/queries.ts';
import { createPublisher, type Publisher } from '../stores/kafka/producer.ts';
import { createAgentStateStore, type AgentStateStore } from '../stores/redis/agent-state.ts';
import { createLockManager, type LockManager } from '../stores/redis/locks.ts';
import { createSharedMemory, type SharedMemory } from '../stores/redis/shared-memory.ts';
import { agentMemory, prismCollection } from '../stores/weaviate/collections.ts';
import { loadGloveEmbedder } from '../stores/weaviate/glove-embedder.ts';
import { tracerOf, type Tracer, type Tracing } from '../tracing.ts';

export interface AgentStoresOptions {
  redisPrefix?: string;
  weaviatePrefix?: string;
  /** The agent's spans: its commands, answers and store calls (src/tracing.ts). */
  tracing?: Tracing;
}

export class AgentStores {
  private prismaClient?: PrismaClient;
  private redisClient?: Redis;
  private stateStore?: AgentStateStore;
  private lockManager?: LockManager;
  private flux?: FluxTarget;
  private weaviateClient?: Promise<WeaviateClient>;
  private kafkaPublisher?: Promise<Publisher>;

  constructor(
    readonly env: Env,
    readonly options: AgentStoresOptions = {},
  ) {}

  get prisma(): PrismaClient {
    // A small pool: an agent runs one command at a time by default.
    this.prismaClient ??= createPrisma(this.env, { poolSize: 4 });
    return this.prismaClient;
  }

  get redis(): Redis {
    this.redisClient ??= createRedis(this.env);
    return this.redisClient;
  }

  get agentState(): AgentStateStore {
    this.stateStore ??= createAgentStateStore(this.redis, { prefix: this.options.redisPrefix });
    return this.stateStore;
  }

  /** Distributed locks (with fencing tokens), e.g. on the machine an agent acts on. */
  get locks(): LockManager {
    this.lockManager ??= createLockManager(this.redis, { prefix: this.options.redisPrefix });
    return this.lockManager;
  }

  /** Memory shared between agents under a namespace (a task's steps use `task.<taskId>`). */
  sharedMemory(namespace: string): SharedMemory {
    return createSharedMemory(this.redis, { namespace, prefix: this.options.redisPrefix });
  }

  /** The agent's tracer; none when tracing is off. */
  get tracer(): Tracer | undefined {
    return this.options.tracing ? tracerOf(this.options.tracing) : undefined;
  }

  get weaviatePrefix(): string {
    return this.options.weaviatePrefix ?? this.env.WEAVIATE_COLLECTION_PREFIX;
  }

  get influx(): FluxTarget {
    this.flux ??= influxTarget(createInflux(this.env), this.env.INFLUX_BUCKET);
    return this.flux;
  }

  weaviate(): Promise<WeaviateClient> {
    this.weaviateClient ??= connectWeaviate(this.env).catch((err: unknown) => {
      this.weaviateClient = undefined;
      throw err;
    });
    return this.weaviateClient;
  }

  async collection<N extends Parameters<typeof prismCollection>[1]>(name: N) {
    return prismCollection(await this.weaviate(), name, { prefix: this.weaviatePrefix });
  }

  async memory(agentId: string) {
    return agentMemory(await this.weaviate(), agentId, { prefix: this.weaviatePrefix });
  }

  embedder = loadGloveEmbedder;

  publisher(): Promise<Publisher> {
    this.kafkaPublisher ??= (async () => {
      const publisher = createPublisher(createKafka(this.env), {}, { tracer: this.tracer });
      await publisher.connect();
      return publisher;
    })().catch((err: unknown) => {
      this.kafkaPublisher = undefined;
      throw err;
    });
    return this.kafkaPublisher;
  }

  async close(): Promise<void> {
    const publisher = this.kafkaPublisher?.catch(() => undefined);
    const weaviate = this.weaviateClient?.catch(() => undefined);
    await Promise.allSettled([
      publisher?.then((p) => p?.disconnect()),
      weaviate?.then((w) => w?.close()),
      this.prismaClient?.$disconnect(),
      this.redisClient?.quit(),
    ]);
    // The spans of its last commands and answers, before the process may end.
    await this.options.tracing?.flush();
  }
}
