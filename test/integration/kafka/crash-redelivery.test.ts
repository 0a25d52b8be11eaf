import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, kafkaName } from '../../../src/clients/kafka.ts';
import { createRedis } from '../../../src/clients/redis.ts';
import { silentProgress } from '../../../src/progress.ts';
import { runConsumer } from '../../../src/stores/kafka/consumer.ts';
import { dedupeKey, redisDedupeStore } from '../../../src/stores/kafka/dedupe.ts';
import { createEnvelope } from '../../../src/stores/kafka/envelope.ts';
import { createPublisher } from '../../../src/stores/kafka/producer.ts';
import { provisionKafka } from '../../../src/stores/kafka/provision.ts';
import { allTopicSpecs, Topic } from '../../../src/stores/kafka/topics.ts';
import { env, testId } from '../../helpers.ts';
import { committedCount, deleteTestTopics, outcomeRecorder } from './support.ts';

const crashingConsumer = fileURLToPath(new URL('./crashing-consumer.ts', import.meta.url));

describe('a consumer that crashes after handling a message but before committing it', () => {
  const kafka = createKafka(env);
  const admin = kafka.admin();
  const redis = createRedis(env);
  const publisher = createPublisher(kafka);
  const prefix = `${testId('kcrash')}.`;
  const topic = prefix + Topic.ControlActions;
  const groupId = testId('kgroup');
  const effectsKey = testId('kcrash_effects');
  const ids: string[] = [];

  beforeAll(async () => {
    await Promise.all([admin.connect(), publisher.connect()]);
    const specs = allTopicSpecs.filter((s) => s.name.startsWith(Topic.ControlActions));
    await provisionKafka(env, silentProgress, { prefix, topics: specs });
  });
  afterAll(async () => {
    await publisher.disconnect();
    await admin.deleteGroups([kafkaName(kafka, groupId)]).catch(() => undefined);
    await deleteTestTopics(admin, prefix);
    await admin.disconnect();
    await redis.del(effectsKey, ...ids.map((id) => dedupeKey(groupId, id)));
    await redis.quit();
  });

  it('has its message redelivered to the next consumer of the group, which dedupes it: one effect', async () => {
    const action = createEnvelope({ type: 'control.action', taskId: 'valve-7', payload: { open: true } });
    ids.push(action.id);
    await publisher.publish(topic, action);

    const child = spawn(process.execPath, ['--import', 'tsx', crashingConsumer, topic, groupId, effectsKey], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    // Never leave a consumer running behind the test: kill the child if it has not crashed by itself.
    let hung = false;
    const guard = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, 40_000);
    try {
      const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
      expect({ code, signal, hung }).toEqual({ code: null, signal: 'SIGKILL', hung: false });
    } finally {
      clearTimeout(guard);
    }
    // The crash left the effect done and remembered, and the offset not committed.
    expect(await redis.lrange(effectsKey, 0, -1)).toEqual([action.id]);
    expect(await redis.exists(dedupeKey(groupId, action.id))).toBe(1);
    expect(await committedCount(kafka, admin, groupId, topic)).toBe(0);

    const recorder = outcomeRecorder();
    const consumer = await runConsumer({
      kafka,
      groupId,
      topics: [topic],
      dedupe: redisDedupeStore(redis, { groupId }),
      dlqProducer: publisher.producer,
      onOutcome: recorder.onOutcome,
      handler: async (envelope) => void (await redis.rpush(effectsKey, envelope.id)),
    });
    try {
      await recorder.waitForCount(1);
      // The consumer goes on with new messages as usual.
      const next = createEnvelope({ type: 'control.action', taskId: 'valve-7', payload: { open: false } });
      ids.push(next.id);
      await publisher.publish(topic, next);
      await recorder.waitForCount(2);
    } finally {
      await consumer.stop();
    }

    expect(recorder.outcomes.map((o) => [o.kind, 'id' in o ? o.id : undefined])).toEqual([
      ['duplicate', action.id],
      ['processed', ids[1]],
    ]);
    expect(await redis.lrange(effectsKey, 0, -1)).toEqual([action.id, ids[1]]);
    expect(await committedCount(kafka, admin, groupId, topic)).toBe(2);
  });
});
