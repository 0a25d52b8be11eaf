// The clients every activity uses, built once per worker process and closed when it stops.
import type { Redis } from 'ioredis';
import type { Env } from '../src/config.ts';
import { createKafka } from '../src/clients/kafka.ts';
import { createRedis } from '../src/clients/redis.ts';
import { createPrisma, type PrismaClient } from '../src/db/prisma.ts';
import type { Metrics } from '../src/metrics.ts';
import { createInfluxWriter } from '../src/stores/influx/writer.ts';
import type { InfluxWriter } from '../src/stores/influx/writer.ts';
import { createPublisher, type Publisher } from '../src/stores/kafka/producer.ts';

export interface ActivityDeps {
  env: Env;
  prisma: PrismaClient;
  redis: Redis;
  publisher: Publisher;
  influx: InfluxWriter;
  metrics?: Metrics;
}

export async function createActivityDeps(env: Env, metrics?: Metrics): Promise<ActivityDeps> {
  const publisher = createPublisher(createKafka(env));
  await publisher.connect();
  return {
    env,
    prisma: createPrisma(env),
    redis: createRedis(env),
    publisher,
    influx: createInfluxWriter(env, { flushIntervalMs: 500 }),
    metrics,
  };
}

export async function closeActivityDeps(deps: ActivityDeps): Promise<void> {
  // Flush metrics first: the writer must not lose buffered points on shutdown.
  await Promise.allSettled([deps.influx.close(), deps.publisher.disconnect()]);
  await Promise.allSettled([deps.prisma.$disconnect(), deps.redis.quit()]);
}
