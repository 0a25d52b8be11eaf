// The agent task flow of the spec (section 4.1) as one durable workflow. Read it top to bottom:
//   1. a user request arrives (on `user.queries`, the HTTP API, the SDK or the CLI) and starts this run;
//   2. createTask        — the task, its query, plan and subtasks in PostgreSQL;
//   3. dispatchCommand   — the command to the agent (Kafka `agent.orchestration.commands`, or the agent's
//                          own Temporal task queue for Temporal-native agents);
//   4. the agent updates its state in Redis, and
//   5. searches Weaviate for knowledge (the agent's side: see src/agents/runtime.ts);
//   6. the agent answers — on `agent.orchestration.responses`, delivered here as a signal by the bridge,
//      or as the result of its activity;
//   7. recordStepResult / recordResult — the answers and the outcome in PostgreSQL as history;
//   8. recordMetrics     — performance in InfluxDB.
// Plans with several steps run as a DAG: independent steps in parallel, dependents after.
// Deterministic code only: every effect is an activity.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import {
  agentResponseSignal,
  feedbackSignal,
  planLayers,
  planOf,
  progressQuery,
  type StepStatus,
  type TaskOutcome,
  type TaskProgress,
} from '../src/task/contract.ts';
import type {
  AgentCommand,
  AgentResponse,
  PlanStep,
  UserFeedback,
  ValidTaskRequest,
} from '../src/task/schemas.ts';
import { TaskIdKey, TaskStatusKey } from '../src/task/search-attributes.ts';

export const agentResponse = defineSignal<[AgentResponse]>(agentResponseSignal);
export const userFeedback = defineSignal<[UserFeedback]>(feedbackSignal);
export const progress = defineQuery<TaskProgress>(progressQuery);

// Store steps are short and idempotent: local activities (no task-queue round trip per step), retried
// with backoff while a store is briefly unavailable, then the task fails with the store's error.
const stores = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '10m',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 20 },
});

