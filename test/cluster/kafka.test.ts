// Kafka as the cluster topology runs it (three KRaft nodes on 127.0.1.1-3, src/stack/services/kafka.ts),
// against a running cluster (`prism stack up --topology cluster`): the topics `prism provision` makes are
// replicated and spread, and a numbered stream sent with the product's publisher while the leader of its
// partition is killed (kill -9) arrives whole, once, to the product's consumer, which rides it out; the
// node then restarts and rejoins the in-sync replicas. docs/scaling.md reports the failover time measured.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { createKafka, kafkaName } from '../../src/clients/kafka.ts';
import { loadConfig, type Env } from '../../src/config.ts';
import { asKafkaUser } from '../../src/identity.ts';
import { silentProgress } from '../../src/progress.ts';
import { clusterServices } from '../../src/stack/cluster.ts';
import { context, startService } from '../../src/stack/native.ts';
import { stackPaths } from '../../src/stack/paths.ts';
import { ownedPid, stillRunning } from '../../src/stack/process.ts';
import type { NativeService } from '../../src/stack/services.ts';
import { runConsumer, type RunningConsumer } from '../../src/stores/kafka/consumer.ts';
import { createEnvelope } from '../../src/stores/kafka/envelope.ts';
import { createPublisher } from '../../src/stores/kafka/producer.ts';
import { provisionKafka, waitForTopicLeaders } from '../../src/stores/kafka/provision.ts';
import { allTopicSpecs, type TopicSpec } from '../../src/stores/kafka/topics.ts';
import { testId, waitFor } from '../helpers.ts';

const { ConfigResourceTypes } = kafkajs;

process.env.PRISM_TOPOLOGY = 'cluster';
const env: Env = loadConfig();
const nodes: NativeService[] = clusterServices(env).filter((s) => s.group === 'kafka');
const paths = stackPaths(env);

function nodePid(node: NativeService): number | null {
  return ownedPid(context(node, env, paths).pidFile, node.marker);
}

/** Starts every node that is not running (a test that killed one and failed before restarting it). */
async function restartStopped(): Promise<void> {
  for (const node of nodes) {
    if (nodePid(node) === null) await startService(node, env, paths, silentProgress);
  }
}

/**
 * Waits until every broker serves these topics' metadata: a broker learns of a new topic from the metadata
 * log a moment after the others (up to a fetch round trip), and kafkajs asks any broker it is connected to.
 */
async function servedByEveryBroker(topics: string[]): Promise<void> {
  for (const m of env.PRISM_CLUSTER_MACHINES.split(',')) {
    const one = createKafka({ ...asKafkaUser(env, 'admin'), KAFKA_BROKERS: `${m}:${env.KAFKA_PORT}` });
    const admin = one.admin();
    await admin.connect();
    try {
      await waitFor(`${m} to serve ${topics.length} topics`, async () => {
        const listed = new Set(await admin.listTopics());
        return topics.every((t) => listed.has(t));
      });
    } finally {
      await admin.disconnect();
    }
  }
}

async function untilTopicKnown<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      const unknown = /does not host this topic-partition/.test((err as Error).message);
      if (!unknown || i >= 20) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function partitionsOf(admin: Admin, topics: string[]) {
  const { topics: found } = await admin.fetchTopicMetadata({ topics });
  return found.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, ...p })));
}

