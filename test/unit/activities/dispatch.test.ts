// Step 3, dispatchCommand, in Temporal's MockActivityEnvironment with fake dependencies (a PostgreSQL that
// answers the dispatch's three statements from memory, a publisher that keeps what it is given): each branch —
// a Kafka agent, a Temporal-native agent, no agent registered, and a command already sent by a run whose
// completion was lost. What PostgreSQL itself does with those statements is test/integration/postgres's.
import { describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { ActivityDeps } from '../../../activities/deps.ts';
import { dispatchActivities, type DispatchedCommand } from '../../../activities/dispatch.ts';
import type { Envelope } from '../../../src/stores/kafka/envelope.ts';
import { CommandsTopic, Topic } from '../../../src/stores/kafka/topics.ts';
import { commandIdFor, subtaskIdFor } from '../../../src/task/ids.ts';
import { failureTypes, type PlanStep } from '../../../src/task/index.ts';

type Agent = { id: string; transport: 'KAFKA' | 'TEMPORAL'; task_queue: string | null; typed?: boolean };
type Sent = { transport?: 'KAFKA' | 'TEMPORAL'; taskQueue?: string | null };

/** What the fake stores saw: the COMMAND_SENT rows written and the envelopes published. */
interface Seen {
  marked: { values: unknown[] }[];
  published: { topic: string; envelopes: Envelope[] }[];
}

function fakeDeps(world: { agent?: Agent; sent?: Sent }): { deps: ActivityDeps; seen: Seen } {
  const seen: Seen = { marked: [], published: [] };
  const prisma = {
    $queryRaw(sql: TemplateStringsArray, ...values: unknown[]): Promise<unknown[]> {
      const text = sql.join('?');
      if (text.includes('FROM agents')) return Promise.resolve(world.agent ? [world.agent] : []);
      if (text.includes('SELECT details FROM task_history')) {
        return Promise.resolve(world.sent ? [{ details: world.sent }] : []);
      }
      if (text.includes('INSERT INTO task_history')) {
        seen.marked.push({ values });
        return Promise.resolve([]);
      }
      return Promise.reject(new Error(`the fake PostgreSQL does not know this statement: ${text}`));
    },
  };
  const publisher = {
    publish(topic: string, envelopes: Envelope | readonly Envelope[]) {
      seen.published.push({ topic, envelopes: Array.isArray(envelopes) ? [...envelopes] : [envelopes] });
      return Promise.resolve([]);
    },
  };
  // dispatchActivities uses these two of the worker's clients only.
  return { deps: { prisma, publisher } as unknown as ActivityDeps, seen };
}

const taskId = '3f0b6c1e-2a4d-4e8f-9b7a-5c6d7e8f9a0b';
const step: PlanStep = { key: 'watch', agentType: 'MONITORING', dependsOn: [] };
// The activity's failures are asserted here, not logged.
const quiet = new DefaultLogger('ERROR', () => undefined);

type DispatchInput = Parameters<ReturnType<typeof dispatchActivities>['dispatchCommand']>[0];

const input: DispatchInput = {
  taskId,
  workflowId: 'task-dispatch-test',
  step,
  instruction: 'watch the spindle',
  parameters: { machine: 'cnc-7' },
  knowledge: [{ id: 'k1', collection: 'ManufacturingKnowledge', title: 't', snippet: 's', score: 0.9 }],
  upstream: {},
  deadlineAt: '2030-01-01T00:00:00.000Z',
};

async function dispatch(world: { agent?: Agent; sent?: Sent }, overrides: Partial<DispatchInput> = {}) {
  const { deps, seen } = fakeDeps(world);
  const result: DispatchedCommand = await new MockActivityEnvironment(undefined, { logger: quiet }).run(
    dispatchActivities(deps).dispatchCommand,
    { ...input, ...overrides },
  );
  return { result, seen };
}

describe('dispatchCommand (step 3)', () => {
  it('sends a Kafka agent its command, with the command id as the envelope id, and records it as sent where it went', async () => {
    const { result, seen } = await dispatch({
      agent: { id: 'monitoring-1', transport: 'KAFKA', task_queue: null },
    });
    const commandId = commandIdFor(taskId, step.key);
    expect(result).toMatchObject({ transport: 'KAFKA', taskQueue: null });
    expect(result.command).toMatchObject({ commandId, taskId, stepKey: 'watch', agentType: 'MONITORING' });
    expect(seen.published).toHaveLength(1);
    expect(seen.published[0]!.topic).toBe(Topic.OrchestrationCommands);
    expect(seen.published[0]!.envelopes[0]).toMatchObject({
      id: commandId,
      type: 'agent.command',
      payload: result.command,
    });
    expect(seen.marked).toHaveLength(1);
    const values = seen.marked[0]!.values;
    expect(values).toContain(subtaskIdFor(taskId, step.key));
    const details = JSON.parse(values.find((v) => typeof v === 'string' && v.startsWith('{')) as string);
    expect(details).toEqual({
      commandId,
      agentType: 'MONITORING',
      transport: 'KAFKA',
      topic: Topic.OrchestrationCommands,
      knowledge: ['k1'],
    });
  });

  it('sends on the type’s own topic when every Kafka agent of the type reads it, and says so', async () => {
    const { seen } = await dispatch({
      agent: { id: 'monitoring-typed', transport: 'KAFKA', task_queue: null, typed: true },
    });
    expect(seen.published.map((p) => p.topic)).toEqual([CommandsTopic.MONITORING]);
    expect(seen.published.map((p) => p.topic)).toEqual(['agent.orchestration.commands.monitoring']);
    const details = JSON.parse(
      seen.marked[0]!.values.find((v) => typeof v === 'string' && v.startsWith('{')) as string,
    );
    expect(details).toMatchObject({ transport: 'KAFKA', topic: 'agent.orchestration.commands.monitoring' });
  });

  it('publishes nothing for a Temporal-native agent, and names its task queue (its type’s by default)', async () => {
    const { result, seen } = await dispatch(
      { agent: { id: 'monitoring-t', transport: 'TEMPORAL', task_queue: null } },
      { knowledge: [], knowledgeError: 'Weaviate did not answer' },
    );
    expect(result).toMatchObject({ transport: 'TEMPORAL', taskQueue: 'prism-agent-monitoring' });
    expect(seen.published).toEqual([]);
    const details = JSON.parse(
      seen.marked[0]!.values.find((v) => typeof v === 'string' && v.startsWith('{')) as string,
    );
    expect(details).toMatchObject({
      transport: 'TEMPORAL',
      taskQueue: 'prism-agent-monitoring',
      knowledgeError: 'Weaviate did not answer',
    });
  });

  it('fails without retrying when no agent of the type is registered, saying how to start one', async () => {
    const failure = await dispatch({}).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({
      type: failureTypes.noAgentRegistered,
      nonRetryable: true,
      message: expect.stringContaining('prism agent run --type MONITORING'),
    });
  });

  it('sends nothing again when the command was sent already (a run whose completion was lost)', async () => {
    const { result, seen } = await dispatch({
      agent: { id: 'monitoring-2', transport: 'KAFKA', task_queue: null },
      sent: { transport: 'KAFKA' },
    });
    expect(result).toMatchObject({ transport: 'KAFKA', taskQueue: null });
    expect(result.command.commandId).toBe(commandIdFor(taskId, step.key));
    expect(seen.published).toEqual([]);
    expect(seen.marked).toEqual([]);
  });

  it('answers with the transport it was sent on, not the agent chosen now', async () => {
    // Sent to a Temporal-native agent (on a queue of its own); a Kafka agent is the freshest now.
    const { result, seen } = await dispatch({
      agent: { id: 'monitoring-3', transport: 'KAFKA', task_queue: null },
      sent: { transport: 'TEMPORAL', taskQueue: 'custom-queue' },
    });
    expect(result).toMatchObject({ transport: 'TEMPORAL', taskQueue: 'custom-queue' });
    expect(seen.published).toEqual([]);
    // A row written before the task queue was recorded: the type's queue.
    const older = await dispatch({ sent: { transport: 'TEMPORAL' } });
    expect(older.result.taskQueue).toBe('prism-agent-monitoring');
    expect(older.seen.marked).toEqual([]);
  });
});
