// GET /tasks/:id/events: a task's progress as Server-Sent Events, read from its Temporal history
// (src/task/events.ts). The frames are written by hand on the raw response: the format is four lines
// (`id:`, `event:`, `data:`, a blank line), and the SSE plugins on npm were pre-1.0 (@fastify/sse 0.6.0)
// or built for Fastify 4 streams (fastify-sse-v2), for what is twenty lines here.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { PrismError, httpStatusOf } from '../../errors.ts';
import { taskNotFound } from '../../task/index.ts';
import {
  parseLastEventId,
  runToWatch,
  taskEventTypes,
  watchRunEvents,
  type TaskEvent,
} from '../../task/events.ts';
import { locateTask } from '../../task/view.ts';
import type { ApiDeps } from '../deps.ts';
import { defineRoute } from '../route.ts';
import { errorSchema, taskIdParams } from '../schemas/common.ts';

/** How often an idle stream sends a comment, so that proxies and clients know it is alive. */
export const heartbeatMs = 15_000;
/** The `retry:` hint: how long an EventSource waits before it reconnects after a lost connection. */
export const reconnectMs = 3_000;

const eventsQuery = z.strictObject({
  runId: z
    .string()
    .max(64)
    .optional()
    .describe('Follow this run of the task (a retried task has several); default the latest'),
  lastEventId: z
    .string()
    .regex(/^\d{1,15}(\.5)?$/, 'an event id: a non-negative integer, or one + .5')
    .optional()
    .describe('Resume after this event id, for clients that cannot send the `Last-Event-ID` header'),
});

let streaming = 0;
/** How many event streams this process serves now (each holds one history long poll while open). */
export function taskEventStreamsOpen(): number {
  return streaming;
}

/** One SSE frame. The data is JSON on one line (JSON.stringify escapes every newline). */
export function sseFrame(fields: { id?: string; event?: string; data: unknown }): string {
  return (
    (fields.id !== undefined ? `id: ${fields.id}\n` : '') +
    (fields.event ? `event: ${fields.event}\n` : '') +
    `data: ${JSON.stringify(fields.data)}\n\n`
  );
}

/** How long reading an ended run's events (to resume its stream) may take before the answer is a 503. */
export const endedRunReadMs = 30_000;

/**
 * Every event of an ended run, read within `timeoutMs` (else a 503 naming Temporal) and stopped when the
 * client hangs up (`hangUp`; then null: nobody to answer).
 */
export async function readEndedRun(
  events: (signal: AbortSignal) => AsyncIterable<TaskEvent>,
  hangUp: AbortSignal,
  timeoutMs = endedRunReadMs,
): Promise<TaskEvent[] | null> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const rest: TaskEvent[] = [];
  try {
    for await (const event of events(AbortSignal.any([timeout, hangUp]))) rest.push(event);
  } catch (err) {
    if (hangUp.aborted) return null;
    if (timeout.aborted)
      throw new PrismError(
        'SERVICE_UNAVAILABLE',
        `Temporal did not give the run's history within ${Math.round(timeoutMs / 1000)} s; retry later`,
        { cause: err },
      );
    throw err;
  }
  return hangUp.aborted ? null : rest;
}