describe('Kafka in the cluster topology', () => {
  let kafka: Kafka;
  let admin: Admin;
  const prefixes: string[] = [];

  beforeAll(async () => {
    expect(env.PRISM_TOPOLOGY).toBe('cluster');
    expect(nodes.map((n) => n.name)).toEqual(['kafka-1', 'kafka-2', 'kafka-3']);
    await restartStopped();
    // As the operator (the stack's admin): the test's topics need no ACLs of their own.
    kafka = createKafka(asKafkaUser(env, 'admin'));
    admin = kafka.admin();
    await admin.connect();
  }, 240_000);

  afterAll(async () => {
    await restartStopped();
    const ours = (await admin.listTopics()).filter((t) => prefixes.some((p) => t.startsWith(p)));
    if (ours.length > 0) await admin.deleteTopics({ topics: ours });
    await admin.disconnect();
  }, 240_000);

  /** A prefix of the test's own for the names of its topics and groups (their spec names). */
  function newPrefix(): string {
    const prefix = `${testId('kcluster')}.`;
    prefixes.push(kafkaName(kafka, prefix)); // as the topics are called on the cluster
    return prefix;
  }

  it('has three brokers and voters, and replicates the internal topics three times', async () => {
    const { brokers } = await admin.describeCluster();
    expect(brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).sort()).toEqual(
      env.PRISM_CLUSTER_MACHINES.split(',').map((a, i) => `${i + 1}@${a}:${env.KAFKA_PORT}`),
    );
  });

  it('provisions every topic with KAFKA_REPLICATION_FACTOR replicas, min.insync.replicas, leaders spread', async () => {
    expect(env.KAFKA_REPLICATION_FACTOR).toBe(3);
    expect(env.KAFKA_MIN_INSYNC_REPLICAS).toBe(2);
    const prefix = newPrefix();
    const result = await provisionKafka(env, silentProgress, { kafka, prefix });
    const names = result.created;
    expect(names).toHaveLength(allTopicSpecs.length);
    await servedByEveryBroker(names);
    const partitions = await partitionsOf(admin, names);
    for (const p of partitions) {
      expect(new Set(p.replicas).size, `${p.topic}/${p.partitionId} replicas`).toBe(3);
      expect(p.isr, `${p.topic}/${p.partitionId} in sync`).toHaveLength(3);
    }
    // Kafka places leaders round-robin: each broker leads about a third of the partitions.
    const led = new Map<number, number>();
    for (const p of partitions) led.set(p.leader, (led.get(p.leader) ?? 0) + 1);
    expect([...led.keys()].sort()).toEqual([1, 2, 3]);
    for (const count of led.values()) expect(count).toBeGreaterThanOrEqual(partitions.length / 6);

    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: names.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['min.insync.replicas', 'unclean.leader.election.enable'],
      })),
    });
    for (const r of resources) {
      const config = Object.fromEntries(r.configEntries.map((e) => [e.configName, e.configValue]));
      expect(config, r.resourceName).toEqual({
        'min.insync.replicas': '2',
        'unclean.leader.election.enable': 'false',
      });
    }

    // A second run changes nothing (min.insync.replicas included).
    const again = await provisionKafka(env, silentProgress, { kafka, prefix });
    expect(again).toMatchObject({ created: [], updated: [], unchanged: names });
    expect(again.underReplicated).toBeUndefined();
  });

  it('reports a topic with fewer replicas than KAFKA_REPLICATION_FACTOR instead of leaving it silently', async () => {
    const prefix = newPrefix();
    const spec: TopicSpec = { name: 'thin', partitions: 2, config: {} };
    const name = kafkaName(kafka, prefix + spec.name);
    // (waitForLeaders: kafkajs's own wait gives up on a KRaft broker's "unknown topic", src/stores/kafka/provision.ts)
    await admin.createTopics({
      waitForLeaders: false,
      topics: [{ topic: name, numPartitions: 2, replicationFactor: 1 }],
    });
    await waitForTopicLeaders(admin, [{ name, partitions: 2 }]);
    await servedByEveryBroker([name]);
    const steps: string[] = [];
    const result = await provisionKafka(
      env,
      { ...silentProgress, step: (m) => void steps.push(m) },
      { kafka, prefix, topics: [spec] },
    );
    // It is left as it is (no new overrides), and the report says what that costs. The whole result in one
    // assertion, with the steps as its message: a failure shows how the topic was classified, and why.
    expect(result, steps.join('\n')).toMatchObject({
      created: [],
      updated: [],
      unchanged: [name],
      underReplicated: [{ topic: name, replicationFactor: 1, wanted: 3 }],
    });
    expect(steps.join('\n')).toContain(`${name} has 1 replica per partition`);
    expect(steps.join('\n')).toContain('refuses every acks=all write');
  });

  it('loses and duplicates nothing of a numbered stream while its leader is killed, and the node rejoins', async () => {
    const prefix = newPrefix();
    const stream = `${prefix}stream`; // its spec name: the publisher and the consumer add the cluster's prefix
    const topicName = kafkaName(kafka, stream);
    await provisionKafka(env, silentProgress, {
      kafka,
      topics: [{ name: stream, partitions: 1, config: {} }],
    });
    await servedByEveryBroker([topicName]);

    // The product's consumer (in-memory dedupe: what it handles twice shows as 'duplicate').
    const handled = new Map<number, number>();
    const outcomes = { processed: 0, duplicate: 0, deadLettered: 0 };
    const seen = new Set<string>();
    const publisher = createPublisher(kafka);
    await publisher.connect();
    let consumer: RunningConsumer | undefined;
    let crashes = 0;
    try {
      // A new topic reaches every broker's metadata a moment after its creation: subscribing asks one that
      // may not know it yet (UNKNOWN_TOPIC_OR_PARTITION), which goes away by itself.
      consumer = await untilTopicKnown(() =>
        runConsumer({
          kafka,
          groupId: `${prefix}group`,
          topics: [stream],
          dedupe: {
            seen: async (id) => seen.has(id),
            remember: async (id) => void seen.add(id),
          },
          dlqProducer: publisher.producer,
          handler: async (envelope) => {
            const n = (envelope.payload as { n: number }).n;
            handled.set(n, (handled.get(n) ?? 0) + 1);
          },
          onOutcome: (o) => {
            if (o.kind === 'processed') outcomes.processed++;
            else if (o.kind === 'duplicate') outcomes.duplicate++;
            else if (o.kind === 'dead-lettered') outcomes.deadLettered++;
          },
        }),
      );
      consumer.consumer.on(consumer.consumer.events.CRASH, (e) => {
        if (!e.payload.restart) crashes++;
      });

      // The admin's broker may not know the new topic's partition yet either (seen once in CI).
      const [partition] = await untilTopicKnown(() => partitionsOf(admin, [topicName]));
      const leader = nodes.find((n) => n.machine!.index === partition!.leader)!;
      const pid = nodePid(leader);
      expect(pid, `${leader.name}'s pid`).not.toBeNull();
      // Whether it is also the quorum's leader (then a controller election comes first): for the report.
      const role = await leader.role?.(context(leader, env, paths)).catch(() => null);

      // A numbered stream, one message every 10 ms, acknowledged (or not) each on its own.
      const acked: { n: number; at: number }[] = [];
      const failed: { n: number; error: string }[] = [];
      const sends: Promise<void>[] = [];
      let killedAt = 0;
      let n = 0;
      const start = Date.now();
      while (Date.now() - start < 90_000) {
        const i = n++;
        sends.push(
          publisher.publish(stream, createEnvelope({ type: 'test.number', payload: { n: i } })).then(
            () => void acked.push({ n: i, at: Date.now() }),
            (err: Error) => void failed.push({ n: i, error: err.message }),
          ),
        );
        if (!killedAt && Date.now() - start > 2_000) {
          process.kill(pid!, 'SIGKILL');
          killedAt = Date.now();
        }
        // Keep sending until produce has worked again for 3 s.
        const recovered = acked.find((a) => killedAt && a.at > killedAt);
        if (recovered && Date.now() - recovered.at > 3_000) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      await Promise.all(sends);
      const firstAfter = acked.filter((a) => a.at > killedAt).sort((a, b) => a.at - b.at)[0];
      expect(firstAfter, 'a send acknowledged after the kill').toBeDefined();
      const failoverMs = firstAfter!.at - killedAt;
      console.log(
        `kafka failover: ${leader.name} (leader of ${topicName}/0; ${role ?? 'role unknown'}) killed; produce acknowledged again ` +
          `after ${failoverMs} ms; ${n} messages sent, ${failed.length} failed`,
      );
      expect(failed).toEqual([]);
      expect(await waitFor(`leader ${leader.name} gone`, () => !stillRunning(pid!))).toBe(true);
      const [after] = await partitionsOf(admin, [topicName]);
      expect(after!.leader).not.toBe(leader.machine!.index);
      expect(after!.isr).not.toContain(leader.machine!.index);

      // The log holds each number exactly once (the idempotent producer's retries wrote nothing twice).
      const offsets = await admin.fetchTopicOffsets(topicName);
      expect(Number(offsets[0]!.high) - Number(offsets[0]!.low)).toBe(n);

      // The product's consumer rode it out: every number handled, once.
      await waitFor(`all ${n} numbers handled (have ${handled.size})`, () => handled.size >= n, 120_000);
      expect([...handled.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      expect([...handled.values()].every((c) => c === 1)).toBe(true);
      expect(outcomes).toMatchObject({ processed: n, deadLettered: 0 });
      expect(crashes).toBe(0);
      // Its group's offsets are kept three times too.
      const offsetsTopic = await partitionsOf(admin, ['__consumer_offsets']);
      for (const p of offsetsTopic)
        expect(new Set(p.replicas).size, `__consumer_offsets/${p.partitionId}`).toBe(3);

      // The killed node starts again and catches up: back in the in-sync replicas.
      const restartedAt = Date.now();
      await startService(leader, env, paths, silentProgress);
      await waitFor(
        `${leader.name} back in the ISR of ${topicName}/0`,
        async () => (await partitionsOf(admin, [topicName]))[0]!.isr.includes(leader.machine!.index),
        120_000,
        500,
      );
      console.log(
        `kafka rejoin: ${leader.name} in sync again ${Date.now() - restartedAt} ms after its start`,
      );
    } finally {
      await consumer?.stop();
      await publisher.disconnect();
    }
  }, 300_000);
});
