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
//   8. recordMetrics     — performance in InfluxDB
//      (7 and 8 at the run's end in one local activity, finishTask, with a single-step task's answer).
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
  defineUpdate,
  isCancellation,
  patched,
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
  approveStepUpdate,
  dependentsOf,
  failureTypes,
  feedbackSignal,
  planLayers,
  progressQuery,
  rejectStepUpdate,
  type AgentCommand,
  type ApprovalDecision,
  type ApprovalDecisionInput,
  type StepApproval,
  type AgentResponse,
  type PlanStep,
  type StepStatus,
  type TaskOutcome,
  type TaskProgress,
  type TaskRequest,
  type UserFeedback,
  type ValidTaskRequest,
} from '../src/task/contract.ts';
import { createAdmission } from './admission.ts';
import { createAnswers } from './answers.ts';
import { AgentTypeKey, TaskIdKey, TaskPriorityKey, TaskStatusKey } from '../src/task/search-attributes.ts';

export const agentResponse = defineSignal<[AgentResponse]>(agentResponseSignal);
export const userFeedback = defineSignal<[UserFeedback]>(feedbackSignal);
export const progress = defineQuery<TaskProgress>(progressQuery);
/** Decide a step that waits for a person's approval; refused at once (validator) unless that step waits. */
export const approveStep = defineUpdate<ApprovalDecision, [ApprovalDecisionInput]>(approveStepUpdate);
export const rejectStep = defineUpdate<ApprovalDecision, [ApprovalDecisionInput]>(rejectStepUpdate);

/**
 * Changes to the commands a run issues, each behind its marker so that runs recorded before it replay (see
 * docs/workflows.md, "Retiring patches"): a step that waits for approval, and a retry's run that reuses
 * earlier answers — which runs before them never did. Both are asked for where every run starts: asked later,
 * after a local activity's result, a marker can fall in another workflow task on replay than the one it was
 * recorded in (a local activity's result is handed back earlier on replay), which fails the replay.
 */
export const approvalStepsPatch = 'approval-steps';
export const retryFromStepPatch = 'retry-from-step';
/** A cancelled approval wait (the task cancelled, a sibling failed) no longer sets TaskStatus back to ACTIVE. */
export const approvalCancelPatch = 'approval-cancel-keeps-status';
/**
 * One marker for all the rules above and in ./answers.ts: a run that records it follows every one of them
 * without asking for each (a `patched()` call records a marker and upserts TemporalChangeVersion, two history
 * events, so four calls made eight of a task's 26). Runs recorded before it replay asking for each, as they ran.
 * Asked first, where every run starts.
 */
