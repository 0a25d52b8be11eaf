// The task routes' bodies and answers. The request itself is the product's TaskRequest (src/task/schemas.ts).
import { z } from 'zod';
import { taskRequestSchema, userFeedbackSchema } from '../../task/schemas.ts';
import { timestamp } from './common.ts';

// Unknown fields are refused rather than dropped: a misspelt `agent_type` must not silently become a default.
export const submitTaskBody = taskRequestSchema
  .extend({
    requestId: taskRequestSchema.shape.requestId
      .optional()
      .describe('Your idempotency key: the same request id never starts two tasks. Generated when absent.'),
  })
  .strict();
export type SubmitTaskBody = z.input<typeof submitTaskBody>;

export const submittedTaskSchema = z.object({
  taskId: z.uuid(),
  requestId: z.string(),
  workflowId: z.string(),
  /** Where to poll: GET this path (relative to the API's base URL). */
  statusUrl: z.string(),
  temporalUrl: z.string().describe('The run in the Temporal UI'),
});
export type SubmittedTask = z.infer<typeof submittedTaskSchema>;

export const taskStatusSchema = z.enum(['PENDING', 'ACTIVE', 'COMPLETED', 'FAILED', 'CANCELLED']);
export type TaskStatus = z.infer<typeof taskStatusSchema>;

const subtaskSchema = z.object({
  id: z.uuid(),
  stepKey: z.string(),
  agentType: z.string(),
  agentId: z.string().nullable(),
  status: z.string(),
  dependsOn: z.array(z.string()),
  output: z.unknown(),
  errorMessage: z.string().nullable(),
  durationMs: z.number().nullable(),
  startedAt: timestamp.nullable(),
  completedAt: timestamp.nullable(),
});

const historySchema = z.object({
  id: z.string().describe('Sequence number (a 64-bit integer, as a string)'),
  eventKey: z.string(),
  eventType: z.string(),
  subtaskId: z.string().nullable(),
  fromStatus: z.string().nullable(),
  toStatus: z.string().nullable(),
  details: z.unknown(),
  occurredAt: timestamp,
});

/** The task as PostgreSQL records it. */
export const taskRecordSchema = z.object({
  id: z.uuid(),
  requestId: z.string(),
  workflowId: z.string(),
  userId: z.string().nullable(),
  status: taskStatusSchema,
  priority: z.string(),
  query: z.object({ text: z.string(), type: z.string() }).nullable(),
  result: z.unknown(),
  errorMessage: z.string().nullable(),
  createdAt: timestamp,
  startedAt: timestamp.nullable(),
  completedAt: timestamp.nullable(),
  totalDurationMs: z.number().nullable(),
  subtasks: z.array(subtaskSchema),
  history: z.array(historySchema),
});
export type TaskRecord = z.infer<typeof taskRecordSchema>;

/** The run as Temporal sees it now. */
export const liveTaskSchema = z.object({
  status: taskStatusSchema,
  progress: z.looseObject({}).nullable().describe('The `progress` query of a running task'),
  outcome: z.looseObject({}).nullable().describe('What the workflow returned, once it completed'),
});
export type LiveTask = z.infer<typeof liveTaskSchema>;

export const taskDetailsSchema = z.object({
  taskId: z.string(),
  requestId: z.string().nullable(),
  workflowId: z.string(),
  status: taskStatusSchema,
  temporalUrl: z.string(),
  record: taskRecordSchema.nullable().describe('null until the workflow has created the task in PostgreSQL'),
  live: liveTaskSchema
    .nullable()
    .describe('null when Temporal has no run of this task (not started yet, or purged)'),
  warning: z
    .string()
    .optional()
    .describe('Why part of the view is missing, e.g. no worker answered the progress query'),
});
export type TaskDetails = z.infer<typeof taskDetailsSchema>;

export const cancelledTaskSchema = z.object({
  taskId: z.string(),
  workflowId: z.string(),
  cancelRequested: z.literal(true),
});

export const feedbackBody = userFeedbackSchema.strict();
export type FeedbackBody = z.input<typeof feedbackBody>;

export const recordedFeedbackSchema = z.object({
  feedbackId: z.uuid(),
  taskId: z.uuid(),
  workflowId: z.string(),
  signalled: z.boolean().describe('Whether the running workflow received it (false once the task has ended)'),
});
export type RecordedFeedback = z.infer<typeof recordedFeedbackSchema>;