export async function agentTask(request: ValidTaskRequest): Promise<TaskOutcome> {
  const { workflowId } = workflowInfo();
  const startedAtMs = Date.now();
  const plan = planOf(request);
  const timings: Record<string, number> = {};
  const results: Record<string, AgentResponse> = {};
  const state: TaskProgress = {
    taskId: null,
    status: 'PENDING',
    currentStep: 'createTask',
    steps: plan.map((s) => ({ key: s.key, agentType: s.agentType, status: 'QUEUED' as StepStatus })),
    feedback: 0,
  };
  const expected = new Map<string, string>(); // step key -> command id awaiting an answer
  const answers = new Map<string, AgentResponse>();
  setHandler(progress, () => state);
  setHandler(userFeedback, () => void state.feedback++);
  // The bridge may deliver an answer twice (Kafka is at-least-once): only the first one for a command counts.
  setHandler(agentResponse, (response) => {
    if (expected.get(response.stepKey) === response.commandId && !answers.has(response.stepKey)) {
      answers.set(response.stepKey, response);
    }
  });
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await work();
    } finally {
      timings[name] = Date.now() - t0;
    }
  };
  const setStep = (key: string, status: StepStatus, agentId?: string) => {
    const step = state.steps.find((s) => s.key === key)!;
    step.status = status;
    if (agentId) step.agentId = agentId;
  };

  let taskId: string | null = null;
  try {
    // Step 2
    const created = await timed('createTask', () => stores.createTask({ request, workflowId, plan }));
    taskId = created.taskId;
    state.taskId = taskId;
    state.status = 'ACTIVE';
    upsertSearchAttributes([
      { key: TaskIdKey, value: taskId },
      { key: TaskStatusKey, value: 'ACTIVE' },
    ]);

    // Steps 3–6 (and the per-step part of 7), layer by layer through the plan's DAG.
    const runStep = async (step: PlanStep): Promise<AgentResponse> => {
      const upstream = Object.fromEntries(step.dependsOn.map((k) => [k, results[k]?.result ?? null]));
      state.currentStep = step.key;
      const deadline = new Date(Date.now() + request.agentTimeoutMs).toISOString();
      const dispatched = await timed(`dispatch:${step.key}`, () =>
        stores.dispatchCommand({
          taskId: taskId!,
          workflowId,
          step,
          instruction: step.instruction ?? request.query,
          parameters: request.parameters,
          upstream,
          deadlineAt: deadline,
        }),
      );
      setStep(step.key, 'RUNNING');
      const response = await timed(`agent:${step.key}`, () =>
        dispatched.transport === 'TEMPORAL'
          ? runTemporalAgent(dispatched.taskQueue!, dispatched.command, request.agentTimeoutMs)
          : awaitKafkaAnswer(step, dispatched.command.commandId, request.agentTimeoutMs),
      );
      results[step.key] = response;
      setStep(step.key, response.status === 'SUCCESS' ? 'SUCCESS' : 'FAILED', response.agentId);
      await timed(`recordStep:${step.key}`, () =>
        stores.recordStepResult({ taskId: taskId!, stepKey: step.key, response }),
      );
      if (response.status !== 'SUCCESS') {
        throw ApplicationFailure.create({
          type: 'AgentStepFailed',
          message: `step "${step.key}" (${step.agentType}) failed: ${response.error ?? 'the agent reported a failure'}`,
          nonRetryable: true,
        });
      }
      return response;
    };

    const awaitKafkaAnswer = async (step: PlanStep, commandId: string, timeoutMs: number) => {
      expected.set(step.key, commandId);
      if (!(await condition(() => answers.has(step.key), timeoutMs))) {
        throw ApplicationFailure.create({
          type: 'AgentTimeout',
          message: `no ${step.agentType} agent answered step "${step.key}" within ${Math.round(timeoutMs / 1000)} s (is one running? \`prism agent run --type ${step.agentType}\`)`,
          nonRetryable: true,
        });
      }
      return answers.get(step.key)!;
    };

    for (const layer of planLayers(plan)) {
      await Promise.all(layer.map(runStep));
    }
    return await finish('COMPLETED');
  } catch (err) {
    if (isCancellation(err)) {
      // Cancelled: record it even though this scope is cancelled.
      return await CancellationScope.nonCancellable(() => finish('CANCELLED', 'cancelled by request'));
    }
    const reason =
      err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    if (taskId === null) throw err; // the task could not even be created: let the run fail with the store's error
    return await finish('FAILED', reason);
  }

  async function finish(status: TaskOutcome['status'], error?: string): Promise<TaskOutcome> {
    state.status = status;
    state.currentStep = 'recordResult';
    upsertSearchAttributes([{ key: TaskStatusKey, value: status }]);
    await timed('recordResult', () =>
      stores.recordResult({ taskId: taskId!, workflowId, status, results, error }),
    );
    const durationMs = Date.now() - startedAtMs;
    // Step 8
    await timed('recordMetrics', () =>
      stores.recordMetrics({
        taskId: taskId!,
        agentType: plan[0]!.agentType.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 40) || 'UNKNOWN',
        status,
        timings,
        durationMs,
        startedAtMs,
      }),
    );
    state.currentStep = 'done';
    return { taskId: taskId!, workflowId, status, results, ...(error ? { error } : {}), timings, durationMs };
  }
}

/** A Temporal-native agent: its handler runs as an activity on the agent's own task queue. */
async function runTemporalAgent(
  taskQueue: string,
  command: AgentCommand,
  timeoutMs: number,
): Promise<AgentResponse> {
  const agent = proxyActivities<{ runAgentCommand(command: AgentCommand): Promise<AgentResponse> }>({
    taskQueue,
    scheduleToCloseTimeout: timeoutMs,
    startToCloseTimeout: Math.min(timeoutMs, 60_000),
    retry: { initialInterval: '1s', maximumAttempts: 3 },
  });
  return agent.runAgentCommand(command);
}
