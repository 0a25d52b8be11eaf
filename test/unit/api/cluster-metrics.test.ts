// The API's cluster-wide gauges read several sources at each scrape: one that cannot be read (Kafka away, a
// group whose topic was just deleted) must leave its own gauges empty, not fail the whole /metrics with the
// gauges that could be read (found on the cluster topology: a scrape after a broker's kill answered 500).
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { registerClusterMetrics } from '../../../src/api/cluster-metrics.ts';
import type { PrismaClient } from '../../../src/db/prisma.ts';
import { createMetrics } from '../../../src/metrics.ts';

describe('cluster metrics', () => {
  it('shows what it could read when one source fails, and leaves that source empty', async () => {
    const metrics = createMetrics('api');
    const prisma = {
      $queryRaw: async () => [{ type: 'MONITORING', alive: 2n }],
    } as unknown as PrismaClient;
    // Every bucket of the last minute holds one finished task.
    const redis = {
      mget: async (...keys: unknown[]) => (keys.flat() as string[]).map(() => '1'),
      xpending: async () => [0],
    } as unknown as Redis;
    const kafka = {
      admin: () => ({
        connect: async () => {
          throw new Error('Connection error: connect ECONNREFUSED 127.0.1.3:19092');
        },
        disconnect: async () => undefined,
      }),
    } as unknown as Kafka;
    const cluster = registerClusterMetrics(metrics, { prisma, redis, kafka });
    try {
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/^prism_tasks_finished_last_minute\{status="COMPLETED"[^}]*\} 60$/m);
      expect(text).toMatch(/^prism_agents_alive\{agent_type="MONITORING"[^}]*\} 2$/m);
      expect(text).not.toMatch(/^prism_kafka_topic_messages\{/m);
      expect(text).not.toMatch(/^prism_kafka_consumer_group_lag\{/m);
    } finally {
      await cluster.close();
    }
  });
});
