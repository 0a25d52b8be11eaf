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
  approvalTimeoutDefaultMs,
  approvalTimeoutLimitsMs,
  onRejectActions,
  cycleIn,
  mainStep,
  priorities,
  requestDefaults,
  stepStatuses,
  taskStatuses,
} from './contract.ts';

const agentTypeSchema = z.enum(agentTypes).describe('One of the four agent types of the spec');

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
  requiresApproval: z
    .boolean()
    .optional()
    .describe('A person approves this step before its command is sent (POST /tasks/:id/steps/:step/approve)'),
  onReject: z
    .enum(onRejectActions)
    .optional()
    .describe('What a rejection does: fail the task, or skip this step and the steps that depend on it'),
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
  approval: z
    .strictObject({
      steps: z
        .array(z.string().max(63))
        .max(20)
        .default([])
        .describe('Step keys that wait for a person’s approval (`main` for a single-step task)'),
      timeoutMs: z
        .number()
        .int()
        .min(approvalTimeoutLimitsMs.min)
        .max(approvalTimeoutLimitsMs.max)
        .default(approvalTimeoutDefaultMs)
        .describe('How long a step waits for the decision before it is rejected (default 24 h)'),
      onReject: z
        .enum(onRejectActions)
        .default('fail')
        .describe('What a rejection does, unless the step says otherwise'),
    })
    .optional()
    .describe('Steps that wait for a person’s approval, and the deadline of the decision'),
  retry: z
    .strictObject({
      attempt: z
        .number()
        .int()
        .min(2)
        .max(1000)
        .describe('This run’s number within the task (the first is 1)'),
      fromStep: z.string().max(63).describe('The step the run starts again from'),
      completed: z
        .record(z.string(), agentResponseSchema)
        .default({})
        .describe('The recorded answers of the steps that succeeded before, by step key: not run again'),
      requestedBy: storable(z.string().min(1).max(200)).describe('Who asked for the retry'),
      reason: storable(z.string().max(4000)).optional().describe('Why'),
    })
    .optional()
    .describe('Set by a retry (POST /tasks/:id/retry): a new run of the same task from a step'),
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
  const problems = parsed.success
    ? [...planProblems(parsed.data), ...stepReferenceProblems(parsed.data)]
    : problemsOf(parsed.error.issues);
  if (!parsed.success || problems.length > 0) throw new ValidationError(problems, 'invalid task request');
  return parsed.data;
}

/**
 * A request as a client submits it (the API, the Kafka ingress, the CLI): as normaliseTaskRequest, but with no
 * `retry`, which only a retry (retryTask, POST /tasks/:id/retry) sets: a client's own would have a run reuse
 * answers that no agent gave.
 */
export function normaliseSubmittedTaskRequest(input: unknown): ValidTaskRequest {
  if (input && typeof input === 'object' && 'retry' in input)
    throw new ValidationError(
      [
        {
          field: 'retry',
          message: 'set only by a retry (POST /tasks/:id/retry); a submitted request cannot carry it',
        },
      ],
      'invalid task request',
    );
  return normaliseTaskRequest(input);
}

/** The approval's and the retry's step keys name steps of the plan, and the reused steps are whole. */
function stepReferenceProblems(request: ValidTaskRequest): FieldProblem[] {
  const plan = request.plan ?? (request.agentType ? [{ key: mainStep, dependsOn: [] as string[] }] : null);
  if (!plan) return [];
  const keys = new Set(plan.map((s) => s.key));
  const problems: FieldProblem[] = [];
  request.approval?.steps.forEach((key, i) => {
    if (!keys.has(key))
      problems.push({ field: `approval.steps.${i}`, message: `no step "${key}" in the plan` });
  });
  const retry = request.retry;
  if (retry) {
    if (!keys.has(retry.fromStep))
      problems.push({ field: 'retry.fromStep', message: `no step "${retry.fromStep}" in the plan` });
    const done = new Set(Object.keys(retry.completed));
    if (done.has(retry.fromStep))
      problems.push({
        field: 'retry.completed',
        message: `the step retried from ("${retry.fromStep}") is reused`,
      });
    for (const key of done) {
      const step = plan.find((s) => s.key === key);
      if (!step) problems.push({ field: `retry.completed.${key}`, message: `no step "${key}" in the plan` });
      else if (step.dependsOn.some((d) => !done.has(d)))
        problems.push({
          field: `retry.completed.${key}`,
          message: `reused, but a step it depends on (${step.dependsOn.filter((d) => !done.has(d)).join(', ')}) runs again`,
        });
    }
  }
  return problems;
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
      reused: z
        .boolean()
        .optional()
        .describe('A retry’s run reused this step’s earlier answer instead of running it again'),
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

/** The payload of the `approveStep` and `rejectStep` updates (the workflow's validator checks the same). */
export const approvalDecisionInputSchema = z.object({
  stepKey: z.string().describe('The step waiting for approval'),
  reason: storable(z.string().min(1).max(4000)).describe('Why: recorded in the task’s history'),
  by: storable(z.string().min(1).max(200)).describe('Who decides (the API puts the key’s user name)'),
  userId: z.uuid().optional().describe('The deciding user’s id, when known'),
});

/** The updates' result: the decision as the run recorded it. */
export const approvalDecisionSchema = approvalDecisionInputSchema.extend({
  decision: z.enum(['APPROVED', 'REJECTED']),
  automatic: z.boolean().describe('True when the deadline rejected the step (by = `deadline`)'),
  decidedAt: z.iso.datetime(),
});
