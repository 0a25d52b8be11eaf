// The bridge hands an answer to the dispatch waiting for it in its process (src/worker/inline-answers.ts)
// only while it is its group's one member, commits the answer once the dispatch recorded it, and signals
// whatever no dispatch here took — on real Kafka and Temporal, on topics and a group of this test's own.
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, kafkaName } from '../../../src/clients/kafka.ts';
import { createRedis } from '../../../src/clients/redis.ts';
import { connectTemporal } from '../../../src/clients/temporal.ts';
import { silentProgress } from '../../../src/progress.ts';
import type { RunningConsumer } from '../../../src/stores/kafka/consumer.ts';
import { dedupeKey } from '../../../src/stores/kafka/dedupe.ts';
import { createEnvelope } from '../../../src/stores/kafka/envelope.ts';
import { createPublisher } from '../../../src/stores/kafka/producer.ts';
import { provisionKafka } from '../../../src/stores/kafka/provision.ts';
import { allTopicSpecs, Topic } from '../../../src/stores/kafka/topics.ts';
import type { AgentResponse } from '../../../src/task/index.ts';
import { uuidFrom } from '../../../src/task/ids.ts';
import { runBridge } from '../../../src/worker/bridge.ts';
import { InlineAnswers } from '../../../src/worker/inline-answers.ts';
import { env, testId, waitFor } from '../../helpers.ts';
import { committedCount, deleteTestTopics } from './support.ts';

const id = testId('inline');
const prefix = `${id}.`;
const testEnv = { ...env, KAFKA_TOPIC_PREFIX: `${env.KAFKA_TOPIC_PREFIX}${prefix}` };
const group = testId('inlinegroup');

describe('answers handed from the bridge to a waiting dispatch', () => {
  const kafka = createKafka(testEnv);
  const admin = kafka.admin();
  const publisher = createPublisher(kafka);
  const redis = createRedis(env);
  const sent: string[] = [];
  const logs: string[] = [];
  const bridges: RunningConsumer[] = [];
  let temporal: Client;
  const first = new InlineAnswers();

  beforeAll(async () => {
    await provisionKafka(testEnv, silentProgress, {
      kafka,
      topics: allTopicSpecs.filter((s) => s.name.startsWith(Topic.OrchestrationResponses)),
    });
    await Promise.all([admin.connect(), publisher.connect()]);
    temporal = await connectTemporal(env);
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(bridges.map((b) => b.stop()));
    const keys = sent.map((s) => dedupeKey(group, s));
    if (keys.length > 0) await redis.del(...keys);
    await publisher.disconnect();
    await admin.deleteGroups([kafkaName(kafka, group)]).catch(() => undefined);
    await deleteTestTopics(admin, prefix);
    await admin.disconnect();
    await temporal?.connection.close();
    await redis.quit();
  }, 120_000);

  const startBridge = async (inline: InlineAnswers) => {
    const deps = { kafka, redis, temporal, dlqProducer: publisher.producer, groupId: group };
    const bridge = await runBridge({ ...deps, inline, log: (m) => logs.push(m) });
    bridges.push(bridge);
    return bridge;
  };

  /** An agent's answer on the responses topic, to a run that does not exist (a signal would find none). */
  const answer = async (): Promise<AgentResponse> => {
    const response: AgentResponse = {
      commandId: uuidFrom(`${id}:${sent.length}`),
      workflowId: `${id}-no-such-run`,
      stepKey: 'main',
      agentId: 'agent-inline',
      status: 'SUCCESS',
      result: { n: sent.length },
    };
    const envelope = createEnvelope({
      id: uuidFrom(`response:${response.commandId}`),
      type: 'agent.response',
      workflowId: response.workflowId,
      agentId: response.agentId,
      agentType: 'MONITORING',
      payload: response,
    });
    sent.push(envelope.id);
    await publisher.publish(Topic.OrchestrationResponses, envelope);
    return response;
  };
  const committed = () => committedCount(kafka, admin, group, Topic.OrchestrationResponses);

  it('takes the answer for the waiting dispatch, commits it once recorded, and signals nothing', async () => {
    await startBridge(first);
    await waitFor('the bridge to find itself the group’s one member', () => first.available);
    const pending = first.expect(uuidFrom(`${id}:0`));
    const published = await answer();
    const taken = await pending.next(20_000);
    expect(taken?.response).toEqual(published);
    // Not committed while the dispatch has not recorded it: a crash now would deliver it again.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await committed()).toBe(0);
    taken!.recorded(true);
    await waitFor('the answer to be committed', async () => (await committed()) === 1);
    expect(logs).toEqual([]); // no signal tried
  }, 60_000);

  it('signals an answer no dispatch here waits for', async () => {
    await answer();
    await waitFor('the bridge to signal the answer', () => logs.some((l) => l.includes('late answer')));
    await waitFor('the answer to be committed', async () => (await committed()) === 2);
  }, 60_000);

  it('stops offering answers when a second bridge joins the group: answers may land on it', async () => {
    expect(first.available).toBe(true); // the first test's bridge, the group's one member so far
    const second = new InlineAnswers();
    await startBridge(second);
    await waitFor('the first bridge to see the second member', () => !first.available, 30_000);
    // Both stay off once the group is stable with two members.
    await new Promise((r) => setTimeout(r, 3_000));
    expect([first.available, second.available]).toEqual([false, false]);
  }, 60_000);
});
