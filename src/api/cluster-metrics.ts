// What no single process can see, measured when Prometheus scrapes the API: over every worker and agent of
// this deployment — the agents alive by type (PostgreSQL heartbeats: agents in any language count), the
// Kafka consumer groups' lag and each topic's size (dead-letter topics included), the tasks that ended in
// the last minute (the workers' Redis counters), and the alerts read but not yet acknowledged. Only this
// deployment's topics and groups (KAFKA_TOPIC_PREFIX): a test deployment on the same cluster is not counted.
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { Gauge } from 'prom-client';
import { kafkaName } from '../clients/kafka.ts';
import type { PrismaClient } from '../db/prisma.ts';
import type { Metrics } from '../metrics.ts';
import { countAliveAgents } from '../stores/postgres/agents.ts';
import { allTopicSpecs } from '../stores/kafka/topics.ts';
import { createAlertQueue } from '../stores/redis/alert-queue.ts';
import { createRealtimeMetrics } from '../stores/redis/metrics.ts';
import { agentTypes } from '../task/contract.ts';
import { finishedTasksMetric } from '../task/ids.ts';

/** An agent is alive when it heard from within this long (its heartbeat is every 5 s by default). */
const aliveWithinMs = 30_000;

/**
 * Registers the gauges; returns what closes the Kafka admin connection they keep between scrapes (the API
 * calls it when it stops: an open connection would keep the process alive after SIGTERM).
 */
export function registerClusterMetrics(
  metrics: Metrics,
  deps: { prisma: PrismaClient; redis: Redis; kafka: Kafka },
): { close(): Promise<void> } {
  const { registry } = metrics;
  // A source that cannot be read (a Kafka group of a topic just deleted, a store away) leaves its gauge empty
  // for that scrape and says why once: prom-client would otherwise fail the whole /metrics, and with it
  // every other gauge (the finished tasks, the agents alive) that could be read.
  const failing = new Set<string>();
  const guarded = async (gauge: Gauge, source: string, read: () => Promise<void>): Promise<void> => {
    try {
      await read();
      failing.delete(source);
    } catch (err) {
      gauge.reset();
      if (!failing.has(source))
        console.warn(`metrics: ${source} could not be read for this scrape: ${(err as Error).message}`);
      failing.add(source);
    }
  };
  // Tests build several servers on one registry: register once.
  if (registry.getSingleMetric('prism_agents_alive')) return { close: async () => {} };
  const realtime = createRealtimeMetrics(deps.redis);
  const alertQueue = createAlertQueue(deps.redis);
  const prefix = kafkaName(deps.kafka, '');

  new Gauge({
    name: 'prism_agents_alive',
    help: 'Agents of each type that heard from within 30 s (registered, ONLINE or DEGRADED), over the deployment',
    labelNames: ['agent_type'] as const,
    registers: [registry],
    async collect() {
      await guarded(this, 'agents alive (PostgreSQL)', async () => {
        const rows = await countAliveAgents(deps.prisma, aliveWithinMs);
        for (const type of agentTypes) {
          this.set({ agent_type: type }, Number(rows.find((r) => r.type === type)?.alive ?? 0));
        }
      });
    },
  });

  new Gauge({
    name: 'prism_tasks_finished_last_minute',
    help: 'Tasks that ended in the last 60 s, over all workers (Redis real-time counters), by status',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      await guarded(this, 'finished tasks (Redis)', async () => {
        for (const status of ['COMPLETED', 'FAILED', 'CANCELLED'] as const) {
          const series = await realtime.series(finishedTasksMetric(status), 'sec', 60);
          this.set(
            { status },
            series.reduce((sum, p) => sum + p.value, 0),
          );
        }
      });
    },
  });

  new Gauge({
    name: 'prism_alert_queue_pending',
    help: 'Entries of the Redis alert queue read by a handler but not yet acknowledged',
    registers: [registry],
    async collect() {
      await guarded(this, 'alert queue (Redis)', async () => this.set(await alertQueue.pendingCount()));
    },
  });

  // One admin connection, kept between scrapes; dropped after a failure so the next scrape reconnects.
  let admin: ReturnType<Kafka['admin']> | undefined;
  const adminClient = async () => {
    if (!admin) {
      const fresh = deps.kafka.admin();
      await fresh.connect();
      admin = fresh;
    }
    return admin;
  };
  const withAdmin = async <T>(work: (a: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> => {
    try {
      return await work(await adminClient());
    } catch (err) {
      const failed = admin;
      admin = undefined;
      await failed?.disconnect().catch(() => undefined);
      throw err;
    }
  };
  const topicNames = allTopicSpecs.map((s) => kafkaName(deps.kafka, s.name));

  // Both Kafka gauges come from one reading of the cluster, shared by the two collects of a scrape (they
  // run at the same time) and taken again at the next scrape.
  let reading: { at: number; value: Promise<KafkaReading> } | undefined;
  const readKafka = (): Promise<KafkaReading> => {
    if (!reading || Date.now() - reading.at > 1_000) {
      reading = { at: Date.now(), value: withAdmin((a) => readCluster(a, topicNames, prefix)) };
    }
    return reading.value;
  };

  new Gauge({
    name: 'prism_kafka_topic_messages',
    help: "Messages a topic has received (its partitions' end offsets summed), dead-letter topics included",
    labelNames: ['topic'] as const,
    registers: [registry],
    async collect() {
      await guarded(this, 'topic sizes (Kafka)', async () => {
        for (const [topic, ends] of (await readKafka()).ends) {
          this.set(
            { topic },
            [...ends.values()].reduce((sum, high) => sum + high, 0),
          );
        }
      });
    },
  });
  new Gauge({
    name: 'prism_kafka_consumer_group_lag',
    help: "Messages a consumer group has yet to handle on a topic (end offset - committed), this deployment's groups",
    labelNames: ['group', 'topic'] as const,
    registers: [registry],
    async collect() {
      await guarded(this, 'consumer lag (Kafka)', async () => {
        this.reset();
        for (const { group, topic, lag } of (await readKafka()).lags) this.set({ group, topic }, lag);
      });
    },
  });
  return {
    async close() {
      const open = admin;
      admin = undefined;
      await open?.disconnect().catch(() => undefined);
    },
  };
}

interface KafkaReading {
  /** End offset of each partition, by topic. */
  ends: Map<string, Map<number, number>>;
  lags: { group: string; topic: string; lag: number }[];
}

async function readCluster(
  admin: ReturnType<Kafka['admin']>,
  topicNames: string[],
  prefix: string,
): Promise<KafkaReading> {
  const ends = new Map<string, Map<number, number>>();
  await Promise.all(
    topicNames.map(async (topic) => {
      const offsets = await admin.fetchTopicOffsets(topic);
      ends.set(topic, new Map(offsets.map((o) => [o.partition, Number(o.high)])));
    }),
  );
  const { groups } = await admin.listGroups();
  // This deployment's long-lived groups (a benchmark's throw-away group is not one).
  const ours = groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix) && !g.includes('bench-floor'));
  const lags: KafkaReading['lags'] = [];
  for (const group of ours) {
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId: group })) {
      const end = ends.get(topic);
      if (!end) continue;
      const lag = partitions.reduce((sum, p) => {
        const committed = Number(p.offset);
        const high = end.get(p.partition) ?? 0;
        // Nothing committed yet: the whole partition is still to be read.
        return sum + Math.max(0, committed < 0 ? high : high - committed);
      }, 0);
      lags.push({ group, topic, lag });
    }
  }
  return { ends, lags };
}
