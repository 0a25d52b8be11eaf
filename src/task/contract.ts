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

export const taskStatuses = ['PENDING', 'ACTIVE', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export const stepStatuses = ['QUEUED', 'RUNNING', 'SUCCESS', 'FAILED', 'SKIPPED', 'CANCELLED'] as const;

/** What a request gets when it leaves a field out. */
export const requestDefaults = {
  priority: 'NORMAL',
  /** How long each step waits for its agent's answer. */
  agentTimeoutMs: 120_000,
} as const;
export const agentTimeoutLimitsMs = { min: 1_000, max: 3_600_000 } as const;

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
