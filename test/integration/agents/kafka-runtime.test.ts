// A Kafka agent end to end through the broker: registration and heartbeats in PostgreSQL and Redis, commands
// in, answers out with deterministic ids, dedupe, DLQ for invalid commands, OFFLINE on stop. The agent reads
// this test's own copies of the command and response topics, so no other agent or test sees its messages.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { runKafkaAgent } from '../../../src/agents/kafka-transport.ts';
import { silentLogger } from '../../../src/agents/logger.ts';
import type { AgentHandler, RunningAgent } from '../../../src/agents/types.ts';
import { createKafka, kafkaName } from '../../../src/clients/kafka.ts';
import { createRedis } from '../../../src/clients/redis.ts';
import { createPrisma } from '../../../src/db/prisma.ts';
import type { AgentResponse } from '../../../src/task/index.ts';
import { uuidFrom } from '../../../src/task/ids.ts';
import { silentProgress } from '../../../src/progress.ts';
import { DeadLetterHeader } from '../../../src/stores/kafka/dead-letter.ts';
import { createEnvelope, parseEnvelope, type Envelope } from '../../../src/stores/kafka/envelope.ts';
import { createPublisher, MessageHeader } from '../../../src/stores/kafka/producer.ts';
import { provisionKafka } from '../../../src/stores/kafka/provision.ts';
import { allTopicSpecs, Topic } from '../../../src/stores/kafka/topics.ts';
import { createAgentStateStore } from '../../../src/stores/redis/agent-state.ts';
import { env, testId, waitFor } from '../../helpers.ts';
import { deleteTestTopics } from '../kafka/support.ts';
import { makeCommand } from './support.ts';

