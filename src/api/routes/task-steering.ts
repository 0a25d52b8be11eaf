// Steering a task: retry it from a step (a new run of the same task, reusing the answers of the steps that
// succeeded before that step), and approve or reject a step that waits for a person (src/task/actions.ts).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { decideStep, retryReasonSchema, retryTask } from '../../task/actions.ts';
import { storable } from '../../validation.ts';
import { principalOf } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { defineRoute } from '../route.ts';
import { errorSchema } from '../schemas/common.ts';

const taskRef = storable(z.string().min(1).max(255)).describe('Task id (UUID), request id, or workflow id');
const stepKey = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'a plan step key')
  .describe('The step’s key in the plan (`main` for a single-step task)');

const retryBody = z
  .strictObject({
    fromStep: stepKey.optional().describe('The step to run again from; default: the first step that failed'),
    reason: retryReasonSchema.optional().describe('Why: recorded in the history'),
  })
  .default({});

const retriedSchema = z.object({
  taskId: z.string(),
  workflowId: z.string().describe('The same as the first run’s: the task’s runs share it'),
  runId: z.string().describe('The new run'),
  attempt: z.number().int().describe('This run’s number within the task (the first run is 1)'),
  fromStep: z.string(),
  reused: z.array(z.string()).describe('Steps whose earlier answers the run reuses (not run again)'),
  rerun: z.array(z.string()).describe('Steps the run runs'),
  temporalUrl: z.string(),
});

const decisionBody = z.strictObject({
  reason: storable(z.string().min(1).max(4000)).describe('Why: recorded in the history'),
});

const decisionSchema = z.object({
  taskId: z.string(),
  workflowId: z.string(),
  stepKey: z.string(),
  decision: z.enum(['APPROVED', 'REJECTED']),
  by: z.string().describe('The API key’s user'),
  userId: z.string().optional(),
  reason: z.string(),
  automatic: z.boolean(),
  decidedAt: z.string(),
});

export function taskSteeringRoutes(app: FastifyInstance, deps: ApiDeps): void {
  defineRoute(app, {
    method: 'POST',
    url: '/tasks/:id/retry',
    permission: 'tasks:retry',
    tags: ['tasks'],
    summary: 'Retry a task from a step',
    description:
      'Starts a new run of a task whose last run did not complete (FAILED, CANCELLED, terminated), under the ' +
      'same workflow id: the steps that succeeded before `fromStep` keep their recorded answers and are not ' +
      'run again; `fromStep` (default: the first failed step), the steps that depend on it and the steps that ' +
      'had not succeeded run. The history (PostgreSQL, and Temporal’s list of the workflow id’s runs) keeps ' +
      'both runs; a RETRY_STARTED event records who asked and why. A COMPLETED or running task is refused (409).',
    params: z.strictObject({ id: taskRef }),
    body: retryBody,
    responses: {
      202: { description: 'The new run started', schema: retriedSchema },
      400: { description: '`fromStep` is not a step of the plan', schema: errorSchema },
      404: { description: 'Unknown task', schema: errorSchema },
      409: { description: 'The task completed, or runs', schema: errorSchema },
    },
    handler: async (request, reply) => {
      const principal = principalOf(request);
      const body = request.body ?? {};
      const retried = await retryTask(deps, request.params.id, {
        ...(body.fromStep ? { fromStep: body.fromStep } : {}),
        ...(body.reason ? { reason: body.reason } : {}),
        requestedBy: principal.username,
      });
      return reply.code(202).send(retried);
    },
  });

  for (const decision of ['approve', 'reject'] as const) {
    defineRoute(app, {
      method: 'POST',
      url: `/tasks/:id/steps/:step/${decision}`,
      permission: 'tasks:approve',
      tags: ['tasks'],
      summary:
        decision === 'approve' ? 'Approve a step waiting for approval' : 'Reject a step waiting for approval',
      description:
        `${decision === 'approve' ? 'Approves' : 'Rejects'} a step the task holds in WAITING_APPROVAL, through ` +
        `the run’s \`${decision}Step\` Temporal update: the key’s user and the reason are recorded in the ` +
        'run and in the task’s history (APPROVAL_DECIDED). ' +
        (decision === 'approve'
          ? 'The step’s command is sent.'
          : 'The task fails, or the step and the steps that depend on it are skipped, as the plan says (`onReject`).') +
        ' A step that is not waiting is refused at once (409).',
      params: z.strictObject({ id: taskRef, step: stepKey }),
      body: decisionBody,
      responses: {
        200: { description: 'Decided', schema: decisionSchema },
        404: { description: 'Unknown task', schema: errorSchema },
        409: { description: 'The step is not waiting for approval', schema: errorSchema },
      },
      handler: async (request) => {
        const principal = principalOf(request);
        return decideStep(deps, request.params.id, decision, {
          stepKey: request.params.step,
          reason: request.body.reason,
          by: principal.username,
          userId: principal.userId,
        });
      },
    });
  }
}
