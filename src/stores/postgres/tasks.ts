// Tasks in PostgreSQL beyond the flow's writes (flow.ts): which status may follow which, a task read with
// its query, plan and history, and the feedback people give on a task.
import { PrismError } from '../../errors.ts';
import type { PrismaClient } from '../../db/prisma.ts';
import type { FeedbackType, TaskStatus } from '../../generated/prisma/client.ts';

/** Which status may follow which. Terminal statuses have no successor. */
export const taskTransitions: Record<TaskStatus, readonly TaskStatus[]> = {
  PENDING: ['ACTIVE', 'FAILED', 'CANCELLED'],
  ACTIVE: ['COMPLETED', 'FAILED', 'CANCELLED'],
  COMPLETED: [],
  FAILED: [],
  CANCELLED: [],
};

/** The statuses a task may be in to move to `to`. */
export function statusesBefore(to: TaskStatus): TaskStatus[] {
  return (Object.keys(taskTransitions) as TaskStatus[]).filter((s) => taskTransitions[s].includes(to));
}

export class InvalidTransitionError extends PrismError {
  constructor(
    readonly taskId: string,
    readonly from: TaskStatus,
    readonly to: TaskStatus,
  ) {
    super(
      'INVALID_TRANSITION',
      `task ${taskId} cannot go from ${from} to ${to} (allowed: ${taskTransitions[from].join(', ') || 'none, it has ended'})`,
    );
    this.name = 'InvalidTransitionError';
  }
}

/** The task with its first query, plan(s) with their subtasks in order, and history, found by any of its ids. */
export async function findTaskWithDetails(
  prisma: PrismaClient,
  ids: { requestId: string; workflowId: string; taskId?: string | null },
) {
  return prisma.task.findFirst({
    where: {
      OR: [
        { requestId: ids.requestId },
        { workflowId: ids.workflowId },
        ...(ids.taskId ? [{ id: ids.taskId }] : []),
      ],
    },
    include: {
      queries: { orderBy: { createdAt: 'asc' }, take: 1 },
      plans: { include: { subtasks: { orderBy: { sequenceOrder: 'asc' } } } },
      history: { orderBy: { id: 'asc' } },
    },
  });
}

/** Stores one piece of feedback on a task (each call is a new row). */
export async function recordFeedback(
  prisma: PrismaClient,
  f: {
    taskId: string;
    userId: string | null;
    feedbackType: FeedbackType;
    content: string;
    satisfaction: number | null;
  },
) {
  return prisma.userFeedback.create({ data: f });
}

/** How many rows of each kind each task whose request id is LIKE `like` has (a chaos run counts the extras). */
export async function taskRowCounts(prisma: PrismaClient, like: string) {
  return prisma.$queryRaw<
    {
      request_id: string;
      id: string;
      status: string;
      error_message: string | null;
      completed_at: Date | null;
      dup_events: bigint;
      queries: bigint;
      plans: bigint;
      ends: bigint;
      answers: bigint;
      steps: bigint;
    }[]
  >`
    SELECT t.request_id, t.id::text, t.status::text, t.error_message, t.completed_at,
      (SELECT count(*) - count(DISTINCT h.event_key) FROM task_history h WHERE h.task_id = t.id) AS dup_events,
      (SELECT count(*) FROM user_queries q WHERE q.task_id = t.id) AS queries,
      (SELECT count(*) FROM execution_plans p WHERE p.task_id = t.id) AS plans,
      (SELECT count(*) FROM task_history h WHERE h.task_id = t.id
         AND h.to_status IN ('COMPLETED', 'FAILED', 'CANCELLED')) AS ends,
      (SELECT count(*) FROM task_history h WHERE h.task_id = t.id AND h.event_type = 'RESPONSE_RECEIVED') AS answers,
      (SELECT count(*) FROM agent_subtasks s JOIN execution_plans p ON p.id = s.plan_id WHERE p.task_id = t.id) AS steps
    FROM tasks t WHERE t.request_id LIKE ${like}`;
}

/** Deletes the tasks whose request id starts with `startsWith` (and contains `contains`); their rows cascade. */
export async function deleteTasksByRequestId(
  prisma: PrismaClient,
  requestId: { startsWith: string; contains?: string },
): Promise<{ count: number }> {
  return prisma.task.deleteMany({ where: { requestId } });
}
