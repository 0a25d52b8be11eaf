// The task's shapes as zod schemas: the request every client sends (Kafka `user.queries`, HTTP API, SDK,
// CLI, or a Temporal SDK in any language starting `agentTask`), the command and answer an agent sees, the
// feedback signal, the progress query and the outcome. One validation and one set of defaults for every
// edge (`normaliseTaskRequest`); docs/workflows.md shows them as JSON Schema (`npm run docs:schemas`).
import { z } from 'zod';
import {
  ValidationError,
  jsonObject,
  nonBlankText,
  problemsOf,
  storable,
  unstorableJson,
  type FieldProblem,
} from '../validation.ts';
import {
  agentTimeoutLimitsMs,
  agentTypes,
  cycleIn,
  priorities,
  requestDefaults,
  stepStatuses,
  taskStatuses,
} from './contract.ts';

const agentTypeSchema = z.enum(agentTypes).describe('One of the four agent types of the spec');

/** One step of an execution plan: an agent type, and the steps it waits for (a DAG). */
export const planStepSchema = z.strictObject({
  key: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, - and _ (a letter first, at most 63)'),
  agentType: agentTypeSchema,
  instruction: storable(z.string().max(4000))
    .optional()
    .describe('What this step asks of the agent; default: the query'),
  dependsOn: z
    .array(z.string().max(63))
    .max(20)
    .default([])
    .describe('Keys of the steps whose answers this step needs'),
});
export type PlanStep = z.infer<typeof planStepSchema>;

/** How large a request's `parameters` may be as JSON: the request travels in a Kafka message and a Temporal payload. */
export const maxParametersBytes = 64 * 1024;

/** A user request: the same for every client. Unknown fields are refused (a misspelt field is no default). */
export const taskRequestSchema = z.strictObject({
  requestId: z
    .string()
    .min(8)
    .max(200)
    .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits, . _ : -')
    .describe('The caller’s idempotency key: the same request id never starts two tasks'),
  query: nonBlankText(4000).describe('What the user asks'),
  agentType: agentTypeSchema.optional().describe('The agent type of a single-step task (without `plan`)'),
  plan: z
    .array(planStepSchema)
    .min(1)
    .max(20)
    .optional()
    .describe('Several steps as a DAG (instead of `agentType`)'),
  priority: z.enum(priorities).default(requestDefaults.priority),
  userId: z.uuid().optional().describe('The user the task is for (a users row)'),
  parameters: jsonObject(maxParametersBytes)
    .default({})
    .describe('Given to every step; keys under an agent type in lower case apply to that type only'),
  agentTimeoutMs: z
    .number()
    .int()
    .min(agentTimeoutLimitsMs.min)
    .max(agentTimeoutLimitsMs.max)
    .default(requestDefaults.agentTimeoutMs)
    .describe('How long each step waits for its agent’s answer before the task fails'),
});
export type TaskRequest = z.input<typeof taskRequestSchema>;
export type ValidTaskRequest = z.output<typeof taskRequestSchema>;

/** The plan's own rules: one of agentType or plan; unique keys, known dependencies, no cycle. */
function planProblems(request: ValidTaskRequest): FieldProblem[] {
  if (!request.plan)
    return request.agentType ? [] : [{ field: 'agentType', message: 'required when no plan is given' }];
  const problems: FieldProblem[] = [];
  if (request.agentType) problems.push({ field: 'agentType', message: 'give agentType or plan, not both' });
  const seen = new Set<string>();
  request.plan.forEach((step, i) => {
    if (seen.has(step.key)) problems.push({ field: `plan.${i}.key`, message: `"${step.key}" appears twice` });
    seen.add(step.key);
  });
  const keys = new Set(request.plan.map((s) => s.key));
  request.plan.forEach((step, i) => {
    for (const dep of step.dependsOn) {
      if (dep === step.key)
        problems.push({ field: `plan.${i}.dependsOn`, message: 'a step cannot wait for itself' });
      else if (!keys.has(dep))
        problems.push({ field: `plan.${i}.dependsOn`, message: `unknown step "${dep}"` });
    }
  });
  const cycle = problems.length === 0 ? cycleIn(request.plan) : null;
  if (cycle)
    problems.push({
      field: 'plan',
      message: `the steps ${cycle.join(', ')} depend on each other in a cycle`,
    });
  return problems;
}

