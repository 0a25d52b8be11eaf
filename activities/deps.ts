// The clients every activity uses, built once per worker process and closed when it stops.
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { WeaviateClient } from 'weaviate-client';
import type { Env } from '../src/config.ts';
import { createKafka } from '../src/clients/kafka.ts';
import { createRedis } from '../src/clients/redis.ts';
import { connectWeaviate } from '../src/clients/weaviate.ts';
import { createPrisma, type PrismaClient } from '../src/db/prisma.ts';
import type { Metrics } from '../src/metrics.ts';
import { createInfluxWriter } from '../src/stores/influx/writer.ts';
import type { InfluxWriter } from '../src/stores/influx/writer.ts';
import { createPublisher, type Publisher } from '../src/stores/kafka/producer.ts';
import type { Tracer } from '../src/tracing.ts';
import type { InlineAnswers } from '../src/worker/inline-answers.ts';

export interface ActivityDeps {
  env: Env;
  prisma: PrismaClient;
  /** Also used by the worker's Kafka consumers (ingress, bridge): one client per process. */
  kafka: Kafka;
  redis: Redis;
  publisher: Publisher;
  influx: InfluxWriter;
  /** Connected on first use (the worker starts while Weaviate is down), again after a failure. */
  weaviate(): Promise<WeaviateClient>;
  resetWeaviate(): void;
  metrics?: Metrics;
  /** The task worker's, when its bridge runs in the same process: answers handed to waiting dispatches. */
  inlineAnswers?: InlineAnswers;
}

/** With a tracer, what the activities publish carries their trace on to its consumers (src/tracing.ts). */
export async function createActivityDeps(
  env: Env,
  metrics?: Metrics,
  tracer?: Tracer,
): Promise<ActivityDeps> {
  const kafka = createKafka(env);
  const publisher = createPublisher(kafka, {}, { tracer });
  await publisher.connect();
  let weaviate: Promise<WeaviateClient> | undefined;
  return {
    env,
    kafka,
    prisma: createPrisma(env),
    redis: createRedis(env),
    publisher,
    influx: createInfluxWriter(env, { flushIntervalMs: 500 }),
    weaviate: () => (weaviate ??= connectWeaviate(env)),
    resetWeaviate: () => {
      const failed = weaviate;
      weaviate = undefined;
      void failed?.then((c) => c.close()).catch(() => undefined);
    },
    metrics,
  };
}

export async function closeActivityDeps(deps: ActivityDeps): Promise<void> {
  // Flush metrics first: the writer must not lose buffered points on shutdown.
  await Promise.allSettled([deps.influx.close(), deps.publisher.disconnect()]);
  await Promise.allSettled([deps.prisma.$disconnect(), deps.redis.quit()]);
  deps.resetWeaviate();
}
