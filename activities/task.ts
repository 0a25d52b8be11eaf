// Steps 2 and 7 of the flow: the task in PostgreSQL (created once per request, then its result and
// history), and the task's lifecycle event on Kafka.
import { ApplicationFailure } from '@temporalio/activity';
import {
  approvalTimeoutDefaultMs,
  failureTypes,
  normaliseTaskRequest,
  planOf,
  runScoped,
  type AgentResponse,
  type PlanStep,
  type StepApproval,
  type ValidTaskRequest,
} from '../src/task/index.ts';
import { approvalRuleOf } from '../src/constraints/rule.ts';
import { approvalConstraints } from '../src/stores/postgres/constraints.ts';
import type { PrismaClient } from '../src/db/prisma.ts';
import { planIdFor, subtaskIdFor, uuidFrom, taskIdFor } from '../src/task/ids.ts';
import { ValidationError } from '../src/validation.ts';
import {
  closeTask,
  openTask,
  recordApprovalEvent,
  recordStepResponse,
  reopenTask,
} from '../src/stores/postgres/flow.ts';
import { createEnvelope } from '../src/stores/kafka/envelope.ts';
import { Topic } from '../src/stores/kafka/topics.ts';
import { createSharedMemory } from '../src/stores/redis/shared-memory.ts';
import { taskMemoryNamespace } from '../src/task/ids.ts';
import type { ActivityDeps } from './deps.ts';
import type { Env } from '../src/config.ts';

export interface CreatedTask {
  taskId: string;
  /** The request as validated, with its defaults. */
  request: ValidTaskRequest;
  plan: PlanStep[];
  /** The steps that wait for a person's approval before their command is sent, by step key. */
  approvals?: Record<string, StepApproval>;
  /**
   * Which commands the run issues (workflows/agent-task.ts): 2, one finishTask at its end; 3 (2026-12-07), and
   * a Kafka agent's answer may come as its dispatch's result; absent in runs recorded before 2026-12-06, which
   * replay as they ran: recordStepResult, recordResult, recordMetrics.
   */
  flowVersion?: number;
}

/** The newest flow version (CreatedTask.flowVersion); createTask gives runs PRISM_FLOW_VERSION, 3 by default. */
export const currentFlowVersion = 3;

