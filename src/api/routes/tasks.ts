// Tasks: submit (published on `user.queries`, where the orchestrator's ingress starts the workflow), read,
// cancel, and feedback.
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import {
  feedbackSignal,
  normaliseSubmittedTaskRequest,
  taskNotFound,
  taskNotRecorded,
  taskNotRunning,
  workflowIdFor,
  type UserFeedback,
} from '../../task/index.ts';
import { taskIdFor, uuidFrom } from '../../task/ids.ts';
import { cancelTask, temporalRunUrl } from '../../task/client.ts';
import { createEnvelope } from '../../stores/kafka/envelope.ts';
import { Topic } from '../../stores/kafka/topics.ts';
import { recordFeedback } from '../../stores/postgres/tasks.ts';
import { actingUserId, principalOf } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import type { HttpMetrics } from '../http-metrics.ts';
import { defineRoute } from '../route.ts';
import { errorSchema, taskIdParams } from '../schemas/common.ts';
import {
  cancelledTaskSchema,
  feedbackBody,
  recordedFeedbackSchema,
  submitTaskBody,
  submittedTaskSchema,
  taskDetailsSchema,
  taskListQuery,
  taskPageSchema,
} from '../schemas/tasks.ts';
import { findTask, locateTask } from '../../task/view.ts';
import { listTasks, taskListLimits } from '../../task/list.ts';

