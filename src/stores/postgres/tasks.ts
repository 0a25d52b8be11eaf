// Tasks in PostgreSQL: idempotent creation (one task per request id), guarded status transitions, and the
// append-only history. Every function may run more than once (Temporal retries activities) and leaves one effect.
import type { PrismaClient } from '../../db/prisma.ts';
import type { AgentType, Prisma, TaskPriority, TaskStatus } from '../../generated/prisma/client.ts';

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

export class InvalidTransitionError extends Error {
  constructor(
    readonly taskId: string,
    readonly from: TaskStatus,
    readonly to: TaskStatus,
  ) {
    super(
      `task ${taskId} cannot go from ${from} to ${to} (allowed: ${taskTransitions[from].join(', ') || 'none, it has ended'})`,
    );
    this.name = 'InvalidTransitionError';
  }
}

export interface NewTask {
  /** Optional fixed id (derived from the request id by the workflow, so retries agree on it). */
  id?: string;
  requestId: string;
  workflowId: string;
  userId?: string | null;
  priority?: TaskPriority;
  definitionId?: string | null;
  query: {
    text: string;
    type: AgentType;
    parsedIntent?: Prisma.InputJsonValue;
    constraints?: Prisma.InputJsonValue;
  };
}

/** Creates the task and its user query, or returns the task already created for this request id. */
export async function createTask(prisma: PrismaClient, input: NewTask) {
  const existing = await prisma.task.findUnique({ where: { requestId: input.requestId } });
  if (existing) return { task: existing, created: false };
  try {
    const task = await prisma.$transaction(async (tx) => {
      const task = await tx.task.create({
        data: {
          ...(input.id ? { id: input.id } : {}),
          requestId: input.requestId,
          workflowId: input.workflowId,
          userId: input.userId ?? null,
          priority: input.priority ?? 'NORMAL',
          definitionId: input.definitionId ?? null,
          queries: {
            create: {
              queryText: input.query.text,
              queryType: input.query.type,
              parsedIntent: input.query.parsedIntent,
              userConstraints: input.query.constraints,
            },
          },
        },
      });
      await tx.taskHistory.create({
        data: { taskId: task.id, eventKey: 'created', eventType: 'TASK_CREATED', toStatus: 'PENDING' },
      });
      return task;
    });
    return { task, created: true };
  } catch (err) {
    // Two deliveries of the same request raced: the other one created it.
    if ((err as { code?: string }).code === 'P2002') {
      return {
        task: await prisma.task.findUniqueOrThrow({ where: { requestId: input.requestId } }),
        created: false,
      };
    }
    throw err;
  }
}

export interface HistoryEvent {
  taskId: string;
  /** Unique per task: a retried step records its event once. */
  eventKey: string;
  eventType: string;
  subtaskId?: string | null;
  fromStatus?: string | null;
  toStatus?: string | null;
  details?: Prisma.InputJsonValue;
}

/** Appends an event to the task's history; returns false when this event key was already recorded. */
export async function appendHistory(
  prisma: Pick<PrismaClient, 'taskHistory'>,
  event: HistoryEvent,
): Promise<boolean> {
  const { count } = await prisma.taskHistory.createMany({
    data: [{ ...event, details: event.details ?? {} }],
    skipDuplicates: true,
  });
  return count === 1;
}

export interface TransitionOptions {
  errorMessage?: string;
  result?: Prisma.InputJsonValue;
  details?: Prisma.InputJsonValue;
}

/**
 * Moves a task to `to` if its current status allows it, records the transition in its history, and sets
 * timestamps. Repeating a transition that already happened is a no-op; an illegal one throws.
 */
export async function transitionTask(
  prisma: PrismaClient,
  taskId: string,
  to: TaskStatus,
  options: TransitionOptions = {},
) {
  const from = statusesBefore(to);
  return prisma.$transaction(async (tx) => {
    const current = await tx.task.findUniqueOrThrow({ where: { id: taskId } });
    if (current.status === to) return { task: current, changed: false };
    if (!from.includes(current.status)) throw new InvalidTransitionError(taskId, current.status, to);
    const now = new Date();
    const ended = taskTransitions[to].length === 0;
    const { count } = await tx.task.updateMany({
      where: { id: taskId, status: current.status },
      data: {
        status: to,
        ...(to === 'ACTIVE' ? { startedAt: now } : {}),
        ...(ended
          ? { completedAt: now, totalDurationMs: Math.max(0, now.getTime() - current.createdAt.getTime()) }
          : {}),
        ...(options.errorMessage !== undefined ? { errorMessage: options.errorMessage } : {}),
        ...(options.result !== undefined ? { result: options.result } : {}),
      },
    });
    if (count === 0) throw new InvalidTransitionError(taskId, current.status, to); // changed under us
    await appendHistory(tx, {
      taskId,
      eventKey: `status:${to}`,
      eventType: 'STATUS_CHANGED',
      fromStatus: current.status,
      toStatus: to,
      details: options.details ?? (options.errorMessage ? { reason: options.errorMessage } : {}),
    });
    return { task: await tx.task.findUniqueOrThrow({ where: { id: taskId } }), changed: true };
  });
}
