// Steps 2 and 7 of the flow: the task in PostgreSQL (created once per request, then its result and
// history), and the task's lifecycle event on Kafka.
import { ApplicationFailure } from '@temporalio/activity';
import type { AgentResponse, PlanStep, ValidTaskRequest } from '../src/task/schemas.ts';
import { planIdFor, subtaskIdFor, uuidFrom, taskIdFor } from '../src/task/ids.ts';
import { closeTask, openTask, recordStepAnswer } from '../src/stores/postgres/flow.ts';
import { createEnvelope } from '../src/stores/kafka/envelope.ts';
import { Topic } from '../src/stores/kafka/topics.ts';
import type { ActivityDeps } from './deps.ts';
import { isAgentType } from '../src/task/schemas.ts';
import type { AgentType } from '../src/generated/prisma/client.ts';

export interface CreatedTask {
  taskId: string;
  steps: (PlanStep & { subtaskId: string })[];
}

export function taskActivities({ prisma, publisher }: ActivityDeps) {
  return {
    /** Step 2: the task, its user query, execution plan and subtasks (one set per request id). */
    async createTask(input: {
      request: ValidTaskRequest;
      workflowId: string;
      plan: PlanStep[];
    }): Promise<CreatedTask> {
      const { request, workflowId, plan } = input;
      const knownType = (t: string): AgentType =>
        // Unknown agent types are refused at dispatch with a clear reason; the rows keep a valid enum.
        isAgentType(t) ? t : 'ANALYSIS';
      const taskId = taskIdFor(request.requestId);
      const planId = planIdFor(taskId);
      const steps = plan.map((s) => ({ ...s, subtaskId: subtaskIdFor(taskId, s.key) }));
      // One statement: a retry after it committed finds the task and changes nothing. A request may name
      // a user who has since been removed: the task still runs, without the link.
      await openTask(prisma, {
        taskId,
        requestId: request.requestId,
        workflowId,
        userId: request.userId ?? null,
        priority: request.priority,
        query: { text: request.query, type: knownType(plan[0]!.agentType), constraints: request.parameters },
        planId,
        taskGraph: { steps: plan },
        subtasks: steps.map((s, i) => ({
          id: s.subtaskId,
          stepKey: s.key,
          agentType: knownType(s.agentType),
          sequenceOrder: i,
          dependsOn: s.dependsOn,
          input: { instruction: s.instruction ?? request.query, requestedAgentType: s.agentType },
        })),
      });
      return { taskId, steps };
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
    },
  };
}

export function nonRetryable(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}
