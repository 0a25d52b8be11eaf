import { afterAll, describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { createRequire } from 'node:module';
import { createKafka } from '../../src/clients/kafka.ts';
import { waitForTopicLeaders } from '../../src/stores/kafka/provision.ts';
import { env, testId } from '../helpers.ts';

const { CompressionTypes } = kafkajs;

describe('Kafka', () => {
  const kafka = createKafka(env);
  const admin = kafka.admin();
  const topic = testId('topic');
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('creates a topic with its partitions', async () => {
    await admin.connect();
    // kafkajs's own waitForLeaders can fail spuriously right after creation on a KRaft broker.
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })).toBe(true);
    await waitForTopicLeaders(admin, [{ name: topic, partitions: 3 }]);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]!.partitions).toHaveLength(3);
  });

  it('produces snappy-compressed messages and consumes them back in order per key', async () => {
    const producer = kafka.producer({ idempotent: true });
    const consumer = kafka.consumer({ groupId: testId('group') });
    await Promise.all([producer.connect(), consumer.connect()]);
    try {
      const sent = Array.from({ length: 5 }, (_, i) => ({
        key: 'line-1',
        value: JSON.stringify({ seq: i }),
      }));
      await producer.send({ topic, compression: CompressionTypes.Snappy, messages: sent });
      await consumer.subscribe({ topic, fromBeginning: true });
      const received: number[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`received only ${received.length} of 5`)), 30_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            received.push((JSON.parse(message.value!.toString()) as { seq: number }).seq);
            if (received.length === sent.length) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
      expect(received).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await Promise.all([producer.disconnect(), consumer.disconnect()]);
    }
  });

  it('leaves an idle connection idle (kafkajs patched: no 1 ms timer loop, patches/README.md)', async () => {
    // kafkajs is CommonJS: this is the very module its connections use.
    const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
      prototype: { checkPendingRequests(): void };
    };
    const original = RequestQueue.prototype.checkPendingRequests;
    let checks = 0;
    RequestQueue.prototype.checkPendingRequests = function (this: unknown) {
      checks++;
      original.call(this);
    };
    const producer = kafka.producer();
    try {
      await producer.connect();
      await producer.send({ topic, messages: [{ value: 'one' }] }); // a response checks the queue
      checks = 0;
      await new Promise((r) => setTimeout(r, 1_000));
      // Unpatched, each connection re-checks its empty queue every millisecond: hundreds a second.
      expect(checks).toBeLessThan(10);
    } finally {
      RequestQueue.prototype.checkPendingRequests = original;
      await producer.disconnect();
    }
  });
});
