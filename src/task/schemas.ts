// The contracts of the agent task flow, shared by every entry point (Kafka `user.queries`, HTTP API, SDK,
// CLI), the Kafka bridge and the agents: the zod schemas of every message, and (re-exported) the pure parts
// in plan.ts. Workflow code imports plan.ts, and only types from here.
import { z } from 'zod';
import { InvalidRequestError, planLayers, priorities } from './contract.ts';

export * from './contract.ts';

/** One step of an execution plan: an agent type, and the steps it waits for (a DAG). */
export const planStepSchema = z.object({
  key: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, - and _'),
  agentType: z.string().min(1).max(40),
  /** What this step asks of the agent; defaults to the task's query. */
  instruction: z.string().max(4000).optional(),
  dependsOn: z.array(z.string()).default([]),
});
export type PlanStep = z.infer<typeof planStepSchema>;

/** A user request: what arrives on `user.queries` (as the envelope payload), the API and the SDK. */
export const taskRequestSchema = z.object({
  /** The caller's idempotency key: the same request id never starts two tasks. */
  requestId: z
    .string()
    .min(8)
    .max(200)
    .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits, . _ : -'),
  query: z.string().trim().min(1, 'must not be empty').max(4000),
  /** The agent type of a single-step task (ignored when `plan` is given). */
  agentType: z.string().min(1).max(40).optional(),
  plan: z.array(planStepSchema).min(1).max(20).optional(),
  priority: z.enum(priorities).default('NORMAL'),
  userId: z.uuid().optional(),
  parameters: z.record(z.string(), z.unknown()).default({}),
  /** How long to wait for an agent's answer before the task fails. */
  agentTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(120_000),
});
export type TaskRequest = z.input<typeof taskRequestSchema>;
export type ValidTaskRequest = z.output<typeof taskRequestSchema>;

export function validateTaskRequest(input: unknown): ValidTaskRequest {
  const parsed = taskRequestSchema.safeParse(input);
  if (!parsed.success) {
    throw new InvalidRequestError(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`).join('; '),
    );
  }
  const request = parsed.data;
  if (!request.plan && !request.agentType)
    throw new InvalidRequestError('agentType: required when no plan is given');
  if (request.plan) checkPlan(request.plan);
  return request;
}

/** Rejects duplicate keys, unknown dependencies and cycles. */
export function checkPlan(plan: PlanStep[]): void {
  const keys = new Set<string>();
  for (const step of plan) {
    if (keys.has(step.key)) throw new InvalidRequestError(`plan: step key "${step.key}" appears twice`);
    keys.add(step.key);
  }
  for (const step of plan) {
    for (const dep of step.dependsOn) {
      if (!keys.has(dep)) throw new InvalidRequestError(`plan.${step.key}.dependsOn: unknown step "${dep}"`);
    }
  }
  planLayers(plan); // throws on a cycle
}

/** Payload of a command on `agent.orchestration.commands` (envelope type `agent.command`). */
export const agentCommandSchema = z.object({
  commandId: z.uuid(),
  taskId: z.uuid(),
  workflowId: z.string(),
  stepKey: z.string(),
  agentType: z.string(),
  instruction: z.string(),
  parameters: z.record(z.string(), z.unknown()).default({}),
  /** Knowledge the orchestrator found for this step (Weaviate), so agents in any language can use it. */
  knowledge: z
    .array(
      z.object({
        id: z.string(),
        collection: z.string(),
        title: z.string(),
        snippet: z.string(),
        score: z.number().nullable(),
      }),
    )
    .default([]),
  /** Answers of the steps this one depends on, by step key. */
  upstream: z.record(z.string(), z.unknown()).default({}),
  deadlineAt: z.iso.datetime(),
});
export type AgentCommand = z.infer<typeof agentCommandSchema>;

/** Payload of an answer on `agent.orchestration.responses` (envelope type `agent.response`). */
export const agentResponseSchema = z.object({
  commandId: z.uuid(),
  workflowId: z.string(),
  stepKey: z.string(),
  agentId: z.string().min(1),
  status: z.enum(['SUCCESS', 'FAILED']),
  result: z.record(z.string(), z.unknown()).default({}),
  error: z.string().optional(),
  /** How long the agent worked on it. */
  durationMs: z.number().int().min(0).optional(),
});
export type AgentResponse = z.infer<typeof agentResponseSchema>;

export const userFeedbackSchema = z.object({
  feedbackType: z.enum(['MODIFICATION', 'CANCELLATION', 'APPROVAL', 'COMPLAINT']),
  content: z.string().min(1).max(4000),
  satisfaction: z.number().int().min(1).max(5).optional(),
  userId: z.uuid().optional(),
});
export type UserFeedback = z.infer<typeof userFeedbackSchema>;
