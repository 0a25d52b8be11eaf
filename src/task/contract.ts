// The pure half of the flow contracts: names, plan arithmetic and the shapes the workflow returns. No
// schema library and no I/O, so the workflow bundle stays small: Temporal evaluates a workflow's modules
// anew for every run, and a validation library costs milliseconds of CPU each time. The zod schemas (and
// their types) are in contracts.ts, which re-exports all of this.
import type { AgentResponse, PlanStep, ValidTaskRequest } from './schemas.ts';

export const agentTypes = ['MONITORING', 'PREDICTION', 'CONTROL', 'ANALYSIS'] as const;
export type AgentType = (typeof agentTypes)[number];
export const isAgentType = (value: string): value is AgentType =>
  (agentTypes as readonly string[]).includes(value);
export const priorities = ['HIGH', 'NORMAL', 'LOW'] as const;
export type Priority = (typeof priorities)[number];

export class InvalidRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRequestError';
  }
}

/** Groups the plan into layers: every step's dependencies are in earlier layers (Kahn's algorithm). */
export function planLayers(plan: PlanStep[]): PlanStep[][] {
  const layers: PlanStep[][] = [];
  const done = new Set<string>();
  let rest = [...plan];
  while (rest.length > 0) {
    const ready = rest.filter((s) => s.dependsOn.every((d) => done.has(d)));
    if (ready.length === 0) {
      throw new InvalidRequestError(
        `plan: the steps ${rest.map((s) => s.key).join(', ')} depend on each other in a cycle`,
      );
    }
    layers.push(ready);
    for (const s of ready) done.add(s.key);
    rest = rest.filter((s) => !done.has(s.key));
  }
  return layers;
}

export function planOf(request: ValidTaskRequest): PlanStep[] {
  return request.plan ?? [{ key: 'main', agentType: request.agentType!, dependsOn: [] }];
}

/** Workflow ids derive from the request id, so a re-delivered request starts nothing twice. */
export function workflowIdFor(requestId: string): string {
  return `task-${requestId}`;
}

export const workflowType = 'agentTask';
export const agentResponseSignal = 'agentResponse';
export const feedbackSignal = 'userFeedback';
export const progressQuery = 'progress';

/** The Temporal task queue of a Temporal-native agent of this type. */
export function agentTaskQueue(agentType: string): string {
  return `prism-agent-${agentType.toLowerCase()}`;
}

export type StepStatus = 'QUEUED' | 'RUNNING' | 'SUCCESS' | 'FAILED' | 'SKIPPED' | 'CANCELLED';

/** What the `progress` query returns while a task runs. */
export interface TaskProgress {
  taskId: string | null;
  status: 'PENDING' | 'ACTIVE' | 'COMPLETED' | 'FAILED' | 'CANCELLED';
  currentStep: string;
  steps: { key: string; agentType: string; status: StepStatus; agentId?: string }[];
  feedback: number;
}

/** What the workflow returns. */
export interface TaskOutcome {
  taskId: string;
  workflowId: string;
  status: 'COMPLETED' | 'FAILED' | 'CANCELLED';
  results: Record<string, AgentResponse>;
  error?: string;
  /** Milliseconds per flow step, for `prism bench` and the metrics. */
  timings: Record<string, number>;
  durationMs: number;
}
