// How the API answers when something is wrong: one JSON shape for every error, naming the field for
// invalid input, and a message that says what to do.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { problemsOf, ValidationError, type FieldProblem } from '../validation.ts';

export type { FieldProblem } from '../validation.ts';

/** An error with an HTTP status; its message goes to the client as is. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly fields?: FieldProblem[],
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Input that failed its schema: a 400 naming every failing field. */
export class RequestValidationError extends HttpError {
  constructor(fields: FieldProblem[]) {
    super(400, fields.map((f) => `${f.field}: ${f.message}`).join('; '), fields);
    this.name = 'RequestValidationError';
  }
}

/** Fastify calls the query string `querystring`; clients know it as the query. */
const partNames: Record<string, string> = {
  querystring: 'query',
  params: 'path',
  headers: 'headers',
  body: 'body',
};

/** The problems of a request part that failed its schema, named as clients know the part. */
export function fieldProblems(part: string, issues: readonly z.core.$ZodIssue[]): FieldProblem[] {
  return problemsOf(issues, partNames[part] ?? part);
}

export interface ErrorBody {
  error: string;
  message: string;
  fields?: FieldProblem[];
}

export function errorBody(statusCode: number, message: string, fields?: FieldProblem[]): ErrorBody {
  return { error: STATUS_CODES[statusCode] ?? 'Error', message, ...(fields ? { fields } : {}) };
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((raw: FastifyError | Error, request, reply) => {
    // A task request that the task's own validation refused (its plan rules, say): a 400 on the body.
    const err = raw instanceof ValidationError ? new RequestValidationError(raw.under('body').problems) : raw;
    if (err instanceof HttpError) {
      if (err.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="prism"');
      return reply.code(err.statusCode).send(errorBody(err.statusCode, err.message, err.fields));
    }
    const statusCode = (err as FastifyError).statusCode;
    // Fastify's own client errors (malformed JSON, wrong content type, body too large).
    if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
      return reply.code(statusCode).send(errorBody(statusCode, err.message));
    }
    // The detail stays in the server's log, under the request id the client gets: no internal message,
    // address or stack trace leaves the server.
    request.log.error({ err, requestId: request.id }, 'request failed');
    return reply
      .code(500)
      .header('x-request-id', request.id)
      .send({
        ...errorBody(
          500,
          `the server failed on request ${request.id}; its log holds the reason under this id. ` +
            'Check that the services are up (GET /readyz) and retry.',
        ),
        requestId: request.id,
      });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(errorBody(404, `no route ${request.method} ${request.url}: see the API description at /docs`)),
  );
}
