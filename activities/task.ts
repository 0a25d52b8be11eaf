// Steps 2 and 7 of the flow: the task in PostgreSQL (created once per request, then its result and
// history), and the task's lifecycle event on Kafka.
import { ApplicationFailure } from '@temporalio/activity';
import type { AgentResponse, PlanStep, ValidTaskRequest } from '../src/flow/contracts.ts';
import { planIdFor, subtaskIdFor, uuidFrom, taskIdFor } from '../src/flow/ids.ts';
import { appendHistory, createTask as createTaskRow, transitionTask } from '../src/stores/postgres/tasks.ts';
import { createEnvelope } from '../src/stores/kafka/envelope.ts';
import { Topic } from '../src/stores/kafka/topics.ts';
import type { ActivityDeps } from './deps.ts';
import { agentTypes } from '../src/flow/contracts.ts';
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
      const queryType = (agentTypes as readonly string[]).includes(plan[0]!.agentType)
        ? (plan[0]!.agentType as AgentType)
        : 'ANALYSIS';
      const taskId = taskIdFor(request.requestId);
      // A request may name a user who has since been removed: the task still runs, without the link.
      const userId =
        request.userId &&
        (await prisma.user.findUnique({ where: { id: request.userId }, select: { id: true } }))
          ? request.userId
          : null;
      await createTaskRow(prisma, {
        id: taskId,
        requestId: request.requestId,
        workflowId,
        userId,
        priority: request.priority,
        query: { text: request.query, type: queryType, constraints: request.parameters as object },
      });
      const planId = planIdFor(taskId);
      const steps = plan.map((s) => ({ ...s, subtaskId: subtaskIdFor(taskId, s.key) }));
      await prisma.executionPlan.upsert({
        where: { id: planId },
        create: {
          id: planId,
          taskId,
          taskGraph: { steps: plan },
          status: 'EXECUTING',
          startedAt: new Date(),
        },
        update: {},
      });
      await prisma.agentSubtask.createMany({
        data: steps.map((s, i) => ({
          id: s.subtaskId,
          planId,
          stepKey: s.key,
          // Unknown agent types are refused at dispatch with a clear reason; the row keeps a valid enum.
          agentType: (agentTypes as readonly string[]).includes(s.agentType)
            ? (s.agentType as AgentType)
            : 'ANALYSIS',
          sequenceOrder: i,
          dependsOn: s.dependsOn,
          input: { instruction: s.instruction ?? request.query, requestedAgentType: s.agentType },
        })),
        skipDuplicates: true,
      });
      await transitionTask(prisma, taskId, 'ACTIVE');
      return { taskId, steps };
    },

    /** Part of step 7: one step's answer, kept on its subtask and in the history. */
    async recordStepResult(input: {
      taskId: string;
      stepKey: string;
      response: AgentResponse;
    }): Promise<void> {
      const { taskId, stepKey, response } = input;
      await prisma.agentSubtask.update({
        where: { id: subtaskIdFor(taskId, stepKey) },
        data: {
          status: response.status === 'SUCCESS' ? 'SUCCESS' : 'FAILED',
          output: response.result as object,
          errorMessage: response.error ?? null,
          durationMs: response.durationMs ?? null,
          completedAt: new Date(),
          agentId: (await prisma.agent.findUnique({ where: { id: response.agentId } }))
            ? response.agentId
            : null,
        },
      });
      await appendHistory(prisma, {
        taskId,
        subtaskId: subtaskIdFor(taskId, stepKey),
        eventKey: `response:${stepKey}`,
        eventType: 'RESPONSE_RECEIVED',
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
      await transitionTask(prisma, taskId, status, {
        result: summary as object,
        ...(error ? { errorMessage: error } : {}),
      });
      // Steps that never ran end with the task.
      await prisma.agentSubtask.updateMany({
        where: { planId: planIdFor(taskId), status: { in: ['QUEUED', 'RUNNING'] } },
        data: { status: status === 'CANCELLED' ? 'CANCELLED' : 'SKIPPED', completedAt: new Date() },
      });
      await prisma.executionPlan.update({
        where: { id: planIdFor(taskId) },
        data: {
          status: status === 'COMPLETED' ? 'COMPLETED' : status === 'CANCELLED' ? 'CANCELLED' : 'FAILED',
          completedAt: new Date(),
        },
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
