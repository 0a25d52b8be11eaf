import { afterAll, describe, expect, it } from 'vitest';
import { createPrisma } from '../../../src/db/prisma.ts';
import {
  appendHistory,
  createTask,
  InvalidTransitionError,
  transitionTask,
} from '../../../src/stores/postgres/tasks.ts';
import { env, testId } from '../../helpers.ts';

describe('tasks in PostgreSQL', () => {
  const prisma = createPrisma(env);
  const requestIds: string[] = [];
  const newRequest = () => {
    const id = testId('req');
    requestIds.push(id);
    return {
      requestId: id,
      workflowId: `task-${id}`,
      query: { text: 'Check spindle temperature on line 2', type: 'MONITORING' as const },
    };
  };
  afterAll(async () => {
    await prisma.task.deleteMany({ where: { requestId: { in: requestIds } } }); // history, queries cascade
    await prisma.$disconnect();
  });

  it('creates one task per request id, however often the request arrives', async () => {
    const request = newRequest();
    const results = await Promise.all([
      createTask(prisma, request),
      createTask(prisma, request),
      createTask(prisma, request),
    ]);
    expect(new Set(results.map((r) => r.task.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const task = await prisma.task.findUniqueOrThrow({
      where: { requestId: request.requestId },
      include: { queries: true, history: true },
    });
    expect(task.status).toBe('PENDING');
    expect(task.queries.map((q) => [q.queryText, q.queryType])).toEqual([[request.query.text, 'MONITORING']]);
    expect(task.history.map((h) => h.eventType)).toEqual(['TASK_CREATED']);
  });

  it('moves through allowed transitions once each, recording them in the history', async () => {
    const { task } = await createTask(prisma, newRequest());
    await transitionTask(prisma, task.id, 'ACTIVE');
    const again = await transitionTask(prisma, task.id, 'ACTIVE'); // a retried activity
    expect(again.changed).toBe(false);
    const done = await transitionTask(prisma, task.id, 'COMPLETED', { result: { anomalies: 0 } });
    expect(done.task).toMatchObject({ status: 'COMPLETED', result: { anomalies: 0 } });
    expect(done.task.completedAt).toBeInstanceOf(Date);
    expect(done.task.totalDurationMs).toBeGreaterThanOrEqual(0);
    const history = await prisma.taskHistory.findMany({ where: { taskId: task.id }, orderBy: { id: 'asc' } });
    expect(history.map((h) => [h.eventType, h.fromStatus, h.toStatus])).toEqual([
      ['TASK_CREATED', null, 'PENDING'],
      ['STATUS_CHANGED', 'PENDING', 'ACTIVE'],
      ['STATUS_CHANGED', 'ACTIVE', 'COMPLETED'],
    ]);
  });

  it('refuses an illegal transition and leaves the task as it was', async () => {
    const { task } = await createTask(prisma, newRequest());
    await transitionTask(prisma, task.id, 'CANCELLED', { errorMessage: 'cancelled by operator' });
    await expect(transitionTask(prisma, task.id, 'ACTIVE')).rejects.toThrow(InvalidTransitionError);
    await expect(transitionTask(prisma, task.id, 'ACTIVE')).rejects.toThrow(
      /cannot go from CANCELLED to ACTIVE/,
    );
    const row = await prisma.task.findUniqueOrThrow({ where: { id: task.id } });
    expect(row).toMatchObject({ status: 'CANCELLED', errorMessage: 'cancelled by operator' });
  });

  it('keeps the history append-only and each event once', async () => {
    const { task } = await createTask(prisma, newRequest());
    const event = {
      taskId: task.id,
      eventKey: 'command-sent:monitor',
      eventType: 'COMMAND_SENT',
      details: { topic: 'agent.orchestration.commands' },
    };
    expect(await appendHistory(prisma, event)).toBe(true);
    expect(await appendHistory(prisma, event)).toBe(false);
    expect(await prisma.taskHistory.count({ where: { taskId: task.id, eventKey: event.eventKey } })).toBe(1);
    await expect(
      prisma.$executeRaw`UPDATE task_history SET event_type = 'REWRITTEN' WHERE task_id = ${task.id}::uuid`,
    ).rejects.toThrow(/task_history is append-only/);
    expect(
      (await prisma.taskHistory.findMany({ where: { taskId: task.id } })).map((h) => h.eventType),
    ).not.toContain('REWRITTEN');
  });
});
