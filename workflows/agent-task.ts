// The agent task flow of the spec (section 4.1) as one durable workflow. Read it top to bottom:
//   1. a user request arrives (on `user.queries`, the HTTP API, the SDK, the CLI, or any Temporal SDK) and
//      starts this run with the request as its input — validated and defaulted here, not trusted;
//   2. createTask        — the task, its query, plan and subtasks in PostgreSQL;
//   then for each step of the plan (a DAG: independent steps in parallel, dependents after):
//   5. searchKnowledge   — what Weaviate knows about the step, for the agent (the orchestrator searches, so
//                          that an agent in any language gets it in its command);
//   3. dispatchCommand   — the command to the agent (Kafka `agent.orchestration.commands`, or the agent's
//                          own Temporal task queue for Temporal-native agents);
//   4. the agent updates its state in Redis (the agent's side: src/agents/execute.ts);
//   6. the agent answers — on `agent.orchestration.responses`, delivered here as a signal by the bridge,
//      or as the result of its activity;
//   7. recordStepResult / recordResult — the answers and the outcome in PostgreSQL as history;
//   8. recordMetrics     — performance in InfluxDB.
// A task that FAILED ends as a failed run (its outcome in the failure's details), a cancelled task as a
// cancelled run: the Temporal UI shows each for what it is. Deterministic code only: every effect is an
// activity. The contract (input, result, signals, queries) is documented in docs/workflows.md.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { TaskActivities } from '../activities/index.ts';
import {
  agentResponseSignal,
  failureTypes,
  feedbackSignal,
  planLayers,
  progressQuery,
  type AgentCommand,
  type AgentResponse,
  type PlanStep,
  type StepStatus,
  type TaskOutcome,
  type TaskProgress,
  type TaskRequest,
  type UserFeedback,
  type ValidTaskRequest,
} from '../src/task/contract.ts';
import { createAnswers } from './answers.ts';
import { AgentTypeKey, TaskIdKey, TaskPriorityKey, TaskStatusKey } from '../src/task/search-attributes.ts';

export const agentResponse = defineSignal<[AgentResponse]>(agentResponseSignal);
export const userFeedback = defineSignal<[UserFeedback]>(feedbackSignal);
export const progress = defineQuery<TaskProgress>(progressQuery);

// Store steps are short and idempotent: local activities (no task-queue round trip per step), retried
// with backoff while a store is briefly unavailable, then the task fails with the store's error. An
// invalid request is not retried (the activity says so: InvalidTaskRequest is non-retryable).
const stores = proxyLocalActivities<TaskActivities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '10m',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 20 },
});

// A Temporal-native agent may work long: it heartbeats, so a crashed agent is noticed within the
// heartbeat timeout and the command goes to another agent of its type, within the step's own deadline.
const agentHeartbeatTimeoutMs = 20_000;

