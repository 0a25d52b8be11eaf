// The reference CONTROL agent: proposes a control action (a new setpoint, given or derived from upstream
// steps), checks it against the active constraints in PostgreSQL, records each violation (a row in
// `constraint_violations`, a message on `constraints.violations`), and publishes the action on
// `agent.control.actions` only when no blocking constraint is violated.
import { z } from 'zod';
import type { AgentCommand } from '../../task/index.ts';
import { planIdFor, subtaskIdFor } from '../../task/ids.ts';
import { Topic } from '../../stores/kafka/topics.ts';
import { parseParameters } from '../parameters.ts';
import type { AgentContext, AgentDefinition } from '../types.ts';
import { checkConstraints, expectation, isApproved, proposeSetpoint } from './constraints.ts';

const parameterName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,99}$/, 'a parameter name such as spindle_speed_rpm');

export const controlParameters = z.object({
  /** The process parameter to set, as named in the constraint rules. */
  parameter: parameterName,
  setpoint: z.number().optional(),
  target: z.number().optional(),
  currentSetpoint: z.number().optional(),
  gain: z.number().gt(0).max(10).default(1),
  /** Further values the action sets, checked against the constraints too. */
  values: z.record(parameterName, z.number()).default({}),
  machine: z.string().min(1).max(64).optional(),
});

/** Where a violation belongs: the task's rows when the command comes from a task the database knows. */
async function taskLinks(ctx: AgentContext, command: AgentCommand) {
  const subtaskId = subtaskIdFor(command.taskId, command.stepKey);
  const [task, subtask] = await Promise.all([
    ctx.prisma.task.findUnique({ where: { id: command.taskId }, select: { id: true } }),
    ctx.prisma.agentSubtask.findUnique({ where: { id: subtaskId }, select: { id: true } }),
  ]);
  return task
    ? { taskId: task.id, planId: subtask ? planIdFor(command.taskId) : null, subtaskId: subtask?.id ?? null }
    : { taskId: null, planId: null, subtaskId: null };
}

export async function control(command: AgentCommand, ctx: AgentContext): Promise<Record<string, unknown>> {
  const p = parseParameters(command, controlParameters);
  const proposal = proposeSetpoint(p, command.upstream);
  if ('reason' in proposal) throw new Error(proposal.reason);
  const values = { ...p.values, [p.parameter]: proposal.setpoint };
  const action = {
    actionId: ctx.idFor('control-action'),
    ...(p.machine ? { machine: p.machine } : {}),
    parameter: p.parameter,
    setpoint: proposal.setpoint,
    values,
    source: proposal.source,
    ...(proposal.expected !== undefined ? { expected: proposal.expected } : {}),
  };

  const constraints = await ctx.prisma.constraint.findMany({
    where: { isActive: true, OR: [{ agentType: null }, { agentType: 'CONTROL' }] },
    orderBy: { name: 'asc' },
  });
  const check = checkConstraints(values, constraints);
  for (const s of check.skipped) ctx.log.warn(`constraint "${s.constraint.name}" not checked: ${s.reason}`);

  const links = check.violations.length > 0 ? await taskLinks(ctx, command) : null;
  const violations = [];
  for (const v of check.violations) {
    // One row per command and constraint: a re-run of the command finds its rows and adds none.
    const id = ctx.idFor(`violation:${v.constraint.id}`);
    const row = {
      constraintId: v.constraint.id,
      ...links!,
      constraintType: v.constraint.constraintType,
      name: v.constraint.name,
      expectedValue: `${v.rule.parameter} ${expectation(v.rule)}`,
      actualValue: String(v.actual),
      severity: v.constraint.severity,
      isBlocking: v.constraint.isBlocking,
    };
    await ctx.prisma.constraintViolation.upsert({ where: { id }, create: { id, ...row }, update: {} });
    const violation = {
      violationId: id,
      constraintId: v.constraint.id,
      constraint: v.constraint.name,
      parameter: v.rule.parameter,
      expected: expectation(v.rule),
      actual: v.actual,
      severity: v.constraint.severity,
      blocking: v.constraint.isBlocking,
    };
    await ctx.publish(Topic.ConstraintsViolations, {
      id,
      type: 'constraint.violation',
      payload: { ...violation, commandId: command.commandId, action },
    });
    violations.push(violation);
  }

  const approved = isApproved(check.violations);
  if (approved) {
    await ctx.publish(Topic.ControlActions, {
      id: action.actionId,
      type: 'control.action',
      payload: { ...action, commandId: command.commandId },
    });
  }
  return {
    action,
    approved,
    published: approved,
    violations,
    checkedConstraints: check.satisfied.length + check.violations.length,
    skippedConstraints: check.skipped.map((s) => s.constraint.name),
  };
}

export const controlAgent: AgentDefinition = {
  type: 'CONTROL',
  name: 'Reference control agent',
  description: 'Proposes setpoints, checks them against the PostgreSQL constraints and records violations',
  capabilities: ['setpoint', 'constraints.check', 'constraints.violations'],
  handler: control,
};