export function taskRoutes(app: FastifyInstance, deps: ApiDeps, metrics: HttpMetrics): void {
  defineRoute(app, {
    method: 'POST',
    url: '/tasks',
    permission: 'tasks:submit',
    tags: ['tasks'],
    summary: 'Submit a task',
    description:
      'Validates the request and publishes it on the Kafka topic `user.queries` (envelope type `user.query`, ' +
      "id derived from the request id); the orchestrator's ingress starts its workflow. The same `requestId` " +
      'always gives the same task and never starts a second one. `GET statusUrl` may answer 404 for a moment, ' +
      'until the ingress has started the workflow.',
    body: submitTaskBody,
    responses: { 202: { description: 'Accepted: the task will start', schema: submittedTaskSchema } },
    handler: async (request, reply) => {
      const principal = principalOf(request);
      const requestId = request.body.requestId ?? randomUUID();
      const task = normaliseSubmittedTaskRequest({
        ...request.body,
        requestId,
        userId: actingUserId(principal, request.body.userId),
      });
      const taskId = taskIdFor(requestId);
      const workflowId = workflowIdFor(requestId);
      // A re-submitted request carries the same envelope id, so the ingress handles it once.
      const envelope = createEnvelope({
        id: uuidFrom(`request:${requestId}`),
        type: 'user.query',
        taskId,
        workflowId,
        payload: task,
      });
      await deps.publisher.publish(Topic.UserQueries, envelope);
      metrics.tasksSubmitted.inc({ priority: task.priority });
      const statusUrl = `/tasks/${encodeURIComponent(workflowId)}`;
      return reply
        .code(202)
        .header('location', statusUrl)
        .send({
          taskId,
          requestId,
          workflowId,
          statusUrl,
          temporalUrl: temporalRunUrl(deps.env, workflowId),
        });
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/tasks',
    permission: 'tasks:read',
    tags: ['tasks'],
    summary: 'Find tasks: filtered, newest first, a page at a time',
    description:
      'Tasks as PostgreSQL records them, newest first by (createdAt, id), under any of the filters (each ' +
      'one narrows: all must hold). Pages are keyset-paginated: pass `nextCursor` back as `cursor` for the ' +
      'next page (null on the last); tasks created meanwhile never repeat a task nor shift one out of a later ' +
      `page. \`limit\` defaults to ${taskListLimits.default}, at most ${taskListLimits.max}. \`temporalUrl\` is the ` +
      'Temporal UI’s list of the same runs (the filters Temporal has no search attribute for are named in ' +
      '`temporalQueryOmits`).',
    query: taskListQuery,
    responses: { 200: { description: 'A page of tasks', schema: taskPageSchema } },
    handler: async (request) => listTasks(deps, request.query),
  });

  defineRoute(app, {
    method: 'GET',
    url: '/tasks/:id',
    permission: 'tasks:read',
    tags: ['tasks'],
    summary: 'A task: its record in PostgreSQL and its live run in Temporal',
    description:
      'The id is the task id, the request id or the workflow id. A task submitted a moment ago may be 404 until ' +
      'the orchestrator has started it; `record` is null until its first step has run.',
    params: taskIdParams,
    responses: {
      200: { description: 'The task', schema: taskDetailsSchema },
      404: { description: 'Neither PostgreSQL nor Temporal knows this id', schema: errorSchema },
    },
    handler: async (request) => {
      const details = await findTask(deps, request.params.id);
      if (!details) throw taskNotFound(request.params.id);
      return details;
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/tasks/:id/cancel',
    permission: 'tasks:cancel',
    tags: ['tasks'],
    summary: 'Cancel a running task',
    description: 'Asks the workflow to stop; it records the task as CANCELLED in PostgreSQL.',
    params: taskIdParams,
    responses: {
      202: { description: 'Cancellation requested', schema: cancelledTaskSchema },
      404: { description: 'Unknown task', schema: errorSchema },
      409: { description: 'The task is not running', schema: errorSchema },
    },
    handler: async (request, reply) => {
      const task = await locateTask(deps, request.params.id);
      if (!task) throw taskNotFound(request.params.id);
      const taskId = task.record?.id ?? taskIdFor(task.workflowId.replace(/^task-/, ''));
      if (task.runStatus !== 'RUNNING' || !(await cancelTask(deps.temporal, task.workflowId))) {
        const status = task.runStatus ?? task.record?.status ?? 'unknown';
        throw taskNotRunning(taskId, status);
      }
      return reply.code(202).send({ taskId, workflowId: task.workflowId, cancelRequested: true });
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/tasks/:id/feedback',
    permission: 'tasks:feedback',
    tags: ['tasks'],
    summary: 'Give feedback on a task',
    description:
      'Stores it (table `user_feedback`), signals the running workflow (`userFeedback`), and publishes it on ' +
      '`user.feedback` (envelope type `user.feedback`, id = the feedback id).',
    params: taskIdParams,
    body: feedbackBody,
    responses: {
      201: { description: 'Recorded', schema: recordedFeedbackSchema },
      404: { description: 'Unknown task', schema: errorSchema },
      409: {
        description: 'The task has no record yet (its workflow is starting): retry in a moment',
        schema: errorSchema,
      },
    },
    handler: async (request, reply) => {
      const task = await locateTask(deps, request.params.id);
      if (!task) throw taskNotFound(request.params.id);
      if (!task.record) {
        throw taskNotRecorded(task.workflowId);
      }
      const taskId = task.record.id;
      const feedback: UserFeedback = {
        ...request.body,
        userId: actingUserId(principalOf(request), request.body.userId),
      };
      const row = await recordFeedback(deps.prisma, {
        taskId,
        userId: feedback.userId ?? null,
        feedbackType: feedback.feedbackType,
        content: feedback.content,
        satisfaction: feedback.satisfaction ?? null,
      });
      let signalled = false;
      if (task.runStatus === 'RUNNING') {
        try {
          await deps.temporal.workflow.getHandle(task.workflowId).signal(feedbackSignal, feedback);
          signalled = true;
        } catch (err) {
          // It ended between the lookup and the signal: the feedback is stored, there is no one to tell.
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
      }
      await deps.publisher.publish(
        Topic.UserFeedback,
        createEnvelope({
          id: row.id,
          type: 'user.feedback',
          taskId,
          workflowId: task.workflowId,
          payload: { feedbackId: row.id, taskId, workflowId: task.workflowId, signalled, ...feedback },
        }),
      );
      return reply.code(201).send({ feedbackId: row.id, taskId, workflowId: task.workflowId, signalled });
    },
  });
}