export async function agentTask(input: TaskRequest): Promise<TaskOutcome> {
  const { workflowId, startTime } = workflowInfo();
  // The execution's start, from its history: the same however often the run is executed again (a lost first
  // workflow task is redone at a later time), so the task's metric points keep their timestamps.
  const startedAtMs = startTime.getTime();
  const timings: Record<string, number> = {};
  const results: Record<string, AgentResponse> = {};
  const state: TaskProgress = {
    taskId: null,
    status: 'PENDING',
    currentStep: 'createTask',
    steps: [],
    feedback: 0,
  };
  // Agents' answers, kept from the moment they arrive, before the plan is known too (./answers.ts).
  const answers = createAnswers();
  setHandler(progress, () => state);
  setHandler(userFeedback, () => void state.feedback++);
  setHandler(agentResponse, (response) => answers.receive(response));
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

  // Step 2, with the request checked first: any client may start this workflow.
  let request: ValidTaskRequest;
  let plan: PlanStep[];
  let taskId: string;
  try {
    ({ request, plan, taskId } = await timed('createTask', () =>
      stores.createTask({ request: input, workflowId }),
    ));
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === failureTypes.invalidRequest) {
      throw ApplicationFailure.create({
        type: failureTypes.invalidRequest,
        message: cause.message,
        details: cause.details ?? undefined,
        nonRetryable: true,
      });
    }
    throw err; // the task could not be created: the run fails with the store's error
  }
  state.taskId = taskId;
  state.status = 'ACTIVE';
  state.steps = plan.map((s) => ({ key: s.key, agentType: s.agentType, status: 'QUEUED' }));
  answers.planKnown(plan.map((s) => s.key));
  upsertSearchAttributes([
    { key: TaskIdKey, value: taskId },
    { key: TaskStatusKey, value: 'ACTIVE' },
    { key: AgentTypeKey, value: [...new Set(plan.map((s) => s.agentType))].join(',') },
    { key: TaskPriorityKey, value: request.priority },
  ]);
  upsertMemo({ query: request.query.slice(0, 500), requestId: request.requestId, taskId });

  const runStep = async (step: PlanStep): Promise<AgentResponse> => {
    const upstream = Object.fromEntries(step.dependsOn.map((k) => [k, results[k]?.result ?? null]));
    const instruction = step.instruction ?? request.query;
    state.currentStep = step.key;
    const deadline = new Date(Date.now() + request.agentTimeoutMs).toISOString();
    // Step 5
    const knowledge = await timed(`knowledge:${step.key}`, () =>
      stores.searchKnowledge({ taskId, stepKey: step.key, text: instruction }),
    );
    // Step 3
    const dispatched = await timed(`dispatch:${step.key}`, () =>
      stores.dispatchCommand({
        taskId,
        workflowId,
        step,
        instruction,
        parameters: request.parameters,
        knowledge: knowledge.hits,
        ...(knowledge.error ? { knowledgeError: knowledge.error } : {}),
        upstream,
        deadlineAt: deadline,
      }),
    );
    setStep(step.key, 'RUNNING');
    // Steps 4–6
    const response = await timed(`agent:${step.key}`, () =>
      dispatched.transport === 'TEMPORAL'
        ? runTemporalAgent(dispatched.taskQueue!, dispatched.command, request.agentTimeoutMs)
        : awaitKafkaAnswer(step, dispatched.command.commandId, request.agentTimeoutMs),
    );
    results[step.key] = response;
    setStep(step.key, response.status === 'SUCCESS' ? 'SUCCESS' : 'FAILED', response.agentId);
    // Part of step 7
    await timed(`recordStep:${step.key}`, () =>
      stores.recordStepResult({ taskId, stepKey: step.key, response }),
    );
    if (response.status !== 'SUCCESS') {
      throw ApplicationFailure.create({
        type: failureTypes.agentStepFailed,
        message: `step "${step.key}" (${step.agentType}) failed: ${response.error ?? 'the agent reported a failure'}`,
        nonRetryable: true,
      });
    }
    return response;
  };

  const awaitKafkaAnswer = async (step: PlanStep, commandId: string, timeoutMs: number) => {
    if (!(await condition(() => answers.has(commandId, step.key), timeoutMs))) {
      throw ApplicationFailure.create({
        type: failureTypes.agentTimeout,
        message: `no ${step.agentType} agent answered step "${step.key}" within ${Math.round(timeoutMs / 1000)} s (is one running? \`prism agent run --type ${step.agentType}\`)`,
        nonRetryable: true,
      });
    }
    return answers.get(commandId, step.key)!;
  };

  // The steps of one layer run together; the first to fail cancels the others still running, and the
  // task fails with that step's reason (not with its siblings' cancellation).
  const runLayer = async (layer: PlanStep[]) => {
    let failure: unknown;
    await CancellationScope.cancellable(async () => {
      const scope = CancellationScope.current();
      await Promise.all(
        layer.map((step) =>
          runStep(step).catch((err: unknown) => {
            if (failure !== undefined && isCancellation(err)) {
              setStep(step.key, 'CANCELLED');
              return;
            }
            if (isCancellation(err)) throw err; // the whole task is being cancelled
            failure = err;
            scope.cancel();
          }),
        ),
      );
    });
    if (failure !== undefined) throw failure;
  };

  try {
    for (const layer of planLayers(plan)) await runLayer(layer);
    return await finish('COMPLETED');
  } catch (err) {
    if (isCancellation(err)) {
      // Cancelled: record it even though this scope is cancelled, then end as a cancelled run.
      await CancellationScope.nonCancellable(() => finish('CANCELLED', 'cancelled by request'));
      throw err;
    }
    const reason =
      err instanceof ActivityFailure && err.cause
        ? err.cause.message
        : err instanceof Error
          ? err.message
          : String(err);
    const outcome = await finish('FAILED', reason);
    throw ApplicationFailure.create({
      type: failureTypes.taskFailed,
      message: reason,
      details: [outcome],
      nonRetryable: true,
    });
  }

  async function finish(status: TaskOutcome['status'], error?: string): Promise<TaskOutcome> {
    state.status = status;
    state.currentStep = 'recordResult';
    for (const step of state.steps) {
      if (step.status === 'QUEUED') step.status = status === 'CANCELLED' ? 'CANCELLED' : 'SKIPPED';
      if (step.status === 'RUNNING') step.status = 'CANCELLED';
    }
    upsertSearchAttributes([{ key: TaskStatusKey, value: status }]);
    // Step 7
    await timed('recordResult', () => stores.recordResult({ taskId, workflowId, status, results, error }));
    const durationMs = Date.now() - startedAtMs;
    // Step 8
    await timed('recordMetrics', () =>
      stores.recordMetrics({
        taskId,
        agentType: plan[0]!.agentType,
        status,
        timings,
        durationMs,
        startedAtMs,
      }),
    );
    state.currentStep = 'done';
    return { taskId, workflowId, status, results, ...(error ? { error } : {}), timings, durationMs };
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
    // The whole step's budget, however long one attempt takes; a live agent proves itself by heartbeats.
    scheduleToCloseTimeout: timeoutMs,
    startToCloseTimeout: timeoutMs,
    heartbeatTimeout: Math.min(timeoutMs, agentHeartbeatTimeoutMs),
    retry: {
      initialInterval: '1s',
      maximumAttempts: 3,
      nonRetryableErrorTypes: [failureTypes.invalidAgentCommand, failureTypes.wrongAgentType],
    },
  });
  return agent.runAgentCommand(command);
}
