import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { createKafka, kafkaName } from '../../../src/clients/kafka.ts';
import { createRedis } from '../../../src/clients/redis.ts';
import { silentProgress } from '../../../src/progress.ts';
import { runConsumer, type MessageContext } from '../../../src/stores/kafka/consumer.ts';
import { DeadLetterHeader } from '../../../src/stores/kafka/dead-letter.ts';
import { dedupeKey, redisDedupeStore } from '../../../src/stores/kafka/dedupe.ts';
import { createEnvelope, type Envelope } from '../../../src/stores/kafka/envelope.ts';
import { createPublisher, MessageHeader } from '../../../src/stores/kafka/producer.ts';
import { provisionKafka } from '../../../src/stores/kafka/provision.ts';
import { allTopicSpecs, CommandsTopic, Topic } from '../../../src/stores/kafka/topics.ts';
import { env, testId, waitFor } from '../../helpers.ts';
import { committedCount, deleteTestTopics, header, outcomeRecorder, readTopic } from './support.ts';

const { AssignerProtocol, CompressionTypes } = kafkajs;

describe('publishing and consuming envelopes', () => {
  const kafka = createKafka(env);
  const admin = kafka.admin();
  const redis = createRedis(env);
  const publisher = createPublisher(kafka);
  const prefix = `${testId('kcons')}.`;
  const topic = prefix + Topic.OrchestrationCommands;
  const dlq = `${topic}.dlq`;
  const groups: string[] = [];
  const newGroup = () => {
    const groupId = testId('kgroup');
    groups.push(groupId);
    return groupId;
  };
  // Every test uses a fresh group on the same topic, so it handles only the messages it published.
  const published: Envelope[] = [];

  beforeAll(async () => {
    await Promise.all([admin.connect(), publisher.connect()]);
    const specs = allTopicSpecs.filter((s) => s.name.startsWith(Topic.OrchestrationCommands));
    await provisionKafka(env, silentProgress, { prefix, topics: specs });
  });
  afterAll(async () => {
    await publisher.disconnect();
    await admin.deleteGroups(groups.map((g) => kafkaName(kafka, g))).catch(() => undefined);
    await deleteTestTopics(admin, prefix);
    await admin.disconnect();
    const keys = groups.flatMap((g) => published.map((e) => dedupeKey(g, e.id)));
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  async function publish(envelopes: Envelope[]) {
    published.push(...envelopes);
    await publisher.publish(topic, envelopes);
  }

  it('delivers envelopes with their headers, in order per task, and commits after handling', async () => {
    const groupId = newGroup();
    const commands = [1, 2, 3].map((step) =>
      createEnvelope({
        type: 'task.command',
        taskId: `${groupId}-task`,
        agentType: 'ORCHESTRATOR',
        payload: { step },
      }),
    );
    const other = createEnvelope({ type: 'task.command', taskId: `${groupId}-other`, payload: { step: 1 } });
    await publish([...commands, other]);

    const received: { envelope: Envelope; context: MessageContext }[] = [];
    const recorder = outcomeRecorder();
    const consumer = await runConsumer({
      kafka,
      groupId,
      topics: [topic],
      dedupe: redisDedupeStore(redis, { groupId }),
      dlqProducer: publisher.producer,
      onOutcome: recorder.onOutcome,
      handler: async (envelope, context) => void received.push({ envelope, context }),
    });
    try {
      await recorder.waitForCount(4);
    } finally {
      await consumer.stop();
    }

    expect(recorder.outcomes.map((o) => o.kind)).toEqual([
      'processed',
      'processed',
      'processed',
      'processed',
    ]);
    const sameTask = received.filter((r) => r.envelope.taskId === `${groupId}-task`);
    expect(sameTask.map((r) => r.envelope)).toEqual(commands);
    expect(new Set(sameTask.map((r) => r.context.partition)).size).toBe(1);
    expect(received.find((r) => r.envelope.id === other.id)?.envelope).toEqual(other);
    const first = sameTask[0]!.context;
    expect(first.key?.toString()).toBe(`${groupId}-task`);
    expect(first.headers[MessageHeader.id]?.toString()).toBe(commands[0]!.id);
    expect(first.headers[MessageHeader.type]?.toString()).toBe('task.command');
    expect(first.headers[MessageHeader.schemaVersion]?.toString()).toBe('1');
    expect(await committedCount(kafka, admin, groupId, topic)).toBe(published.length);
    expect(await redis.exists(dedupeKey(groupId, other.id))).toBe(1);
  });

  it('dead-letters invalid messages and handler failures with the reason, and goes on', async () => {
    const groupId = newGroup();
    const key = `${groupId}-line`; // one key, one partition: the outcomes come in publishing order
    const ok1 = createEnvelope({ type: 'task.command', taskId: key, payload: { step: 1 } });
    const poison = createEnvelope({ type: 'task.poison', taskId: key, payload: { step: 2 } });
    const ok2 = createEnvelope({ type: 'task.command', taskId: key, payload: { step: 3 } });
    const notJson = 'temperature=81.5';
    const badPayload = JSON.stringify({ ...ok1, id: crypto.randomUUID(), payload: [81.5] });
    // Earlier tests' messages are on the topic too; this group starts after them.
    const start = await committedCountOfTopic();
    const raw = publisher.producer;
    await raw.send({
      topic: kafkaName(kafka, topic),
      compression: CompressionTypes.Snappy,
      messages: [
        { key, value: notJson, headers: { 'x-trace': 'abc' } },
        { key, value: badPayload },
      ],
    });
    await publish([ok1, poison, ok2]);

    const attempts: number[] = [];
    const handled: string[] = [];
    const recorder = outcomeRecorder();
    const consumer = await runConsumer({
      kafka,
      groupId,
      topics: [topic],
      dedupe: redisDedupeStore(redis, { groupId }),
      dlqProducer: publisher.producer,
      maxAttempts: 3,
      retryDelayMs: 20,
      onOutcome: recorder.onOutcome,
      handler: async (envelope, context) => {
        if (envelope.type === 'task.poison') {
          attempts.push(context.attempt);
          throw new Error('press-3 is offline');
        }
        handled.push(envelope.id);
      },
    });
    try {
      await recorder.waitForCount(start + 5);
    } finally {
      await consumer.stop();
    }

    // This test's messages share one key, so one partition: the one the non-JSON message arrived on.
    const notJsonOutcome = recorder.outcomes.find(
      (o) => o.kind === 'dead-lettered' && o.reason.startsWith('not JSON'),
    );
    const mine = recorder.outcomes.filter((o) => o.partition === notJsonOutcome!.partition).slice(-5);
    expect(mine.map((o) => o.kind)).toEqual([
      'dead-lettered',
      'dead-lettered',
      'processed',
      'dead-lettered',
      'processed',
    ]);
    expect(handled).toContain(ok1.id);
    expect(handled).toContain(ok2.id);
    expect(attempts).toEqual([1, 2, 3]);
    expect(await redis.exists(dedupeKey(groupId, poison.id))).toBe(0);

    const letters = await readTopic(kafka, admin, dlq, 3);
    expect(letters.map((m) => header(m, DeadLetterHeader.reason))).toEqual([
      expect.stringMatching(/^not JSON: /),
      'payload: expected object, received array',
      'handler failed after 3 attempts: press-3 is offline',
    ]);
    expect(letters[0]!.value?.toString()).toBe(notJson);
    expect(letters[0]!.key?.toString()).toBe(key);
    expect(header(letters[0]!, 'x-trace')).toBe('abc');
    expect(letters[1]!.value?.toString()).toBe(badPayload);
    expect(JSON.parse(letters[2]!.value!.toString())).toEqual(poison);
    for (const [i, letter] of letters.entries()) {
      // Where it came from, as the cluster names it (this deployment's topic and group).
      expect(header(letter, DeadLetterHeader.topic)).toBe(kafkaName(kafka, topic));
      expect(header(letter, DeadLetterHeader.partition)).toBe(String(mine[0]!.partition));
      expect(header(letter, DeadLetterHeader.offset)).toBe([mine[0], mine[1], mine[3]][i]!.offset);
      expect(header(letter, DeadLetterHeader.groupId)).toBe(kafkaName(kafka, groupId));
    }
    expect(await committedCount(kafka, admin, groupId, topic)).toBe(start + 5);
  });

  // An agent's answer or a user's request whose handler cannot reach a service (Temporal restarting, its
  // database down) is not at fault: dead-lettering it would lose it. It is retried until the service is
  // back, however many tries that takes.
  it('retries a handler that cannot reach a service past maxAttempts, and never dead-letters it', async () => {
    const groupId = newGroup();
    const start = await committedCountOfTopic();
    const answer = createEnvelope({ type: 'agent.response', taskId: groupId, payload: { step: 1 } });
    await publish([answer]);
    const attempts: number[] = [];
    const recorder = outcomeRecorder();
    const consumer = await runConsumer({
      kafka,
      groupId,
      topics: [topic],
      dedupe: redisDedupeStore(redis, { groupId }),
      dlqProducer: publisher.producer,
      maxAttempts: 3,
      retryDelayMs: 20,
      onOutcome: recorder.onOutcome,
      handler: async (envelope, context) => {
        if (envelope.id !== answer.id) return;
        attempts.push(context.attempt);
        if (context.attempt <= 6) {
          throw Object.assign(new Error('14 UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:7233'), {
            code: 'ECONNREFUSED',
          });
        }
      },
    });
    try {
      await recorder.waitForCount(start + 1);
    } finally {
      await consumer.stop();
    }
    expect(attempts).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(recorder.outcomes.find((o) => 'id' in o && o.id === answer.id)).toMatchObject({
      kind: 'processed',
      attempts: 7,
    });
    expect(await committedCount(kafka, admin, groupId, topic)).toBe(start + 1);
  });

  it('passes over the envelopes it does not accept: committed, never handled, no dedupe mark', async () => {
    const groupId = newGroup();
    const start = await committedCountOfTopic();
    const mine = createEnvelope({
      type: 'agent.command',
      taskId: groupId,
      agentType: 'CONTROL',
      payload: {},
    });
    const theirs = createEnvelope({
      type: 'agent.command',
      taskId: groupId,
      agentType: 'ANALYSIS',
      payload: {},
    });
    await publish([theirs, mine]);
    const handled: string[] = [];
    const recorder = outcomeRecorder();
    const consumer = await runConsumer({
      kafka,
      groupId,
      topics: [topic],
      dedupe: redisDedupeStore(redis, { groupId }),
      dlqProducer: publisher.producer,
      onOutcome: recorder.onOutcome,
      accept: (envelope) => envelope.agentType === 'CONTROL',
      handler: async (envelope) => void handled.push(envelope.id),
    });
    try {
      await recorder.waitForCount(start + 2);
    } finally {
      await consumer.stop();
    }
    expect(handled).toContain(mine.id);
    expect(handled).not.toContain(theirs.id);
    const outcomeOf = (id: string) => recorder.outcomes.find((o) => 'id' in o && o.id === id)?.kind;
    expect(outcomeOf(theirs.id)).toBe('ignored');
    expect(outcomeOf(mine.id)).toBe('processed');
    expect(await redis.exists(dedupeKey(groupId, theirs.id))).toBe(0);
    expect(await redis.exists(dedupeKey(groupId, mine.id))).toBe(1);
    expect(await committedCount(kafka, admin, groupId, topic)).toBe(start + 2);
  });

  it("passes over another agent type's message by its x-agent-type header, without reading its value", async () => {
    const groupId = newGroup();
    const start = await committedCountOfTopic();
    const mine = createEnvelope({
      type: 'agent.command',
      taskId: groupId,
      agentType: 'CONTROL',
      payload: {},
    });
    // Not JSON: read, it would be dead-lettered; its header says it is an ANALYSIS agent's.
    const theirsId = `${groupId}-theirs`;
    await publisher.producer.send({
      topic: kafkaName(kafka, topic),
      messages: [
        {
          key: groupId,
          value: 'not json at all',
          headers: { [MessageHeader.id]: theirsId, [MessageHeader.agentType]: 'ANALYSIS' },
        },
      ],
    });
    await publish([mine]);
    const handled: string[] = [];
    const recorder = outcomeRecorder();
    const consumer = await runConsumer({
      kafka,
      groupId,
      topics: [topic],
      dedupe: redisDedupeStore(redis, { groupId }),
      dlqProducer: publisher.producer,
      onOutcome: recorder.onOutcome,
      accept: (envelope) => envelope.agentType === 'CONTROL',
      acceptAgentType: 'CONTROL',
      handler: async (envelope) => void handled.push(envelope.id),
    });
    try {
      await recorder.waitForCount(start + 2);
    } finally {
      await consumer.stop();
    }
    // The publisher set the header on its own envelope: it was read and handled.
    expect(handled).toEqual(expect.arrayContaining([mine.id]));
    const outcomeOf = (id: string) => recorder.outcomes.find((o) => 'id' in o && o.id === id)?.kind;
    expect(outcomeOf(theirsId)).toBe('ignored');
    expect(outcomeOf(mine.id)).toBe('processed');
    // One outcome per message: ignored, so never dead-lettered (the group also reads the earlier tests' messages).
    expect(recorder.outcomes.filter((o) => 'id' in o && o.id === theirsId)).toHaveLength(1);
    expect(await committedCount(kafka, admin, groupId, topic)).toBe(start + 2);
  });

  it('gathers what is published while a request is in flight into the next request, keeping the order', async () => {
    const own = createPublisher(kafka);
    await own.connect();
    let produceRequests = 0;
    const off = own.producer.on(own.producer.events.REQUEST, (e) => {
      if (e.payload.apiName === 'Produce') produceRequests++;
    });
    const taskId = testId('batch');
    const envelopes = Array.from({ length: 40 }, (_, i) =>
      createEnvelope({ type: 'task.command', taskId, payload: { i } }),
    );
    try {
      // Published one by one without waiting, as 40 concurrent workflow steps would.
      const sent = await Promise.all(envelopes.map((e) => own.publish(topic, e)));
      expect(sent.every((meta) => meta.length === 1 && meta[0]!.topicName === kafkaName(kafka, topic))).toBe(
        true,
      );
    } finally {
      off();
      await own.disconnect();
    }
    published.push(...envelopes);
    expect(produceRequests).toBeGreaterThanOrEqual(2); // the first goes alone, at once
    expect(produceRequests).toBeLessThanOrEqual(5);
    const onTopic = (await readTopic(kafka, admin, topic, published.length))
      .filter((m) => m.key?.toString() === taskId)
      .map((m) => JSON.parse(m.value!.toString()) as Envelope);
    expect(onTopic.map((e) => e.payload)).toEqual(envelopes.map((e) => e.payload));
  });

  /** How many messages the topic holds now, over all partitions. */
  it('shares a group on Kafka’s range assignment, giving each member only the topics it subscribed to', async () => {
    const groupId = newGroup();
    const typed = prefix + CommandsTopic.MONITORING;
    const consumer = (topics: string[]) =>
      runConsumer({
        kafka,
        groupId,
        topics,
        dedupe: redisDedupeStore(redis, { groupId }),
        dlqProducer: publisher.producer,
        handler: async () => undefined,
      });
    // One member reads the type's own topic and the shared one (the TypeScript runtime), the other only the
    // shared one (an agent that knows only the spec's topic): kafkajs's round robin gave it the type's too.
    const both = await consumer([typed, topic]);
    const sharedOnly = await consumer([topic]);
    try {
      const group = await waitFor(
        'both members in the group',
        async () => {
          const [g] = (await admin.describeGroups([kafkaName(kafka, groupId)])).groups;
          return g?.state === 'Stable' && g.members.length === 2 ? g : undefined;
        },
        30_000,
      );
      expect(group.protocol).toBe('range');
      const assigned = group.members.map(
        (m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)!.assignment,
      );
      const [onBoth, onShared] = [kafkaName(kafka, typed), kafkaName(kafka, topic)];
      const withTyped = assigned.filter((a) => (a[onBoth] ?? []).length > 0);
      expect(withTyped).toHaveLength(1);
      expect(withTyped[0]![onBoth]).toEqual([0, 1, 2]);
      // The shared topic's partitions split in ranges between the two, each once.
      expect(assigned.map((a) => a[onShared] ?? []).sort((x, y) => x.length - y.length)).toEqual([
        [2],
        [0, 1],
      ]);
    } finally {
      await Promise.all([both.stop(), sharedOnly.stop()]);
    }
  });

  async function committedCountOfTopic(): Promise<number> {
    const offsets = await admin.fetchTopicOffsets(kafkaName(kafka, topic));
    return offsets.reduce((sum, p) => sum + Number(p.high), 0);
  }
});
