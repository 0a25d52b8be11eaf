// Step 3 with the answer waited for (flow version 3, activities/dispatch.ts): on real PostgreSQL and Kafka,
// the dispatch sends the command once, takes the answer the bridge hands it, records it as the step's result
// before telling the bridge so, and a dispatch run again (its worker killed after that) returns the recorded
// answer without sending anything; with no answer in time it returns none and a late answer is the bridge's
// to signal.
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityDeps } from '../../activities/deps.ts';
import { dispatchActivities, type DispatchedCommand } from '../../activities/dispatch.ts';
import { createKafka, kafkaName } from '../../src/clients/kafka.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { silentProgress } from '../../src/progress.ts';
import { createPublisher } from '../../src/stores/kafka/producer.ts';
import { provisionKafka } from '../../src/stores/kafka/provision.ts';
import { allTopicSpecs, commandTopicsOf } from '../../src/stores/kafka/topics.ts';
import { registerAgent, recordHeartbeat } from '../../src/stores/postgres/agents.ts';
import { openTask } from '../../src/stores/postgres/flow.ts';
import { commandIdFor, planIdFor, subtaskIdFor, taskIdFor, uuidFrom } from '../../src/task/ids.ts';
import type { AgentResponse, PlanStep } from '../../src/task/index.ts';
import { InlineAnswers } from '../../src/worker/inline-answers.ts';
import { deleteTestTopics } from './kafka/support.ts';
import { env, testId, waitFor } from '../helpers.ts';

const id = testId('inline_dispatch');
const prefix = `${id}.`;
const testEnv = { ...env, KAFKA_TOPIC_PREFIX: `${env.KAFKA_TOPIC_PREFIX}${prefix}` };
const quiet = new DefaultLogger('ERROR', () => undefined);
const step: PlanStep = { key: 'main', agentType: 'MONITORING', dependsOn: [] };