export const rulesPatch = 'rules-2026-12-07';

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
  // The rules behind markers: all of them at once for a run that records rulesPatch, each asked for as
  // before (in the same order) by a run recorded before it.
  const ask = patched(rulesPatch) ? () => true : patched;
  // Agents' answers, kept from the moment they arrive, before the plan is known too (./answers.ts).
  const answers = createAnswers(ask);
  const approvalSteps = ask(approvalStepsPatch);
  const retryFromStep = ask(retryFromStepPatch);
  const cancelKeepsStatus = ask(approvalCancelPatch);
  setHandler(progress, () => state);
  setHandler(userFeedback, () => void state.feedback++);
  setHandler(agentResponse, (response) => answers.receive(response));
  // Approval steps: the steps waiting for a person now, and the decisions taken (by an update or the deadline).
  const waiting = new Set<string>();
  const decisions = new Map<string, ApprovalDecision>();
  const validateDecision = (input: ApprovalDecisionInput) => {
    const refuse = (type: string, message: string) => {
      throw ApplicationFailure.create({ type, message, nonRetryable: true });
    };
    const { stepKey, reason, by, userId } = (input ?? {}) as Partial<ApprovalDecisionInput>;
    if (typeof stepKey !== 'string' || typeof by !== 'string' || by.trim() === '')
      refuse(failureTypes.invalidDecision, 'a decision names the step (stepKey) and who decides (by)');
    if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 4000)
      refuse(failureTypes.invalidDecision, 'a decision gives its reason (1 to 4000 characters)');
    if (userId !== undefined && typeof userId !== 'string')
      refuse(failureTypes.invalidDecision, 'userId, when given, is a string');
    if (!waiting.has(stepKey!) || decisions.has(stepKey!)) {
      const step = state.steps.find((s) => s.key === stepKey);
      refuse(
        failureTypes.stepNotWaiting,
        step
          ? `step "${stepKey}" is not waiting for approval (it is ${step.status})`
          : `task has no step "${stepKey}"${state.steps.length ? ` (its steps: ${state.steps.map((s) => s.key).join(', ')})` : ''}`,
      );
    }
  };
  const decide =
    (decision: ApprovalDecision['decision']) =>
    (input: ApprovalDecisionInput): ApprovalDecision => {
      const decided: ApprovalDecision = {
        stepKey: input.stepKey,
        decision,
        by: input.by.trim(),
        reason: input.reason.trim(),
        ...(input.userId ? { userId: input.userId } : {}),
        automatic: false,
        decidedAt: new Date().toISOString(),
      };
      decisions.set(input.stepKey, decided);
      return decided;
    };
  setHandler(approveStep, decide('APPROVED'), { validator: validateDecision });
  setHandler(rejectStep, decide('REJECTED'), { validator: validateDecision });
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
  let approvals: Record<string, StepApproval> | undefined;
  let flowVersion: number | undefined;
  try {
    // A retry's run says which run it is in the history of its task (the runs share the workflow id).
    const retryRun = typeof input === 'object' && input !== null && 'retry' in input;
    ({ request, plan, taskId, approvals, flowVersion } = await timed('createTask', () =>
      stores.createTask({
        request: input,
        workflowId,
        ...(retryRun ? { runId: workflowInfo().runId } : {}),
      }),
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
  // The commands of the run's end follow from createTask's recorded result, never a marker: runs recorded
  // before version 2 replay as they ran (three store steps), later ones end with one (finishTask).
  const finishInOne = (flowVersion ?? 1) >= 2;
  // Version 3: a Kafka agent's quick answer may come as the dispatch's result (src/worker/inline-answers.ts).
  const inlineAnswers = (flowVersion ?? 1) >= 3;
  // A single-step task's answer is recorded with its outcome, in finishTask.
  const keptBack: { stepKey: string; response: AgentResponse }[] = [];
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
  // A retry's run (POST /tasks/:id/retry): the steps that succeeded before its step keep their answers and do
  // not run again; the run's number scopes its commands and history events.
  const attempt = request.retry?.attempt ?? 1;
  const runOf = attempt > 1 ? { attempt } : {};
  if (request.retry && retryFromStep) {
    for (const [key, answer] of Object.entries(request.retry.completed)) {
      results[key] = answer;
      setStep(key, 'SUCCESS', answer.agentId);
      state.steps.find((s) => s.key === key)!.reused = true;
    }
  }
  // Steps rejected with onReject 'skip', and the steps that depend on them: not run.
  const skipped = new Set<string>();
  const showWaiting = () => {
    const status = waiting.size > 0 ? 'WAITING_APPROVAL' : 'ACTIVE';
    if (state.status === status) return;
    state.status = status;
    upsertSearchAttributes([{ key: TaskStatusKey, value: status }]);
  };

  /** Waits for a person's decision on the step (or its deadline), and records both in the history. */
  const awaitApproval = async (step: PlanStep, approval: StepApproval): Promise<ApprovalDecision> => {
    waiting.add(step.key);
    setStep(step.key, 'WAITING_APPROVAL');
    state.currentStep = step.key;
    showWaiting();
    const deadlineAt = new Date(Date.now() + approval.timeoutMs).toISOString();
    let cancelled = false;
    try {
      await stores.recordApproval({
        taskId,
        stepKey: step.key,
        ...runOf,
        event: 'APPROVAL_REQUESTED',
        details: { ...approval, deadlineAt },
      });
      // A durable timer: the deadline holds across worker restarts.
      if (!(await condition(() => decisions.has(step.key), approval.timeoutMs))) {
        decisions.set(step.key, {
          stepKey: step.key,
          decision: 'REJECTED',
          by: 'deadline',
          reason: `no decision within ${Math.round(approval.timeoutMs / 1000)} s (deadline ${deadlineAt})`,
          automatic: true,
          decidedAt: new Date().toISOString(),
        });
      }
    } catch (err) {
      cancelled = isCancellation(err);
      throw err;
    } finally {
      waiting.delete(step.key);
      // A cancelled wait leaves the status to the run's end (CANCELLED, FAILED): ACTIVE with no decision
      // would read, in the run's history, as its deadline's rejection (src/task/events.ts).
      if (!(cancelled && cancelKeepsStatus)) showWaiting();
    }
    const decision = decisions.get(step.key)!;
    const rejected = decision.decision === 'REJECTED';
    setStep(step.key, rejected ? (approval.onReject === 'skip' ? 'SKIPPED' : 'FAILED') : 'QUEUED');
    await stores.recordApproval({
      taskId,
      stepKey: step.key,
      ...runOf,
      event: 'APPROVAL_DECIDED',
      details: { ...decision, onReject: approval.onReject },
      ...(rejected
        ? {
            rejected: {
              status: approval.onReject === 'skip' ? ('SKIPPED' as const) : ('FAILED' as const),
              error: `rejected by ${decision.by}: ${decision.reason}`,
            },
          }
        : {}),
    });
    return decision;
  };
  // Priority and fair turns for the agent types with a limit (PRISM_AGENT_LIMITS): ./admission.ts.
  const admission = createAdmission(stores, request);

  const runStep = async (step: PlanStep): Promise<AgentResponse | null> => {
    const approval = approvals?.[step.key];
    if (approval && approvalSteps) {
      const decision = await awaitApproval(step, approval);
      if (decision.decision === 'REJECTED') {
        if (approval.onReject === 'skip') {
          // Skipped, and so is every step that needs its answer: they are not run.
          for (const key of [step.key, ...dependentsOf(plan, step.key)]) {
            skipped.add(key);
            if (key !== step.key) setStep(key, 'SKIPPED');
          }
          return null;
        }
        throw ApplicationFailure.create({
          type: failureTypes.approvalRejected,
          message: `step "${step.key}" (${step.agentType}) was rejected by ${decision.by}: ${decision.reason}`,
          nonRetryable: true,
        });
      }
    }
    const upstream = Object.fromEntries(step.dependsOn.map((k) => [k, results[k]?.result ?? null]));
    const instruction = step.instruction ?? request.query;
    state.currentStep = step.key;
    const deadline = new Date(Date.now() + request.agentTimeoutMs).toISOString();
    // Step 5
    const knowledge = await timed(`knowledge:${step.key}`, () =>
      stores.searchKnowledge({ taskId, stepKey: step.key, text: instruction }),
    );
    // Step 3
    // (behind the agent type's limit on commands in flight, when it has one: ./admission.ts)
    const dispatched = await timed(`dispatch:${step.key}`, () =>
      admission.dispatch({
        taskId,
        workflowId,
        step,
        instruction,
        parameters: request.parameters,
        knowledge: knowledge.hits,
        ...(knowledge.error ? { knowledgeError: knowledge.error } : {}),
        upstream,
        deadlineAt: deadline,
        ...runOf,
        ...(inlineAnswers ? { inlineAnswer: true } : {}),
      }),
    );
    setStep(step.key, 'RUNNING');
    // Steps 4–6: the answer came with the dispatch (recorded there), or comes now
    let response: AgentResponse;
    const inline = dispatched.answer;
    try {
      if (inline) {
        // The dispatch's time, less its wait for the answer (the agent's) and the answer's record
        const { waitMs, recordMs } = dispatched.answerTimings ?? { waitMs: 0, recordMs: 0 };
        const key = `dispatch:${step.key}`;
        timings[key] = Math.max(0, timings[key]! - waitMs - recordMs);
        timings[`agent:${step.key}`] = waitMs;
        timings[`recordStep:${step.key}`] = recordMs;
      }
      response =
        inline ??
        (await timed(`agent:${step.key}`, () =>
          dispatched.transport === 'TEMPORAL'
            ? runTemporalAgent(dispatched.taskQueue!, dispatched.command, request.agentTimeoutMs)
            : awaitKafkaAnswer(step, dispatched.command.commandId, request.agentTimeoutMs),
        ));
    } finally {
      await admission.release(dispatched); // the type's slot, if it holds one (admission)
    }
    results[step.key] = response;
    setStep(step.key, response.status === 'SUCCESS' ? 'SUCCESS' : 'FAILED', response.agentId);
    // Part of step 7 (a single-step task's: at its end, in finishTask; an inline answer: by its dispatch)
    if (!inline) {
      if (finishInOne && plan.length === 1) keptBack.push({ stepKey: step.key, response });
      else
        await timed(`recordStep:${step.key}`, () =>
          stores.recordStepResult({ taskId, stepKey: step.key, response, ...runOf }),
        );
    }
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
    for (const layer of planLayers(plan)) {
      // Reused (a retry's) and skipped (a rejection's) steps are not run; a layer of only those is passed.
      const todo = layer.filter((s) => !(s.key in results) && !skipped.has(s.key));
      if (todo.length > 0) await runLayer(todo);
    }
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
      if (step.status === 'RUNNING' || step.status === 'WAITING_APPROVAL') step.status = 'CANCELLED';
    }
    upsertSearchAttributes([{ key: TaskStatusKey, value: status }]);
    let durationMs: number;
    if (finishInOne) {
      // Steps 7 and 8 in one local activity, which times its parts (activities/finish.ts)
      const { timings: parts } = await stores.finishTask({
        taskId,
        workflowId,
        status,
        results,
        error,
        ...runOf,
        steps: keptBack,
        metrics: {
          agentType: plan[0]!.agentType,
          timings,
          durationMs: Date.now() - startedAtMs,
          startedAtMs,
        },
      });
      Object.assign(timings, parts);
      durationMs = Date.now() - startedAtMs;
    } else {
      // Step 7
      await timed('recordResult', () =>
        stores.recordResult({ taskId, workflowId, status, results, error, ...runOf }),
      );
      durationMs = Date.now() - startedAtMs;
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
    }
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
