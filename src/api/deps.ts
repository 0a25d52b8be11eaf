// The clients the API uses, built once per process by `startApi` and closed when it stops. Tests build
// the same deps against the real services.
import type { Client } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import type { WeaviateClient } from 'weaviate-client';
import type { Redis } from 'ioredis';
import { createKafka } from '../clients/kafka.ts';
import { createRedis } from '../clients/redis.ts';
import { connectTemporal } from '../clients/temporal.ts';
import { connectWeaviate } from '../clients/weaviate.ts';
import type { Env } from '../config.ts';
import { createPrisma, type PrismaClient } from '../db/prisma.ts';
import { createMetrics, type Metrics } from '../metrics.ts';
import { createPublisher, type Publisher } from '../stores/kafka/producer.ts';
import type { Embedder } from '../stores/weaviate/embedder.ts';
import { loadGloveEmbedder } from '../stores/weaviate/glove-embedder.ts';
import { tracerOf, tracingFor } from '../tracing.ts';

export interface ApiDeps {
  env: Env;
  prisma: PrismaClient;
  temporal: Client;
  /** The Kafka client: readiness asks its brokers for the cluster's metadata. */
  kafka: Kafka;
  publisher: Publisher;
  /** Redis: the real-time task counters that every worker keeps (shown on /metrics). */
  redis: Redis;
  weaviate: WeaviateClient;
  metrics: Metrics;
  /**
   * The embedder of knowledge and memory vectors, loaded on first use: loading the GloVe vectors takes
   * ~7 s and 1 GB at its peak, which a server that only serves BM25 searches never pays.
   */
  embedder: () => Promise<Embedder>;
  /** How long GET /tasks/:id waits for a running workflow's progress query (it needs a worker). Default 5000. */
  progressQueryTimeoutMs?: number;
  /** How often GET /tasks/:id/events sends a heartbeat comment on an idle stream. Default 15000. */
  taskEventsHeartbeatMs?: number;
}

export async function createApiDeps(env: Env): Promise<ApiDeps> {
  const kafka = createKafka(env);
  const tracing = tracingFor(env, 'prism-api');
  const publisher = createPublisher(kafka, {}, { tracer: tracerOf(tracing) });
  const prisma = createPrisma(env);
  const opened: { close(): Promise<unknown> }[] = [{ close: () => prisma.$disconnect() }];
  try {
    await publisher.connect();
    opened.push({ close: () => publisher.disconnect() });
    // The workflows a request starts or signals continue its trace.
    const temporal = await connectTemporal(env, { tracing });
    opened.push({ close: () => temporal.connection.close() });
    const weaviate = await connectWeaviate(env);
    opened.push({ close: () => weaviate.close() });
    const redis = createRedis(env);
    return {
      env,
      prisma,
      temporal,
      kafka,
      publisher,
      redis,
      weaviate,
      metrics: createMetrics('api'),
      embedder: loadGloveEmbedder,
    };
  } catch (err) {
    await Promise.allSettled(opened.map((c) => c.close()));
    throw err;
  }
}

export async function closeApiDeps(deps: ApiDeps): Promise<void> {
  await Promise.allSettled([
    deps.publisher.disconnect(),
    deps.temporal.connection.close(),
    deps.weaviate.close(),
    deps.prisma.$disconnect(),
    deps.redis.quit(),
  ]);
  // The last requests' spans.
  await tracingFor(deps.env, 'prism-api').flush();
}
