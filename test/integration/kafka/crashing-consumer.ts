// Run as a child process by crash-redelivery.test.ts (not a test itself). It consumes with runConsumer,
// records each message's side effect in a Redis list, and kills itself with SIGKILL right after the
// message is remembered as handled: a consumer dying at the worst moment, before its offset commit.
// Arguments: <topic> <groupId> <effects list key>.
import { createKafka } from '../../../src/clients/kafka.ts';
import { createRedis } from '../../../src/clients/redis.ts';
import { runConsumer } from '../../../src/stores/kafka/consumer.ts';
import { redisDedupeStore } from '../../../src/stores/kafka/dedupe.ts';
import { createPublisher } from '../../../src/stores/kafka/producer.ts';
import { env } from '../../helpers.ts';

const [topic, groupId, effectsKey] = process.argv.slice(2);
if (!topic || !groupId || !effectsKey)
  throw new Error('usage: crashing-consumer.ts <topic> <groupId> <effectsKey>');

const kafka = createKafka(env);
const redis = createRedis(env);
const store = redisDedupeStore(redis, { groupId });
const publisher = createPublisher(kafka);
await publisher.connect();
await runConsumer({
  kafka,
  groupId,
  topics: [topic],
  dlqProducer: publisher.producer,
  // The broker's minimum session: the group notices the dead member (and rebalances) 6 s after it died.
  consumerConfig: { sessionTimeout: 6_000, rebalanceTimeout: 10_000, heartbeatInterval: 1_000 },
  handler: async (envelope) => {
    await redis.rpush(effectsKey, envelope.id);
  },
  dedupe: {
    seen: (id) => store.seen(id),
    async remember(id) {
      await store.remember(id);
      process.kill(process.pid, 'SIGKILL');
    },
  },
});
