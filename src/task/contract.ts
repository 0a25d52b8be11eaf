// The task's contract with every client, whatever its language: the workflow's type, id rule and
// signals/queries, the four agent types, the defaults, the failure types a run ends with, and the plan
// arithmetic. Pure (no schema library, no I/O): the workflow imports it, and Temporal evaluates a workflow's
// modules anew for every run. The shapes themselves are zod schemas in schemas.ts (documented as JSON
// Schema in docs/workflows.md); their types are re-exported here for the workflow.
import { unstorableJson } from '../storable.ts';
import type { AgentResponse, PlanStep, ValidTaskRequest } from './schemas.ts';

export type {
  AgentCommand,
  AgentResponse,
  PlanStep,
  StepStatus,
  TaskOutcome,
  TaskProgress,
  TaskRequest,
  TaskStatus,
  UserFeedback,
  ValidTaskRequest,
} from './schemas.ts';

/** The agent types of the spec. Every edge refuses any other (HTTP 400, a dead letter, a failed run). */
export const agentTypes = ['MONITORING', 'PREDICTION', 'CONTROL', 'ANALYSIS'] as const;
export type AgentType = (typeof agentTypes)[number];
export const isAgentType = (value: string): value is AgentType =>
  (agentTypes as readonly string[]).includes(value);

export const priorities = ['HIGH', 'NORMAL', 'LOW'] as const;
export type Priority = (typeof priorities)[number];

/**
 * A task's statuses. WAITING_APPROVAL is a running task's while one of its steps waits for a person's decision
 * (the progress query, the task view and the TaskStatus search attribute; PostgreSQL keeps ACTIVE, with an
 * APPROVAL_REQUESTED event in the history).
 */
export const taskStatuses = [
  'PENDING',
  'ACTIVE',
  'WAITING_APPROVAL',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
] as const;
export const stepStatuses = [
  'QUEUED',
  'WAITING_APPROVAL',
  'RUNNING',
  'SUCCESS',
  'FAILED',
  'SKIPPED',
  'CANCELLED',
] as const;

/** What a request gets when it leaves a field out. */
export const requestDefaults = {
  priority: 'NORMAL',
  /** How long each step waits for its agent's answer. */
  agentTimeoutMs: 120_000,
} as const;
export const agentTimeoutLimitsMs = { min: 1_000, max: 3_600_000 } as const;
/** How long an approval step waits for a person's decision before it is rejected (24 h by default). */
export const approvalTimeoutDefaultMs = 86_400_000;
export const approvalTimeoutLimitsMs = { min: 1_000, max: 30 * 86_400_000 } as const;
/** What a rejected step does: fail the task, or be skipped (with the steps that depend on it). */
export const onRejectActions = ['fail', 'skip'] as const;
export type OnReject = (typeof onRejectActions)[number];

/** The workflow type every client starts. */
export const workflowType = 'agentTask';
/** The default task queue of the orchestrator's workers (TEMPORAL_TASK_QUEUE). */
export const defaultTaskQueue = 'prism-orchestration';
/** Workflow ids derive from the request id, so a re-delivered request starts nothing twice. */
export const workflowIdPrefix = 'task-';
export function workflowIdFor(requestId: string): string {
  return `${workflowIdPrefix}${requestId}`;
}

export const agentResponseSignal = 'agentResponse';
export const feedbackSignal = 'userFeedback';
export const progressQuery = 'progress';
/** Updates (with validators) that decide a step waiting for approval: `{ stepKey, reason, by, userId? }`. */
export const approveStepUpdate = 'approveStep';
export const rejectStepUpdate = 'rejectStep';

/** Why a step waits for a person: the request asked for it, or a constraint (policy) says so. */
export interface StepApproval {
  source: 'request' | 'policy';
  /** The constraint that requires it (policy). */
  constraint?: string;
  onReject: OnReject;
  timeoutMs: number;
}

/** The payload of approveStep / rejectStep. */
export interface ApprovalDecisionInput {
  stepKey: string;
  reason: string;
  /** Who decides: a user name, or `cli:<os user>`. */
  by: string;
  userId?: string;
}

/** How a waiting step was decided (the update's result, and the APPROVAL_DECIDED history event). */
export interface ApprovalDecision extends ApprovalDecisionInput {
  decision: 'APPROVED' | 'REJECTED';
  /** True when the deadline rejected it (by = `deadline`). */
  automatic: boolean;
  decidedAt: string;
}

/**
 * A run's number within its task: the first run is 1, each retry (`POST /tasks/:id/retry`) one more. The
 * keys of a run's history events and its commands' ids carry it from the second run on, so a retried step's
 * command is a new command (agents dedupe by command id) and both runs' events stay in the history.
 */
export function runScoped(key: string, attempt: number | undefined): string {
  return attempt && attempt > 1 ? `${key}@${attempt}` : key;
}

