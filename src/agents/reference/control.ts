// The reference CONTROL agent: proposes a control action (a new setpoint, given or derived from upstream
// steps), checks it against the active constraints in PostgreSQL, records each violation (a row in
// `constraint_violations`, a message on `constraints.violations`), and publishes the action on
// `agent.control.actions` only when no blocking constraint is violated. Acting on a machine, it holds that
// machine's lock (Redis) for the whole check-and-act, so two tasks never act on one machine at once, and
// writes the machine's new setpoint with the lock's fencing token: an agent that paused past its lease
// and woke up after another took the machine over is refused instead of overwriting the newer action.
import { PrismError } from '../../errors.ts';
import { z } from 'zod';
import type { AgentCommand } from '../../task/index.ts';
import { planIdFor, subtaskIdFor } from '../../task/ids.ts';
import { Topic } from '../../stores/kafka/topics.ts';
import { activeConstraints, existingTaskRows, recordViolation } from '../../stores/postgres/constraints.ts';
import { parseParameters } from '../parameters.ts';
import type { SharedMemory } from '../../stores/redis/shared-memory.ts';
import type { AgentContext, AgentDefinition } from '../types.ts';
import { expectation } from '../../constraints/rule.ts';
import { checkConstraints, isApproved, proposeSetpoint } from './constraints.ts';

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
  machine: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'a machine id of letters, digits, ., _ and -')
    .optional(),
});

/** How long one action may hold its machine, and how long a second task waits for it. */
const machineLeaseMs = 30_000;
const machineWaitMs = 15_000;

/** What the agents know of each machine's setpoints (shared memory `machines`, key = machine id). */
export interface MachineSetpoint {
  parameter: string;
  setpoint: number;
  values: Record<string, number>;
  actionId: string;
  taskId: string;
  /** The fencing token of the lock the action was taken under. */
  fence: number;
}

export class StaleFenceError extends PrismError {
  constructor(machine: string, fence: number, newer: number) {
    super(
      'STALE_FENCE',
      `machine ${machine}: this action's lock (fence ${fence}) was taken over by a newer one (fence ${newer}) ` +
        'while it worked; the newer action stands and this one is not applied',
    );
    this.name = 'StaleFenceError';
  }
}

/** Where a violation belongs: the task's rows when the command comes from a task the database knows. */
async function taskLinks(ctx: AgentContext, command: AgentCommand) {
  const subtaskId = subtaskIdFor(command.taskId, command.stepKey);
  const known = await existingTaskRows(ctx.prisma, { taskId: command.taskId, subtaskId });
  return known.task
    ? {
        taskId: command.taskId,
        planId: known.subtask ? planIdFor(command.taskId) : null,
        subtaskId: known.subtask ? subtaskId : null,
      }
    : { taskId: null, planId: null, subtaskId: null };
}

/**
 * The machine's new setpoint, written only if no action under a newer lock (a higher fence) was written
 * since: the store-side half of fencing. Throws StaleFenceError otherwise.
 */
export async function recordMachineSetpoint(
  machines: SharedMemory,
  machine: string,
  entry: MachineSetpoint,
): Promise<void> {
  await machines.update<MachineSetpoint>(machine, (current) => {
    if (current && current.fence > entry.fence)
      throw new StaleFenceError(machine, entry.fence, current.fence);
    return entry;
  });
}

export async function control(command: AgentCommand, ctx: AgentContext): Promise<Record<string, unknown>> {
  const p = parseParameters(command, controlParameters);
  if (!p.machine) return act(command, ctx, p, null);
  const machine = p.machine;
  return ctx.locks.withLock(
    `machine.${machine}`,
    machineLeaseMs,
    (lock) => act(command, ctx, p, lock.fence),
    {
      waitMs: machineWaitMs,
    },
  );
}

async function act(
  command: AgentCommand,
  ctx: AgentContext,
  p: z.output<typeof controlParameters>,
  fence: number | null,
): Promise<Record<string, unknown>> {
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

  const constraints = await activeConstraints(ctx.prisma, { agentType: 'CONTROL' });
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
    await recordViolation(ctx.prisma, id, row);
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
    if (p.machine && fence !== null) {
      await recordMachineSetpoint(ctx.sharedMemory('machines'), p.machine, {
        parameter: p.parameter,
        setpoint: proposal.setpoint,
        values,
        actionId: action.actionId,
        taskId: command.taskId,
        fence,
      });
    }
    await ctx.publish(Topic.ControlActions, {
      id: action.actionId,
      type: 'control.action',
      payload: { ...action, commandId: command.commandId, ...(fence !== null ? { fence } : {}) },
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
