// Steps 2 and 7 of the flow: the task in PostgreSQL (created once per request, then its result and
// history), and the task's lifecycle event on Kafka.
import { ApplicationFailure } from '@temporalio/activity';
import {
  failureTypes,
  normaliseTaskRequest,
  planOf,
  type AgentResponse,
  type PlanStep,
  type ValidTaskRequest,
} from '../src/task/index.ts';
import { planIdFor, subtaskIdFor, uuidFrom, taskIdFor } from '../src/task/ids.ts';
import { ValidationError } from '../src/validation.ts';
import { closeTask, openTask, recordStepAnswer } from '../src/stores/postgres/flow.ts';
import { createEnvelope } from '../src/stores/kafka/envelope.ts';
import { Topic } from '../src/stores/kafka/topics.ts';
import { createSharedMemory } from '../src/stores/redis/shared-memory.ts';
import { taskMemoryNamespace } from '../src/task/ids.ts';
import type { ActivityDeps } from './deps.ts';

export interface CreatedTask {
  taskId: string;
  /** The request as validated, with its defaults. */
  request: ValidTaskRequest;
  plan: PlanStep[];
}

export function taskActivities({
  prisma,
  publisher,
  redis,
}: Pick<ActivityDeps, 'prisma' | 'publisher' | 'redis'>) {
  return {
    /**
     * Step 2: the request checked and defaulted (whichever client started the run), then the task, its
     * user query, execution plan and subtasks (one set per request id). An invalid request fails at once,
     * not retried, naming each bad field (the failure's details list them).
     */
    async createTask(input: { request: unknown; workflowId: string }): Promise<CreatedTask> {
      const request = acceptTaskRequest(input.request);
      const plan = planOf(request);
      const taskId = taskIdFor(request.requestId);
      const planId = planIdFor(taskId);
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
      return { taskId, request, plan };
    },

    /** Part of step 7: one step's answer, kept on its subtask and in the history. */
    async recordStepResult(input: {
      taskId: string;
      stepKey: string;
      response: AgentResponse;
    }): Promise<void> {
      const { taskId, stepKey, response } = input;
      await recordStepAnswer(prisma, {
        taskId,
        subtaskId: subtaskIdFor(taskId, stepKey),
        stepKey,
        status: response.status === 'SUCCESS' ? 'SUCCESS' : 'FAILED',
        agentId: response.agentId,
        output: response.result,
        error: response.error ?? null,
        durationMs: response.durationMs ?? null,
        details: { agentId: response.agentId, status: response.status, commandId: response.commandId },
      });
    },

    /** Step 7: the task's outcome in PostgreSQL and its lifecycle event on `system.logs`. */
    async recordResult(input: {
      taskId: string;
      workflowId: string;
      status: 'COMPLETED' | 'FAILED' | 'CANCELLED';
      results: Record<string, AgentResponse>;
      error?: string;
    }): Promise<void> {
      const { taskId, workflowId, status, results, error } = input;
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
      });
      const event = createEnvelope({
        id: uuidFrom(`task-event:${taskId}:${status}`),
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

export function nonRetryable(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}