/** The steps a step's rejection skips with it: every step that depends on it, directly or not. */
export function dependentsOf(plan: readonly PlanStep[], key: string): string[] {
  const out = new Set<string>([key]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of plan) {
      if (!out.has(s.key) && s.dependsOn.some((d) => out.has(d))) {
        out.add(s.key);
        grew = true;
      }
    }
  }
  out.delete(key);
  return plan.filter((s) => out.has(s.key)).map((s) => s.key);
}

/**
 * Every `type` of ApplicationFailure in the agent task flow, in one place: what a run fails with (the first
 * two, which clients match on), and what fails inside it — a step, step 3, an agent's activity — whose
 * message becomes the reason of the TaskFailed outcome.
 */
export const failureTypes = {
  /** The input is not a valid task request; the failure's details list the field problems. */
  invalidRequest: 'InvalidTaskRequest',
  /** The task ran and FAILED; the failure's details hold its outcome (TaskOutcome). */
  taskFailed: 'TaskFailed',
  /** A step's agent answered FAILED. */
  agentStepFailed: 'AgentStepFailed',
  /** No agent answered a step (on Kafka) within the task's agent timeout. */
  agentTimeout: 'AgentTimeout',
  /** Step 3 found no agent of the step's type registered (not retried). */
  noAgentRegistered: 'NoAgentRegistered',
  /** A Temporal-native agent got a command that is not one (not retried). */
  invalidAgentCommand: 'InvalidAgentCommand',
  /** A Temporal-native agent got a command for another agent type (not retried). */
  wrongAgentType: 'WrongAgentType',
  /** A step waiting for approval was rejected (by a person or its deadline) and its plan says fail. */
  approvalRejected: 'ApprovalRejected',
  /** approveStep/rejectStep refused by its validator: the step is not waiting for approval. */
  stepNotWaiting: 'StepNotWaitingApproval',
  /** approveStep/rejectStep refused by its validator: no step, no reason or no decider. */
  invalidDecision: 'InvalidApprovalDecision',
} as const;

/** The Temporal task queue of a Temporal-native agent of this type. */
export function agentTaskQueue(agentType: string): string {
  return `prism-agent-${agentType.toLowerCase()}`;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Whether a signalled answer is an AgentResponse (agentResponseSchema's rules, without a schema library):
 * any Temporal client may signal a run, and a malformed answer taken as a step's answer would be stored
 * as its history. Text no store can keep (NUL, a lone surrogate) makes it malformed too. A property test
 * (test/unit/agent-response.property.test.ts) binds it to the schema and names where the two differ.
 */
export function isAgentResponse(value: unknown): value is AgentResponse {
  if (!isRecord(value)) return false;
  const { commandId, workflowId, stepKey, agentId, status, result, error, durationMs } = value;
  return (
    typeof commandId === 'string' &&
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(commandId) &&
    typeof workflowId === 'string' &&
    typeof stepKey === 'string' &&
    typeof agentId === 'string' &&
    agentId.length > 0 &&
    (status === 'SUCCESS' || status === 'FAILED') &&
    (result === undefined || isRecord(result)) &&
    (error === undefined || typeof error === 'string') &&
    (durationMs === undefined || (Number.isSafeInteger(durationMs) && (durationMs as number) >= 0)) &&
    unstorableJson(value).length === 0
  );
}

/** The step of a single-step task (a request without a plan). */
export const mainStep = 'main';

export function planOf(request: Pick<ValidTaskRequest, 'plan' | 'agentType'>): PlanStep[] {
  return request.plan ?? [{ key: mainStep, agentType: request.agentType!, dependsOn: [] }];
}

/** The steps that depend on each other in a cycle, or null when the plan has none (Kahn's algorithm). */
export function cycleIn(plan: readonly PlanStep[]): string[] | null {
  const done = new Set<string>();
  let rest = [...plan];
  while (rest.length > 0) {
    const ready = rest.filter((s) => s.dependsOn.every((d) => done.has(d)));
    if (ready.length === 0) return rest.map((s) => s.key);
    for (const s of ready) done.add(s.key);
    rest = rest.filter((s) => !done.has(s.key));
  }
  return null;
}

/** Groups a valid plan into layers: every step's dependencies are in earlier layers. */
export function planLayers(plan: readonly PlanStep[]): PlanStep[][] {
  const layers: PlanStep[][] = [];
  const done = new Set<string>();
  let rest = [...plan];
  while (rest.length > 0) {
    const ready = rest.filter((s) => s.dependsOn.every((d) => done.has(d)));
    if (ready.length === 0)
      throw new Error(`plan: the steps ${rest.map((s) => s.key).join(', ')} form a cycle`);
    layers.push(ready);
    for (const s of ready) done.add(s.key);
    rest = rest.filter((s) => !done.has(s.key));
  }
  return layers;
}