describe('Kafka agent runtime', () => {
  const prefix = `${testId('agk')}.`;
  const commandsTopic = prefix + Topic.OrchestrationCommands;
  const responsesTopic = prefix + Topic.OrchestrationResponses;
  const agentId = testId('kagent');
  const groupId = testId('kgroup');
  const readerGroup = testId('kread');
  const kafka = createKafka(env);
  const admin = kafka.admin();
  const publisher = createPublisher(kafka);
  const prisma = createPrisma(env);
  const redis = createRedis(env);
  const agentState = createAgentStateStore(redis);
  const reader = kafka.consumer({ groupId: readerGroup, maxWaitTimeInMs: 100 });
  const responses: Envelope[] = [];
  const deadLetters: KafkaMessage[] = [];
  const busyStates: (string | undefined)[] = [];
  let agent: RunningAgent;

  // Echoes a parameter, fails on request, and reports its own Redis state while it works.
  const handler: AgentHandler = async (command, ctx) => {
    busyStates.push((await ctx.agentState.get(ctx.agentId))?.status);
    if (command.parameters.fail) throw new Error(`asked to fail: ${String(command.parameters.fail)}`);
    return { echoed: command.parameters.value ?? null, by: ctx.agentId };
  };

  const send = (envelope: Envelope) => publisher.publish(commandsTopic, envelope);
  const commandEnvelope = (command: ReturnType<typeof makeCommand>, id = command.commandId) =>
    createEnvelope({
      id,
      type: 'agent.command',
      taskId: command.taskId,
      workflowId: command.workflowId,
      agentType: command.agentType as 'PREDICTION',
      payload: command,
    });
  const responsesTo = (commandId: string) =>
    responses.filter((e) => (e.payload as AgentResponse).commandId === commandId);

  beforeAll(async () => {
    await Promise.all([admin.connect(), publisher.connect()]);
    const specs = allTopicSpecs.filter(
      (s) => s.name.startsWith(Topic.OrchestrationCommands) || s.name === Topic.OrchestrationResponses,
    );
    await provisionKafka(env, silentProgress, { prefix, topics: specs });
    await reader.connect();
    const responsesOnCluster = kafkaName(kafka, responsesTopic);
    await reader.subscribe({
      topics: [responsesOnCluster, kafkaName(kafka, `${commandsTopic}.dlq`)],
      fromBeginning: true,
    });
    await reader.run({
      eachMessage: async ({ topic, message }) => {
        if (topic !== responsesOnCluster) return void deadLetters.push(message);
        const parsed = parseEnvelope(message.value);
        if (parsed.ok) responses.push(parsed.envelope);
      },
    });
    agent = await runKafkaAgent({
      env,
      agentId,
      type: 'PREDICTION',
      handler,
      name: 'Kafka test agent',
      capabilities: ['echo'],
      groupId,
      commandsTopic,
      responsesTopic,
      heartbeatIntervalMs: 300,
      log: silentLogger,
    });
  });

  afterAll(async () => {
    await agent?.stop();
    await reader.disconnect();
    await publisher.disconnect();
    await admin.deleteGroups([kafkaName(kafka, groupId), readerGroup]).catch(() => undefined);
    await deleteTestTopics(admin, prefix);
    await admin.disconnect();
    const seen = await redis.keys(`prism:kafka:seen:${groupId}:*`);
    if (seen.length > 0) await redis.del(...seen);
    await agentState.remove(agentId);
    await prisma.agent.deleteMany({ where: { id: agentId } });
    await Promise.all([prisma.$disconnect(), redis.quit()]);
  });

  it('registers as a KAFKA agent and heartbeats in PostgreSQL and Redis', async () => {
    expect(agent).toMatchObject({ agentId, type: 'PREDICTION', transport: 'KAFKA' });
    const row = await prisma.agent.findUniqueOrThrow({ where: { id: agentId } });
    expect(row).toMatchObject({
      type: 'PREDICTION',
      transport: 'KAFKA',
      status: 'ONLINE',
      name: 'Kafka test agent',
      capabilities: ['echo'],
      taskQueue: null,
      config: { groupId, commandsTopic, responsesTopic },
    });
    const first = row.lastHeartbeatAt!.getTime();
    const state = await agentState.get(agentId);
    expect(state).toMatchObject({
      status: 'IDLE',
      alive: true,
      fields: { agentType: 'PREDICTION', transport: 'KAFKA' },
    });
    await waitFor('a later heartbeat in PostgreSQL', async () => {
      const later = await prisma.agent.findUniqueOrThrow({ where: { id: agentId } });
      return later.lastHeartbeatAt!.getTime() > first ? true : undefined;
    });
    await waitFor('a later heartbeat in Redis', async () =>
      ((await agentState.get(agentId))?.heartbeatAtMs ?? 0) > state!.heartbeatAtMs ? true : undefined,
    );
  });

  it('answers a command with a deterministic response id, BUSY while it works and IDLE after', async () => {
    const command = makeCommand('PREDICTION', { parameters: { value: 42 } });
    const other = makeCommand('CONTROL', { parameters: { value: 'not mine' } });
    await send(commandEnvelope(other));
    await send(commandEnvelope(command));
    const response = await waitFor('the answer', () => responsesTo(command.commandId)[0]);
    expect(response).toMatchObject({
      id: uuidFrom(`response:${command.commandId}`),
      type: 'agent.response',
      taskId: command.taskId,
      workflowId: command.workflowId,
      agentId,
      agentType: 'PREDICTION',
      payload: {
        commandId: command.commandId,
        workflowId: command.workflowId,
        stepKey: 'main',
        agentId,
        status: 'SUCCESS',
        result: { echoed: 42, by: agentId },
      },
    });
    expect((response.payload as AgentResponse).durationMs).toBeGreaterThanOrEqual(0);
    expect(busyStates.at(-1)).toBe('BUSY');
    expect(await agentState.get(agentId)).toMatchObject({
      status: 'IDLE',
      currentTask: null,
      fields: { lastTask: command.taskId, lastStatus: 'SUCCESS' },
    });
    // The CONTROL command went to the CONTROL agents' group: this agent did not answer it.
    expect(responsesTo(other.commandId)).toEqual([]);
  });

  it('skips a redelivered envelope, and re-answers a re-sent command with the same response id', async () => {
    const command = makeCommand('PREDICTION', { parameters: { value: 'once' } });
    await send(commandEnvelope(command));
    await waitFor('the first answer', () => responsesTo(command.commandId)[0]);
    const calls = busyStates.length;
    await send(commandEnvelope(command)); // the same envelope id: deduped
    await send(commandEnvelope(command, randomUUID())); // a new envelope for the same command
    const answers = await waitFor('the second answer', () => {
      const found = responsesTo(command.commandId);
      return found.length >= 2 ? found : undefined;
    });
    expect(new Set(answers.map((a) => a.id))).toEqual(new Set([uuidFrom(`response:${command.commandId}`)]));
    expect(answers.map((a) => a.payload)).toEqual([answers[0]!.payload, answers[0]!.payload]);
    // A later command of the same task (same partition) is answered after all of the above were consumed.
    const marker = makeCommand('PREDICTION', { taskId: command.taskId, parameters: { value: 'marker' } });
    await send(commandEnvelope(marker));
    await waitFor('the marker answer', () => responsesTo(marker.commandId)[0]);
    expect(responsesTo(command.commandId)).toHaveLength(2);
    // The handler ran for the first delivery and the marker only: the re-sent command got its earlier answer.
    expect(busyStates.length).toBe(calls + 1);
  });

  it('answers FAILED with the handler’s reason', async () => {
    const command = makeCommand('PREDICTION', { parameters: { fail: 'sensor offline' } });
    await send(commandEnvelope(command));
    const response = await waitFor('the answer', () => responsesTo(command.commandId)[0]);
    expect(response.payload).toMatchObject({
      status: 'FAILED',
      error: 'asked to fail: sensor offline',
      result: {},
    });
    expect(await agentState.get(agentId)).toMatchObject({ status: 'IDLE', fields: { lastStatus: 'FAILED' } });
  });

  it('dead-letters an invalid command and answers it FAILED so the workflow does not wait', async () => {
    const { deadlineAt: _omitted, ...invalid } = makeCommand('PREDICTION');
    const envelope = createEnvelope({
      type: 'agent.command',
      taskId: invalid.taskId,
      workflowId: invalid.workflowId,
      agentType: 'PREDICTION',
      payload: { ...invalid, parameters: 'not an object' },
    });
    await send(envelope);
    const dead = await waitFor('the dead letter', () =>
      deadLetters.find((m) => m.headers?.[MessageHeader.id]?.toString() === envelope.id),
    );
    const reason = dead.headers?.[DeadLetterHeader.reason]?.toString();
    expect(reason).toMatch(/^invalid agent command: /);
    expect(reason).toContain('payload.parameters');
    expect(reason).toContain('payload.deadlineAt');
    expect(dead.headers?.[DeadLetterHeader.groupId]?.toString()).toBe(kafkaName(kafka, groupId));
    const response = await waitFor('the FAILED answer', () => responsesTo(invalid.commandId)[0]);
    expect(response).toMatchObject({
      id: uuidFrom(`response:${invalid.commandId}`),
      payload: { status: 'FAILED', error: reason },
    });
  });

  it('does no work for a command whose deadline has passed', async () => {
    const expired = makeCommand('PREDICTION', { deadlineAt: new Date(Date.now() - 1_000).toISOString() });
    const marker = makeCommand('PREDICTION', { parameters: { value: 'after the expired one' } });
    const calls = busyStates.length;
    // Same task: same partition, so the marker's answer proves the expired command was consumed first.
    await send(commandEnvelope(expired));
    await send(commandEnvelope({ ...marker, taskId: expired.taskId }));
    await waitFor('the marker answer', () => responsesTo(marker.commandId)[0]);
    expect(responsesTo(expired.commandId)).toEqual([]);
    expect(busyStates.length).toBe(calls + 1);
  });

  it('marks itself OFFLINE when stopped', async () => {
    await agent.stop();
    await agent.done;
    expect(await prisma.agent.findUniqueOrThrow({ where: { id: agentId } })).toMatchObject({
      status: 'OFFLINE',
    });
    expect(await agentState.get(agentId)).toMatchObject({ status: 'OFFLINE', currentTask: null });
  });
});