export function taskActivities({
  env,
  prisma,
  publisher,
  redis,
}: Pick<ActivityDeps, 'prisma' | 'publisher' | 'redis'> & { env?: Pick<Env, 'PRISM_FLOW_VERSION'> }) {
  // PRISM_FLOW_VERSION: the version the oldest worker still running knows (a rolling upgrade), then 3.
  const flowVersion = env?.PRISM_FLOW_VERSION ?? currentFlowVersion;
  return {
    /**
     * Step 2: the request checked and defaulted (whichever client started the run), then the task, its
     * user query, execution plan and subtasks (one set per request id). An invalid request fails at once,
     * not retried, naming each bad field (the failure's details list them).
     */
    async createTask(input: { request: unknown; workflowId: string; runId?: string }): Promise<CreatedTask> {
      const request = acceptTaskRequest(input.request);
      const plan = planOf(request);
      const taskId = taskIdFor(request.requestId);
      const planId = planIdFor(taskId);
      const approvals = await approvalsFor(prisma, request, plan);
      if (request.retry) {
        // A retry: the task exists; it runs again from a step, reusing the answers of the steps before it.
        const { attempt, fromStep, completed, requestedBy, reason } = request.retry;
        const rerun = plan.filter((s) => !(s.key in completed)).map((s) => s.key);
        const { reopened, current } = await reopenTask(prisma, {
          taskId,
          planId,
          attempt,
          rerun,
          details: {
            attempt,
            fromStep,
            reused: Object.keys(completed),
            rerun,
            requestedBy,
            ...(reason ? { reason } : {}),
            workflowId: input.workflowId,
            ...(input.runId ? { runId: input.runId } : {}),
          },
        });
        if (!reopened) {
          throw nonRetryable(
            failureTypes.invalidRequest,
            current === null
              ? `task ${taskId} does not exist: only a task that ran can be retried`
              : `task ${taskId} is ${current}: a COMPLETED task is not retried`,
          );
        }
        // The last run's end cleared the task's shared memory: its reused answers go back as `step.<key>`,
        // as an agent shares its own (src/agents/execute.ts), for the steps that run again to read. Writing
        // the same answer again (the activity retried) changes nothing the steps read.
        const memory = createSharedMemory(redis, { namespace: taskMemoryNamespace(taskId) });
        for (const [key, value] of Object.entries(reusedMemoryEntries(plan, completed)))
          await memory.update(key, () => value);
        return { taskId, request, plan, approvals, flowVersion };
      }
      // One statement: a retry after it committed finds the task and changes nothing. A request may name
      // a user who has since been removed: the task still runs, without the link.
      await openTask(prisma, {
        taskId,
        requestId: request.requestId,
        workflowId: input.workflowId,
        userId: request.userId ?? null,
        priority: request.priority,
        query: { text: request.query, type: plan[0]!.agentType, constraints: request.parameters },
        planId,
        taskGraph: { steps: plan },
        subtasks: plan.map((s, i) => ({
          id: subtaskIdFor(taskId, s.key),
          stepKey: s.key,
          agentType: s.agentType,
          sequenceOrder: i,
          dependsOn: s.dependsOn,
          input: { instruction: s.instruction ?? request.query },
        })),
      });
      return { taskId, request, plan, approvals, flowVersion };
    },

    /** An approval asked for or decided, in the history (and a rejected step's subtask FAILED or SKIPPED). */
    async recordApproval(input: {
      taskId: string;
      stepKey: string;
      attempt?: number;
      event: 'APPROVAL_REQUESTED' | 'APPROVAL_DECIDED';
      details: Record<string, unknown>;
      rejected?: { status: 'FAILED' | 'SKIPPED'; error: string };
    }): Promise<void> {
      const kind = input.event === 'APPROVAL_REQUESTED' ? 'approval-requested' : 'approval-decided';
      await recordApprovalEvent(prisma, {
        taskId: input.taskId,
        subtaskId: subtaskIdFor(input.taskId, input.stepKey),
        eventKey: runScoped(`${kind}:${input.stepKey}`, input.attempt),
        eventType: input.event,
        details: {
          stepKey: input.stepKey,
          ...(input.attempt ? { attempt: input.attempt } : {}),
          ...input.details,
        },
        ...(input.rejected ? { subtask: input.rejected } : {}),
      });
    },

    /** Part of step 7: one step's answer, kept on its subtask and in the history. */
    async recordStepResult(input: {
      taskId: string;
      stepKey: string;
      response: AgentResponse;
      /** The run's number within the task (a retry's; absent for the first run). */
      attempt?: number;
    }): Promise<void> {
      await recordStepResponse(prisma, input);
    },

    /** Step 7: the task's outcome in PostgreSQL and its lifecycle event on `system.logs`. */
    async recordResult(input: {
      taskId: string;
      workflowId: string;
      status: 'COMPLETED' | 'FAILED' | 'CANCELLED';
      results: Record<string, AgentResponse>;
      error?: string;
      attempt?: number;
    }): Promise<void> {
      const { taskId, workflowId, status, results, error, attempt } = input;
      const summary = Object.fromEntries(
        Object.entries(results).map(([k, r]) => [
          k,
          { agentId: r.agentId, status: r.status, result: r.result },
        ]),
      );
      await closeTask(prisma, {
        taskId,
        planId: planIdFor(taskId),
        status,
        result: summary,
        error: error ?? null,
        ...(attempt ? { attempt } : {}),
      });
      const event = createEnvelope({
        id: uuidFrom(runScoped(`task-event:${taskId}:${status}`, attempt)),
        type: `task.${status.toLowerCase()}`,
        taskId,
        workflowId,
        agentType: 'ORCHESTRATOR',
        payload: { status, ...(error ? { reason: error } : {}), steps: Object.keys(results) },
      });
      await publisher.publish(Topic.SystemLogs, event);
      // The steps' shared memory served the task; it ends with it.
      await createSharedMemory(redis, { namespace: taskMemoryNamespace(taskId) }).clear();
    },
  };
}