describe('a dispatch that waits for its answer', () => {
  const kafka = createKafka(testEnv);
  const admin = kafka.admin();
  const publisher = createPublisher(kafka);
  const prisma = createPrisma(env);
  const agentId = `${id.replaceAll('_', '-')}-monitoring`;
  const requestIds: string[] = [];

  beforeAll(async () => {
    await provisionKafka(testEnv, silentProgress, {
      kafka,
      topics: allTopicSpecs.filter((s) => (commandTopicsOf('MONITORING') as string[]).includes(s.name)),
    });
    await Promise.all([admin.connect(), publisher.connect()]);
    await registerAgent(prisma, { id: agentId, name: 'inline', type: 'MONITORING', transport: 'KAFKA' });
    await recordHeartbeat(prisma, agentId);
  }, 120_000);

  afterAll(async () => {
    await prisma.task.deleteMany({ where: { requestId: { in: requestIds } } });
    await prisma.agent.deleteMany({ where: { id: agentId } });
    await publisher.disconnect();
    await deleteTestTopics(admin, prefix);
    await admin.disconnect();
    await prisma.$disconnect();
  }, 60_000);

  /** A task of one step, opened as createTask opens it (ids derived from its request id). */
  const newTask = async () => {
    const requestId = testId('inline');
    requestIds.push(requestId);
    const taskId = taskIdFor(requestId);
    await openTask(prisma, {
      taskId,
      requestId,
      workflowId: `task-${requestId}`,
      userId: null,
      priority: 'NORMAL',
      query: { text: 'check', type: 'MONITORING', constraints: {} },
      planId: planIdFor(taskId),
      taskGraph: { steps: [step] },
      subtasks: [
        {
          id: subtaskIdFor(taskId, 'main'),
          stepKey: 'main',
          agentType: 'MONITORING',
          sequenceOrder: 0,
          dependsOn: [],
          input: {},
        },
      ],
    });
    return { taskId, workflowId: `task-${requestId}` };
  };

  const sentCount = async () => {
    let n = 0;
    for (const topic of commandTopicsOf('MONITORING')) {
      const offsets = await admin.fetchTopicOffsets(kafkaName(kafka, topic));
      n += offsets.reduce((sum, p) => sum + Number(p.high), 0);
    }
    return n;
  };

  const dispatcher = (inline: InlineAnswers, waitMs: number) => {
    const deps = {
      env: { ...testEnv, PRISM_INLINE_ANSWER_MS: waitMs },
      prisma,
      publisher,
      inlineAnswers: inline,
    };
    const { dispatchCommand } = dispatchActivities(deps as unknown as ActivityDeps);
    return (
      task: { taskId: string; workflowId: string },
      activity = new MockActivityEnvironment(undefined, { logger: quiet }),
    ): Promise<DispatchedCommand> =>
      activity.run(dispatchCommand, {
        ...task,
        step,
        instruction: 'check the spindle',
        parameters: {},
        knowledge: [],
        upstream: {},
        deadlineAt: new Date(Date.now() + 60_000).toISOString(),
        inlineAnswer: true,
      });
  };

  const answerTo = (task: { taskId: string; workflowId: string }): AgentResponse => ({
    commandId: commandIdFor(task.taskId, 'main'),
    workflowId: task.workflowId,
    stepKey: 'main',
    agentId,
    status: 'SUCCESS',
    result: { anomalies: 0, checked: uuidFrom(task.taskId) },
    durationMs: 12,
  });

  it('takes the answer, records it, and a dispatch run again returns it without sending again', async () => {
    const inline = new InlineAnswers();
    inline.setSoleConsumer(true);
    const dispatch = dispatcher(inline, 10_000);
    const task = await newTask();
    const before = await sentCount();
    const running = dispatch(task);
    await waitFor('the dispatch to wait for its answer', () => inline.waiting === 1);
    const delivered = inline.deliver(answerTo(task));
    const result = await running;
    expect(result.answer).toEqual(answerTo(task));
    expect(result.answerTimings!.waitMs).toBeGreaterThanOrEqual(0);
    await expect(delivered).resolves.toBe(true);
    expect(await sentCount()).toBe(before + 1);
    // Recorded as the step's result before the bridge was told.
    const subtask = await prisma.agentSubtask.findUniqueOrThrow({
      where: { id: subtaskIdFor(task.taskId, 'main') },
    });
    expect(subtask).toMatchObject({
      status: 'SUCCESS',
      output: answerTo(task).result,
      durationMs: 12,
      agentId,
    });
    const answered = await prisma.taskHistory.findMany({
      where: { taskId: task.taskId, eventType: 'RESPONSE_RECEIVED' },
    });
    expect(answered.map((h) => h.details)).toEqual([
      { agentId, status: 'SUCCESS', commandId: answerTo(task).commandId },
    ]);

    // Its worker killed before the run recorded the result: the dispatch again gives the same answer at once.
    const again = await dispatch(task);
    expect(again.answer).toEqual(answerTo(task));
    expect(again.answerTimings).toEqual({ waitMs: 0, recordMs: 0 });
    expect(await sentCount()).toBe(before + 1);
    expect(inline.waiting).toBe(0);
  }, 60_000);

  it('returns without an answer when none comes in time, and leaves a late one to the bridge', async () => {
    const inline = new InlineAnswers();
    inline.setSoleConsumer(true);
    const task = await newTask();
    const result = await dispatcher(inline, 300)(task);
    expect(result.answer).toBeUndefined();
    expect(result.transport).toBe('KAFKA');
    expect(inline.waiting).toBe(0);
    await expect(inline.deliver(answerTo(task))).resolves.toBe(false);
    expect(
      await prisma.taskHistory.count({ where: { taskId: task.taskId, eventType: 'RESPONSE_RECEIVED' } }),
    ).toBe(0);
  }, 60_000);

  it('stops waiting and records nothing when the run cancels it (a sibling step failed)', async () => {
    const inline = new InlineAnswers();
    inline.setSoleConsumer(true);
    const task = await newTask();
    const activity = new MockActivityEnvironment(undefined, { logger: quiet });
    const started = Date.now();
    const running = dispatcher(inline, 8_000)(task, activity);
    await waitFor('the dispatch to wait for its answer', () => inline.waiting === 1);
    activity.cancel('CANCELLED'); // the run stopped waiting for the step
    const result = await running.catch((err: unknown) => err);
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(inline.waiting).toBe(0);
    // The answer that comes now is the bridge's: it signals it, and the run ignores it.
    await expect(inline.deliver(answerTo(task))).resolves.toBe(false);
    expect((result as { answer?: unknown }).answer).toBeUndefined();
    const answered = await prisma.taskHistory.count({
      where: { taskId: task.taskId, eventType: 'RESPONSE_RECEIVED' },
    });
    expect(answered).toBe(0);
  }, 60_000);

  it('does not wait when its bridge is not the only one of its group', async () => {
    const inline = new InlineAnswers(); // never told it is the only member
    const task = await newTask();
    const started = Date.now();
    const result = await dispatcher(inline, 5_000)(task);
    expect(result.answer).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(inline.waiting).toBe(0);
  }, 60_000);
});
