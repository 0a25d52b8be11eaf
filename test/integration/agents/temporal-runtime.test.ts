// A Temporal-native agent end to end: a workflow calls `runAgentCommand` on the agent's task queue (as the
// task workflow does), the agent answers as the activity's result and on Kafka, and its presence is in
// PostgreSQL and Redis. The agent polls a test-only queue, so it never takes another test's commands.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { silentLogger } from '../../../src/agents/logger.ts';
import { runTemporalAgent } from '../../../src/agents/temporal-transport.ts';
import type { AgentHandler, RunningAgent } from '../../../src/agents/types.ts';
import { createKafka } from '../../../src/clients/kafka.ts';
import { createRedis } from '../../../src/clients/redis.ts';
import { connectTemporal } from '../../../src/clients/temporal.ts';
import { createPrisma } from '../../../src/db/prisma.ts';
import type { AgentResponse } from '../../../src/task/index.ts';
import { uuidFrom } from '../../../src/task/ids.ts';
import { Topic } from '../../../src/stores/kafka/topics.ts';
import { createAgentStateStore } from '../../../src/stores/redis/agent-state.ts';
import { env, testId } from '../../helpers.ts';
import { callAgent } from './fixtures/workflows.ts';
import { makeCommand, tailTopic, type TopicTail } from './support.ts';

describe('Temporal agent runtime', () => {
  const agentId = testId('tagent');
  const agentQueue = testId('agentq');
  const workflowQueue = testId('wfq');
  const prisma = createPrisma(env);
  const redis = createRedis(env);
  const agentState = createAgentStateStore(redis);
  const states: (string | undefined)[] = [];
  let client: Client;
  let connection: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  let agent: RunningAgent;
  let responses: TopicTail;

  const handler: AgentHandler = async (command, ctx) => {
    states.push((await ctx.agentState.get(ctx.agentId))?.status);
    if (command.parameters.fail) throw new Error('the kiln is unreachable');
    return { summary: `analysed ${String(command.parameters.topic)}`, agentType: ctx.agentType };
  };
  const call = (command: unknown) =>
    client.workflow.execute(callAgent, {
      taskQueue: workflowQueue,
      workflowId: testId('wf'),
      args: [agentQueue, command],
    });

  beforeAll(async () => {
    client = await connectTemporal(env);
    responses = await tailTopic(createKafka(env), Topic.OrchestrationResponses);
    connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
    worker = await Worker.create({
      connection,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: workflowQueue,
      workflowsPath: fileURLToPath(new URL('./fixtures/workflows.ts', import.meta.url)),
    });
    running = worker.run();
    agent = await runTemporalAgent({
      env,
      agentId,
      type: 'ANALYSIS',
      handler,
      taskQueue: agentQueue,
      description: 'Temporal test agent',
      heartbeatIntervalMs: 300,
      log: silentLogger,
    });
  });

  afterAll(async () => {
    await agent?.stop();
    worker?.shutdown();
    await running?.catch(() => undefined);
    await connection?.close();
    await client?.connection.close();
    await responses?.stop();
    await agentState.remove(agentId);
    await prisma.agent.deleteMany({ where: { id: agentId } });
    await Promise.all([prisma.$disconnect(), redis.quit()]);
  });

  it('registers as a TEMPORAL agent with its task queue', async () => {
    expect(agent).toMatchObject({
      agentId,
      type: 'ANALYSIS',
      transport: 'TEMPORAL',
      source: `task queue ${agentQueue}`,
    });
    expect(await prisma.agent.findUniqueOrThrow({ where: { id: agentId } })).toMatchObject({
      type: 'ANALYSIS',
      transport: 'TEMPORAL',
      taskQueue: agentQueue,
      status: 'ONLINE',
      description: 'Temporal test agent',
      lastHeartbeatAt: expect.any(Date),
    });
    expect(await agentState.get(agentId)).toMatchObject({
      status: 'IDLE',
      alive: true,
      fields: { transport: 'TEMPORAL' },
    });
  });

  it('answers the activity, BUSY while it works, and publishes the answer for the audit trail', async () => {
    const command = makeCommand('ANALYSIS', { parameters: { topic: 'kiln temperature' } });
    const response = await call(command);
    expect(response).toMatchObject({
      commandId: command.commandId,
      workflowId: command.workflowId,
      stepKey: 'main',
      agentId,
      status: 'SUCCESS',
      result: { summary: 'analysed kiln temperature', agentType: 'ANALYSIS' },
    });
    expect(states.at(-1)).toBe('BUSY');
    expect(await agentState.get(agentId)).toMatchObject({
      status: 'IDLE',
      fields: { lastTask: command.taskId },
    });
    const published = await responses.byId(uuidFrom(`response:${command.commandId}`));
    expect(published).toMatchObject({
      type: 'agent.response',
      taskId: command.taskId,
      agentId,
      agentType: 'ANALYSIS',
      payload: response as unknown as Record<string, unknown>,
    });
  });

  it('returns FAILED with the reason when the handler throws', async () => {
    const response: AgentResponse = await call(makeCommand('ANALYSIS', { parameters: { fail: true } }));
    expect(response).toMatchObject({ status: 'FAILED', error: 'the kiln is unreachable', result: {} });
  });

  it('refuses a command of another type or an invalid one without retrying', async () => {
    const failure = async (command: unknown) => {
      const err = await call(command).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause?.cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      return cause as ApplicationFailure;
    };
    const wrongType = await failure(makeCommand('CONTROL'));
    expect(wrongType).toMatchObject({ type: 'WrongAgentType', nonRetryable: true });
    expect(wrongType.message).toContain(`got a CONTROL command: send it to prism-agent-control`);
    const { commandId: _omitted, ...invalid } = makeCommand('ANALYSIS');
    const bad = await failure(invalid);
    expect(bad).toMatchObject({
      type: 'InvalidAgentCommand',
      nonRetryable: true,
      message: 'invalid agent command: commandId: required',
    });
  });

  it('marks itself OFFLINE when stopped', async () => {
    await agent.stop();
    await agent.done;
    expect(await prisma.agent.findUniqueOrThrow({ where: { id: agentId } })).toMatchObject({
      status: 'OFFLINE',
    });
    expect(await agentState.get(agentId)).toMatchObject({ status: 'OFFLINE' });
  });
});