/**
 * The request with its defaults, or a ValidationError naming every bad field. Every edge calls this: the
 * API and the CLI before they send it, the ingress before it starts a run, and the workflow's first
 * activity for whatever any client started.
 */
export function normaliseTaskRequest(input: unknown): ValidTaskRequest {
  const parsed = taskRequestSchema.safeParse(input, { reportInput: true });
  const problems = parsed.success ? planProblems(parsed.data) : problemsOf(parsed.error.issues);
  if (!parsed.success || problems.length > 0) throw new ValidationError(problems, 'invalid task request');
  return parsed.data;
}

function refuseUnstorable(value: unknown, ctx: z.RefinementCtx): void {
  for (const problem of unstorableJson(value)) {
    ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
  }
}

/** Knowledge the orchestrator found for a step (Weaviate), so that agents in any language can use it. */
export const knowledgeHitSchema = z.object({
  id: z.string(),
  collection: z.string(),
  title: z.string(),
  snippet: z.string(),
  score: z.number().nullable(),
});
export type KnowledgeHit = z.infer<typeof knowledgeHitSchema>;

/** Payload of a command on `agent.orchestration.commands` (envelope type `agent.command`). */
export const agentCommandSchema = z.object({
  commandId: z.uuid(),
  taskId: z.uuid(),
  workflowId: z.string(),
  stepKey: z.string(),
  agentType: agentTypeSchema,
  instruction: z.string(),
  parameters: z.record(z.string(), z.unknown()).default({}),
  knowledge: z.array(knowledgeHitSchema).default([]),
  /** Answers of the steps this one depends on, by step key. */
  upstream: z.record(z.string(), z.unknown()).default({}),
  deadlineAt: z.iso.datetime(),
});
export type AgentCommand = z.infer<typeof agentCommandSchema>;

/** Payload of an answer on `agent.orchestration.responses` (envelope type `agent.response`), or signal. */
export const agentResponseSchema = z.object({
  commandId: z.uuid(),
  workflowId: z.string(),
  stepKey: z.string(),
  agentId: z.string().min(1),
  status: z.enum(['SUCCESS', 'FAILED']),
  // Stored as the step's history in PostgreSQL: storable text only.
  result: z.record(z.string(), z.unknown()).default({}).superRefine(refuseUnstorable),
  error: storable(z.string()).optional(),
  /** How long the agent worked on it. */
  durationMs: z.number().int().min(0).optional(),
});
export type AgentResponse = z.infer<typeof agentResponseSchema>;

/** The `userFeedback` signal's payload (and the API's feedback body). */
export const userFeedbackSchema = z.object({
  feedbackType: z.enum(['MODIFICATION', 'CANCELLATION', 'APPROVAL', 'COMPLAINT']),
  content: storable(z.string().min(1).max(4000)),
  satisfaction: z.number().int().min(1).max(5).optional(),
  userId: z.uuid().optional(),
});
export type UserFeedback = z.infer<typeof userFeedbackSchema>;

export const taskStatusSchema = z.enum(taskStatuses);
export type TaskStatus = z.infer<typeof taskStatusSchema>;
export type StepStatus = (typeof stepStatuses)[number];

/** What the `progress` query returns while a task runs. */
export const taskProgressSchema = z.object({
  taskId: z.string().nullable().describe('null until the task is in PostgreSQL'),
  status: taskStatusSchema,
  currentStep: z.string().describe('The flow step in progress, or a plan step key'),
  steps: z.array(
    z.object({
      key: z.string(),
      agentType: z.string(),
      status: z.enum(stepStatuses),
      agentId: z.string().optional(),
    }),
  ),
  feedback: z.number().int().describe('How many userFeedback signals arrived'),
});
export type TaskProgress = z.infer<typeof taskProgressSchema>;

/** How a task ended: the workflow's result when COMPLETED, its failure's details when FAILED. */
export const taskOutcomeSchema = z.object({
  taskId: z.uuid(),
  workflowId: z.string(),
  status: z.enum(['COMPLETED', 'FAILED', 'CANCELLED']),
  results: z.record(z.string(), agentResponseSchema).describe('The agents’ answers, by step key'),
  error: z.string().optional().describe('Why the task failed or was cancelled'),
  timings: z.record(z.string(), z.number()).describe('Milliseconds per flow step'),
  durationMs: z.number(),
});
export type TaskOutcome = z.infer<typeof taskOutcomeSchema>;