/**
 * The task's shared memory entries (`step.<key>`) of a retry's reused answers, shaped as an agent writes its
 * own answer (src/agents/execute.ts), so a step that runs again reads every earlier step's answer.
 */
export function reusedMemoryEntries(
  plan: PlanStep[],
  completed: Record<string, AgentResponse>,
): Record<string, Record<string, unknown>> {
  const typeOf = new Map(plan.map((s) => [s.key, s.agentType]));
  return Object.fromEntries(
    Object.entries(completed).map(([key, answer]) => [
      `step.${key}`,
      {
        agentId: answer.agentId,
        ...(typeOf.has(key) ? { agentType: typeOf.get(key) } : {}),
        status: answer.status,
        result: answer.result,
        ...(answer.error ? { error: answer.error } : {}),
      },
    ]),
  );
}

/**
 * The request as validated, with its defaults; an invalid one fails the activity at once, not retried
 * (InvalidTaskRequest), with the field problems as the failure's details. Converted here rather than by
 * its code (INVALID_INPUT, activities/failures.ts): InvalidTaskRequest is the workflow's contract
 * (failureTypes), which clients and recorded histories match on.
 */
export function acceptTaskRequest(input: unknown): ValidTaskRequest {
  try {
    return normaliseTaskRequest(input);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    throw ApplicationFailure.create({
      type: failureTypes.invalidRequest,
      message: err.message,
      details: err.problems,
      nonRetryable: true,
    });
  }
}

/**
 * The steps that wait for a person: those an active approval rule covers (src/constraints/rule.ts: the
 * constraint's agent type, the step's `machine` parameter), and those the request names (`approval.steps`, a
 * step's `requiresApproval`). A rule's decision wins over the request's: the request cannot lift a policy.
 */
async function approvalsFor(
  prisma: PrismaClient,
  request: ValidTaskRequest,
  plan: PlanStep[],
): Promise<Record<string, StepApproval>> {
  return approvalsOf(request, plan, await approvalConstraints(prisma));
}

/** approvalsFor on the active approval rules given. */
export function approvalsOf(
  request: ValidTaskRequest,
  plan: PlanStep[],
  rules: { name: string; agent_type: string | null; rule: unknown }[],
): Record<string, StepApproval> {
  const timeoutMs = request.approval?.timeoutMs ?? approvalTimeoutDefaultMs;
  const requested = new Set(request.approval?.steps ?? []);
  const approvals: Record<string, StepApproval> = {};
  for (const step of plan) {
    const machine = machineOf(request.parameters, step.agentType);
    const policy = rules.find((row) => {
      const rule = approvalRuleOf(row.rule);
      if (!rule || (row.agent_type !== null && row.agent_type !== step.agentType)) return false;
      return rule.machine === undefined || rule.machine === machine;
    });
    if (policy) {
      // Precedence for onReject (docs/workflows.md): the step's, then the rule's, then the request's.
      approvals[step.key] = {
        source: 'policy',
        constraint: policy.name,
        onReject:
          step.onReject ?? approvalRuleOf(policy.rule)!.onReject ?? request.approval?.onReject ?? 'fail',
        timeoutMs,
      };
    } else if (step.requiresApproval || requested.has(step.key)) {
      approvals[step.key] = {
        source: 'request',
        onReject: step.onReject ?? request.approval?.onReject ?? 'fail',
        timeoutMs,
      };
    }
  }
  return approvals;
}

/** The machine a step acts on: its type's own `machine` parameter, else the task's (src/agents/parameters.ts). */
function machineOf(parameters: Record<string, unknown>, agentType: string): string | undefined {
  const own = parameters[agentType.toLowerCase()];
  const fromOwn =
    typeof own === 'object' && own !== null ? (own as Record<string, unknown>).machine : undefined;
  const machine = fromOwn ?? parameters.machine;
  return typeof machine === 'string' ? machine : undefined;
}

export function nonRetryable(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}
