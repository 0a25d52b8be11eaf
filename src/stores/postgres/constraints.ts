// Constraints and their violations: the active rules (control parameters and sensor rules alike) and one
// `constraint_violations` row per violation, created once under its deterministic id.
import type { PrismaClient } from '../../db/prisma.ts';
import type { AgentType, Prisma } from '../../generated/prisma/client.ts';

/** The active constraints by name; with `agentType`, only those for every agent or for that type. */
export async function activeConstraints(prisma: PrismaClient, filter: { agentType?: AgentType } = {}) {
  return prisma.constraint.findMany({
    where: {
      isActive: true,
      ...(filter.agentType ? { OR: [{ agentType: null }, { agentType: filter.agentType }] } : {}),
    },
    orderBy: { name: 'asc' },
  });
}

/** Records the violation once: a second call with the same id (a re-run) changes nothing. */
export async function recordViolation(
  prisma: PrismaClient,
  id: string,
  row: Omit<Prisma.ConstraintViolationUncheckedCreateInput, 'id'>,
): Promise<void> {
  await prisma.constraintViolation.upsert({ where: { id }, create: { id, ...row }, update: {} });
}

/** Which of the task and its subtask exist (a violation links only to rows the database knows). */
export async function existingTaskRows(
  prisma: PrismaClient,
  ids: { taskId: string; subtaskId: string },
): Promise<{ task: boolean; subtask: boolean }> {
  const [task, subtask] = await Promise.all([
    prisma.task.findUnique({ where: { id: ids.taskId }, select: { id: true } }),
    prisma.agentSubtask.findUnique({ where: { id: ids.subtaskId }, select: { id: true } }),
  ]);
  return { task: task !== null, subtask: subtask !== null };
}

/** A constraint shipped with the product (by name): created once, its rule and severity kept current. */
export async function ensureConstraint(
  prisma: PrismaClient,
  c: Prisma.ConstraintCreateInput & { name: string },
): Promise<void> {
  await prisma.constraint.upsert({
    where: { name: c.name },
    create: c,
    update: { rule: c.rule, severity: c.severity, isBlocking: c.isBlocking },
  });
}

/** The active constraints whose rule is an approval rule (`{ "requiresApproval": true, ... }`), by name. */
export async function approvalConstraints(
  db: Pick<PrismaClient, '$queryRaw'>,
): Promise<{ name: string; agent_type: AgentType | null; rule: unknown }[]> {
  return db.$queryRaw`
    SELECT name, agent_type::text AS agent_type, rule FROM constraints
    WHERE is_active AND rule ? 'requiresApproval' ORDER BY name`;
}