export function taskEventRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // Open streams end when the server closes (a stream would otherwise hold the close until its task ends).
  const open = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const controller of open) controller.abort();
  });

  defineRoute(app, {
    method: 'GET',
    url: '/tasks/:id/events',
    permission: 'tasks:read',
    tags: ['tasks'],
    summary: 'Watch a task: its events as they happen (Server-Sent Events)',
    description:
      'A `text/event-stream` of the task run’s events, read from its Temporal history: ' +
      taskEventTypes.map((t) => `\`${t}\``).join(', ') +
      '. Each has an `id:` (the history event’s id; in a retry’s run, attempt × 10⁹ + it: increasing over the ' +
      'task’s runs; a step’s answer that came with its dispatch takes the dispatch’s id + .5); a client that reconnects with ' +
      '`Last-Event-ID` (or `?lastEventId=`) gets only later events. A comment every 15 s keeps an idle ' +
      'stream open; the stream ends after `task.ended`. Resuming after `task.ended` answers 204 (an ' +
      'EventSource stops reconnecting). The data of each event is JSON: `{ id, type, workflowId, runId, at, ' +
      'stepKey?, data }` (docs/api.md).',
    params: taskIdParams,
    query: eventsQuery,
    responses: {
      200: { description: 'The event stream', contentType: 'text/event-stream' },
      204: { description: 'The run has ended and the client has every event (Last-Event-ID)' },
      404: {
        description: 'Unknown task, a task whose run has not started yet, or an unknown runId',
        schema: errorSchema,
      },
    },
    handler: async (request, reply) => {
      const { id } = request.params;
      const task = await locateTask(deps, id);
      if (!task) throw taskNotFound(id);
      const run = await runToWatch(deps.temporal, task.workflowId, request.query.runId);
      if (!run) {
        throw new PrismError(
          'TASK_NOT_FOUND',
          request.query.runId
            ? `task ${id} has no run ${request.query.runId}: omit runId to follow its latest run`
            : `task ${id} has no run in Temporal (not started yet, or past the namespace's retention): ` +
                `GET /tasks/${id} shows its record`,
          { details: { id } },
        );
      }
      const after =
        parseLastEventId(request.headers['last-event-id']) ??
        (request.query.lastEventId !== undefined ? Number(request.query.lastEventId) : undefined);
      const events = (signal: AbortSignal) =>
        watchRunEvents(deps.temporal, task.workflowId, run.runId, { after, signal });
      if (after !== undefined && run.status !== 'RUNNING') {
        // A run that has ended has all its events: when none is after the client's, it has them all.
        // A client that hangs up stops the read (the connection's close), as it stops a live stream's poll.
        const hangUp = new AbortController();
        const onClose = () => hangUp.abort();
        reply.raw.once('close', onClose);
        let rest: TaskEvent[] | null;
        try {
          rest = await readEndedRun(events, hangUp.signal);
        } finally {
          reply.raw.off('close', onClose);
        }
        // Nobody is left to answer when rest is null: the 204 goes nowhere.
        if (rest === null || rest.length === 0) return reply.code(204).send();
        await stream(
          reply,
          deps,
          { workflowId: task.workflowId, runId: run.runId },
          async function* () {
            yield* rest;
          },
          open,
        );
        return reply;
      }
      await stream(reply, deps, { workflowId: task.workflowId, runId: run.runId }, events, open);
      return reply;
    },
  });
}

async function stream(
  reply: FastifyReply,
  deps: ApiDeps,
  run: { workflowId: string; runId: string },
  events: (signal: AbortSignal) => AsyncIterable<TaskEvent>,
  open: Set<AbortController>,
): Promise<void> {
  const controller = new AbortController();
  const res = reply.raw;
  const onClose = () => controller.abort();
  // A client that goes away ends the stream, and with it the long poll (no poll outlives its client).
  res.on('close', onClose);
  if (res.destroyed) controller.abort();
  open.add(controller);
  streaming++;
  reply.hijack();
  // Headers set so far (the rate limit's) go out with the stream's own.
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) res.setHeader(name, value);
  }
  const write = async (chunk: string) => {
    if (res.writableEnded || res.destroyed) return;
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  };
  let heartbeat: NodeJS.Timeout | undefined;
  try {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx and similar proxies buffer responses unless told not to.
      'x-accel-buffering': 'no',
    });
    heartbeat = setInterval(
      () => void write(`: heartbeat ${new Date().toISOString()}\n\n`),
      deps.taskEventsHeartbeatMs ?? heartbeatMs,
    );
    // The first bytes flush the headers: the client knows the stream is open before any event.
    await write(`retry: ${reconnectMs}\n\n`);
    for await (const event of events(controller.signal)) {
      await write(sseFrame({ id: event.id, event: event.type, data: event }));
    }
  } catch (err) {
    if (!controller.signal.aborted) {
      // Temporal failed under the stream: say why; the client may reconnect with its Last-Event-ID.
      const code = err instanceof PrismError ? err.code : 'SERVICE_UNAVAILABLE';
      const status = err instanceof PrismError ? httpStatusOf(err) : 503;
      const message = `the task's history could not be read: ${(err as Error).message}`;
      reply.log.warn({ err, ...run }, 'task event stream failed');
      await write(sseFrame({ event: 'stream.error', data: { code, status, message } }));
    }
  } finally {
    if (heartbeat) clearInterval(heartbeat);
    res.off('close', onClose);
    open.delete(controller);
    streaming--;
    if (!res.writableEnded) res.end();
  }
}
