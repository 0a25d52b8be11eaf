import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { createKafka, kafkaName } from '../../../src/clients/kafka.ts';
import { silentProgress, type Progress } from '../../../src/progress.ts';
import { provisionKafka, waitForTopicLeaders } from '../../../src/stores/kafka/provision.ts';
import { allTopicSpecs, Topic, topicSpecs, type TopicSpec } from '../../../src/stores/kafka/topics.ts';
import { env, testId, waitFor } from '../../helpers.ts';
import { deleteTestTopics } from './support.ts';

const { CompressionTypes, ConfigResourceTypes } = kafkajs;

describe('provisionKafka', () => {
  const kafka = createKafka(env);
  const admin = kafka.admin();
  const prefixes: string[] = [];
  const newPrefix = () => {
    const prefix = `${testId('kprov')}.`;
    prefixes.push(prefix);
    return prefix;
  };
  beforeAll(() => admin.connect());
  afterAll(async () => {
    for (const prefix of prefixes) await deleteTestTopics(admin, prefix);
    await admin.disconnect();
  });

  async function topicConfigs(topics: string[]) {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['compression.type', 'retention.ms', 'cleanup.policy', 'max.message.bytes'],
      })),
    });
    return new Map(
      resources.map((r) => [
        r.resourceName,
        Object.fromEntries(r.configEntries.map((e) => [e.configName, e.configValue])),
      ]),
    );
  }

  async function partitionCounts(topics: string[]) {
    const meta = await admin.fetchTopicMetadata({ topics });
    return new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
  }

  it('creates the 14 spec topics, the 4 agent types’ commands topics and their DLQs with partitions, snappy and retention; a second run changes nothing', async () => {
    const prefix = newPrefix();
    const at = kafkaName(kafka, prefix); // what the topics are called on the cluster
    const names = allTopicSpecs.map((s) => at + s.name);

    const first = await provisionKafka(env, silentProgress, { prefix });
    expect(first.created.sort()).toEqual([...names].sort());
    expect(first.updated).toEqual([]);
    expect(first.unchanged).toEqual([]);

    const counts = await partitionCounts(names);
    const configs = await topicConfigs(names);
    for (const spec of allTopicSpecs) {
      expect(counts.get(at + spec.name), spec.name).toBe(spec.partitions);
      expect(configs.get(at + spec.name), spec.name).toMatchObject({
        'compression.type': 'snappy',
        'cleanup.policy': 'delete',
        'retention.ms': spec.config['retention.ms'],
      });
    }
    expect(names).toHaveLength(36);
    expect(counts.get(`${at}agent.orchestration.commands.control`)).toBe(3);
    expect(counts.get(`${at}agent.orchestration.commands.control.dlq`)).toBe(1);
    expect(counts.get(at + Topic.MonitoringEvents)).toBe(5);
    expect(counts.get(at + Topic.UserQueries)).toBe(3);
    expect(counts.get(`${at}${Topic.UserQueries}.dlq`)).toBe(1);
    expect(configs.get(at + Topic.SystemLogs)!['retention.ms']).toBe(String(3 * 24 * 3600 * 1000));

    const second = await provisionKafka(env, silentProgress, { prefix });
    expect(second.created).toEqual([]);
    expect(second.updated).toEqual([]);
    expect(second.unchanged.sort()).toEqual([...names].sort());
  });

  it('restores a config that drifted, and keeps the overrides it does not manage', async () => {
    const prefix = newPrefix();
    const at = kafkaName(kafka, prefix); // what the topics are called on the cluster
    const spec = topicSpecs.find((s) => s.name === Topic.SystemLogs)!;
    const name = at + spec.name;
    await provisionKafka(env, silentProgress, { prefix, topics: [spec] });
    // Someone shortened retention, dropped the compression override and raised the message size limit.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name,
          configEntries: [
            { name: 'retention.ms', value: '60000' },
            { name: 'cleanup.policy', value: 'delete' },
            { name: 'max.message.bytes', value: '2000000' },
          ],
        },
      ],
    });
    expect((await topicConfigs([name])).get(name)!['compression.type']).toBe('producer');

    const steps: string[] = [];
    const progress: Progress = { ...silentProgress, step: (message) => void steps.push(message) };
    const result = await provisionKafka(env, progress, { prefix, topics: [spec] });
    expect(result).toEqual({ created: [], updated: [name], unchanged: [] });
    expect(steps.join('\n')).toMatch(/retention\.ms=259200000 \(was 60000\)/);
    // The broker reports a topic's new config once it has applied the controller's record: soon, not at once.
    const restored = await waitFor('the broker to report the restored config', async () => {
      const config = (await topicConfigs([name])).get(name)!;
      return config['compression.type'] === 'snappy' ? config : null;
    });
    expect(restored).toMatchObject({
      'compression.type': 'snappy',
      'retention.ms': spec.config['retention.ms'],
      'max.message.bytes': '2000000',
    });
    expect(await provisionKafka(env, silentProgress, { prefix, topics: [spec] })).toEqual({
      created: [],
      updated: [],
      unchanged: [name],
    });
  });

  it('grows a topic with too few partitions without losing its data, and never shrinks one', async () => {
    const prefix = newPrefix();
    const at = kafkaName(kafka, prefix); // what the topics are called on the cluster
    const spec: TopicSpec = { ...topicSpecs.find((s) => s.name === Topic.ControlActions)! };
    const name = at + spec.name;
    await admin.createTopics({ topics: [{ topic: name, numPartitions: 1 }] });
    await waitForTopicLeaders(admin, [{ name, partitions: 1 }]);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      await producer.send({
        topic: name,
        compression: CompressionTypes.Snappy,
        messages: ['open valve', 'close valve', 'open valve'].map((value) => ({ value })),
      });
    } finally {
      await producer.disconnect();
    }

    const result = await provisionKafka(env, silentProgress, { prefix, topics: [spec] });
    expect(result).toEqual({ created: [], updated: [name], unchanged: [] });
    expect((await partitionCounts([name])).get(name)).toBe(5);
    const offsets = await admin.fetchTopicOffsets(name);
    expect(offsets.find((o) => o.partition === 0)).toMatchObject({ low: '0', high: '3' });

    const shrink = await provisionKafka(env, silentProgress, {
      prefix,
      topics: [{ ...spec, partitions: 3 }],
    });
    expect(shrink).toEqual({ created: [], updated: [], unchanged: [name] });
    expect((await partitionCounts([name])).get(name)).toBe(5);
  });

  it('two provisioners at once both finish, and no topic is reported created by both', async () => {
    // Two workers starting together both provision: each may list the topics as missing before the other
    // makes them. The one whose create finds a topic already there checks it as an existing topic (its
    // partitions, replicas and configs) instead of reporting it as its own creation, unchecked.
    const prefix = newPrefix();
    const at = kafkaName(kafka, prefix);
    const wanted: string[] = [Topic.SystemLogs, Topic.ControlActions, Topic.UserQueries];
    const specs = topicSpecs.filter((s) => wanted.includes(s.name));
    const names = specs.map((s) => at + s.name).sort();
    const runs = await Promise.all(
      [1, 2].map(() =>
        provisionKafka(env, silentProgress, { kafka: createKafka(env), prefix, topics: specs }),
      ),
    );
    for (const run of runs) expect([...run.created, ...run.updated, ...run.unchanged].sort()).toEqual(names);
    const claimedTwice = runs[0]!.created.filter((name) => runs[1]!.created.includes(name));
    expect(claimedTwice).toEqual([]);

    const counts = await partitionCounts(names);
    const configs = await topicConfigs(names);
    for (const spec of specs) {
      expect(counts.get(at + spec.name), spec.name).toBe(spec.partitions);
      expect(configs.get(at + spec.name), spec.name).toMatchObject({
        'retention.ms': spec.config['retention.ms'],
      });
    }
  });
});
