// The agent's store clients as a handler sees them for one command: a call that cannot reach its store
// (refused, dropped, timed out: the store restarting) is retried with backoff until the command's deadline
// instead of failing the step at once; when the store stays away, the step fails naming it
// ("InfluxDB unreachable at http://127.0.0.1:18086: connect ECONNREFUSED ..."), never blaming the agent.
import type { Redis } from 'ioredis';
import type { Collection, WeaviateClient } from 'weaviate-client';
import type { Env } from '../config.ts';
import type { PrismaClient } from '../db/prisma.ts';
import { retryTransient, withRetries, type RetryPolicy } from '../retry.ts';
import type { FluxTarget } from '../stores/influx/queries.ts';
import type { Envelope } from '../stores/kafka/envelope.ts';
import type { PublishOptions } from '../stores/kafka/producer.ts';
import { agentMemory, prismCollection, type SharedCollectionName } from '../stores/weaviate/collections.ts';
import type { AgentMemory, CollectionShapes } from '../stores/weaviate/schema.ts';
import { weaviateRestUrl } from '../clients/weaviate.ts';
import { redisTarget } from '../clients/redis.ts';
import type { AgentStores } from './stores.ts';
import type { AgentLogger } from './types.ts';
import { inSpan, SpanKind, tracedClient } from '../tracing.ts';

export type StoreName = 'PostgreSQL' | 'Redis' | 'InfluxDB' | 'Weaviate' | 'Kafka';

// The answer still has to travel back (Kafka, the bridge, a signal) before the workflow stops waiting.
const answerMarginMs = 2_000;

/** Until when a command's store calls are retried: its deadline, less the time its answer needs. */
export function retryDeadlineMs(deadlineAt: string, now = Date.now()): number {
  const deadline = Date.parse(deadlineAt);
  if (Number.isNaN(deadline)) return now + 30_000;
  return Math.max(now + 1_000, deadline - answerMarginMs);
}

/** Where each store is, as the final error names it. */
export function storeTarget(env: Env, store: StoreName): string {
  switch (store) {
    case 'PostgreSQL':
      return env.POSTGRES_HOST.split(',')
        .map((h) => `${h}:${env.POSTGRES_PORT}`)
        .join(',');
    case 'Redis':
      return redisTarget(env);
    case 'InfluxDB':
      return env.INFLUX_URL;
    case 'Weaviate':
      return weaviateRestUrl(env);
    case 'Kafka':
      return env.KAFKA_BROKERS;
  }
}

/** One command's view of the agent's clients, each call retried within `deadlineMs`. */
export class CommandStores {
  private prismaClient?: PrismaClient;
  private redisClient?: Redis;
  private flux?: FluxTarget;

  constructor(
    private readonly stores: AgentStores,
    readonly deadlineMs: number,
    private readonly log?: AgentLogger,
  ) {}

  policy(store: StoreName): RetryPolicy {
    let warned = false;
    return {
      component: store,
      target: storeTarget(this.stores.env, store),
      deadlineMs: this.deadlineMs,
      onRetry: ({ reason }) => {
        // Once per call: a store that is down for a while must not flood the log.
        if (!warned) this.log?.warn(`${store} unreachable (${reason}); retrying until the step's deadline`);
        warned = true;
      },
    };
  }

  retry<T>(store: StoreName, work: () => Promise<T>): Promise<T> {
    return retryTransient(work, this.policy(store));
  }

  /** Tracing on: each call of the client is a span of the command's trace (src/tracing.ts). */
  private traced<T extends object>(client: T, store: StoreName): T {
    const tracer = this.stores.tracer;
    return tracer ? tracedClient(client, tracer, store.toLowerCase()) : client;
  }

  get prisma(): PrismaClient {
    // A query extension: every model operation and raw query, each retried on its own.
    this.prismaClient ??= this.stores.prisma.$extends({
      query: {
        $allOperations: ({ model, operation, args, query }) => {
          const tracer = this.stores.tracer;
          if (!tracer) return this.retry('PostgreSQL', () => query(args));
          const name = `postgresql ${model ? `${model}.` : ''}${operation}`;
          const attributes = { 'db.system.name': 'postgresql', 'db.operation.name': operation };
          return inSpan(tracer, name, { kind: SpanKind.CLIENT, attributes }, () =>
            this.retry('PostgreSQL', () => query(args)),
          );
        },
      },
    }) as unknown as PrismaClient;
    return this.prismaClient;
  }

  /**
   * Single commands and scripts are retried; a MULTI or pipeline is sent as is (ioredis itself queues it
   * while reconnecting, for a few tries).
   */
  get redis(): Redis {
    this.redisClient ??= this.traced(
      withRetries(this.stores.redis, () => this.policy('Redis')),
      'Redis',
    );
    return this.redisClient;
  }

  get influx(): FluxTarget {
    const { queryApi, bucket, transport } = this.stores.influx;
    const resilient = <T extends object>(client: T) =>
      this.traced(
        withRetries(client, () => this.policy('InfluxDB')),
        'InfluxDB',
      );
    // Flux queries, and the InfluxQL reads that go by the transport (src/stores/influx/queries.ts).
    this.flux ??= {
      queryApi: resilient(queryApi),
      bucket,
      ...(transport ? { transport: resilient(transport) } : {}),
    };
    return this.flux;
  }

  async weaviate(): Promise<WeaviateClient> {
    return this.traced(
      withRetries(await this.retry('Weaviate', () => this.stores.weaviate()), () => this.policy('Weaviate')),
      'Weaviate',
    );
  }

  async collection<N extends SharedCollectionName>(name: N): Promise<Collection<CollectionShapes[N]>> {
    const client = await this.retry('Weaviate', () => this.stores.weaviate());
    return this.traced(
      withRetries(prismCollection(client, name, { prefix: this.stores.weaviatePrefix }), () =>
        this.policy('Weaviate'),
      ),
      'Weaviate',
    );
  }

  async memory(agentId: string): Promise<Collection<AgentMemory>> {
    const client = await this.retry('Weaviate', () => this.stores.weaviate());
    const memory = await this.retry('Weaviate', () =>
      agentMemory(client, agentId, { prefix: this.stores.weaviatePrefix }),
    );
    return this.traced(
      withRetries(memory, () => this.policy('Weaviate')),
      'Weaviate',
    );
  }

  async publish(topic: string, envelope: Envelope, options: PublishOptions = {}): Promise<void> {
    await this.retry('Kafka', async () => {
      await (await this.stores.publisher()).publish(topic, envelope, options);
    });
  }
}
