// The task routes' bodies and answers: the task's own shapes (src/task), as the API takes and gives them.
import { z } from 'zod';
import { taskRequestSchema, userFeedbackSchema } from '../../task/index.ts';

// The task request, with the request id optional (generated when absent). Unknown fields are refused, and so
// is `retry`: only POST /tasks/:id/retry starts a run that reuses earlier answers.
export const submitTaskBody = taskRequestSchema.omit({ retry: true }).extend({
  requestId: taskRequestSchema.shape.requestId
    .optional()
    .describe('Your idempotency key: the same request id never starts two tasks. Generated when absent.'),
});
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

export { taskDetailsSchema, type TaskDetails, type TaskRecord } from '../../task/view.ts';
export {
  taskListQuery,
  taskPageSchema,
  type TaskListQuery,
  type TaskPage,
  type TaskSummary,
} from '../../task/list.ts';

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
