// The workflow's contract as JSON Schema, generated from the zod schemas the code validates with, for
// clients in any language (docs/workflows.md, docs/schemas/). `npm run docs:schemas` writes the files; a
// unit test fails when they differ from the code.
import { z } from 'zod';
import {
  agentResponseSchema,
  approvalDecisionInputSchema,
  approvalDecisionSchema,
  taskOutcomeSchema,
  taskProgressSchema,
  taskRequestSchema,
  userFeedbackSchema,
} from './schemas.ts';

const fieldProblemSchema = z.object({
  field: z.string().describe('Where the problem is, e.g. `plan.0.dependsOn` or `agentType`'),
  message: z.string(),
});

/** Every shape a client of `agentTask` sends or reads, by file name. */
export const workflowContractSchemas = {
  'agent-task.input': { schema: taskRequestSchema, io: 'input', title: 'agentTask input (a task request)' },
  'agent-task.result': { schema: taskOutcomeSchema, io: 'output', title: 'agentTask result (TaskOutcome)' },
  'signal.agentResponse': { schema: agentResponseSchema, io: 'input', title: 'agentResponse signal' },
  'signal.userFeedback': { schema: userFeedbackSchema, io: 'input', title: 'userFeedback signal' },
  'query.progress': { schema: taskProgressSchema, io: 'output', title: 'progress query result' },
  'update.decideStep.input': {
    schema: approvalDecisionInputSchema,
    io: 'input',
    title: 'approveStep / rejectStep update argument',
  },
  'update.decideStep.result': {
    schema: approvalDecisionSchema,
    io: 'output',
    title: 'approveStep / rejectStep update result',
  },
  'failure.InvalidTaskRequest': {
    schema: z.array(fieldProblemSchema),
    io: 'output',
    title: 'details of an InvalidTaskRequest failure: the field problems',
  },
} as const;

export function contractJsonSchemas(): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(workflowContractSchemas).map(([name, { schema, io, title }]) => [
      name,
      { title, ...z.toJSONSchema(schema, { io, target: 'draft-2020-12' }) },
    ]),
  );
}
