// How the API answers when something is wrong: one JSON shape for every error, naming the field for
// invalid input, and a message that says what to do.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { InvalidRequestError } from '../task/schemas.ts';

export interface FieldProblem {
  /** Where the problem is, e.g. `body.plan.0.key` or `query.limit`. */
  field: string;
  message: string;
}

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

export function fieldProblems(part: string, issues: readonly z.core.$ZodIssue[]): FieldProblem[] {
  const prefix = partNames[part] ?? part;
  return issues.flatMap((issue) => {
    const at = [prefix, ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        field: `${at}.${key}`,
        message: 'unknown field (check its spelling)',
      }));
    }
    // Zod leaves the input out of its issues: "received undefined" is how it says the field is absent.
    const missing = issue.code === 'invalid_type' && /received undefined$/.test(issue.message);
    return [
      { field: at, message: missing ? 'required' : issue.message.replace(/^Invalid (input|option): /, '') },
    ];
  });
}

/** InvalidRequestError says `plan.a.dependsOn: unknown step "b"`: the part before the colon is the field. */
function fromInvalidRequest(err: InvalidRequestError): RequestValidationError {
  return new RequestValidationError(
    err.message.split('; ').map((part) => {
      const colon = part.indexOf(': ');
      return colon > 0
        ? { field: `body.${part.slice(0, colon)}`, message: part.slice(colon + 2) }
        : { field: 'body', message: part };
    }),
  );
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
    const err = raw instanceof InvalidRequestError ? fromInvalidRequest(raw) : raw;
    if (err instanceof HttpError) {
      if (err.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="prism"');
      return reply.code(err.statusCode).send(errorBody(err.statusCode, err.message, err.fields));
    }
    const statusCode = (err as FastifyError).statusCode;
    // Fastify's own client errors (malformed JSON, wrong content type, body too large).
    if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
      return reply.code(statusCode).send(errorBody(statusCode, err.message));
    }
    request.log.error({ err }, 'request failed');
    return reply
      .code(500)
      .send(
        errorBody(
          500,
          `the server failed: ${err.message}. Check that the services are up (GET /readyz, prism stack status) and retry.`,
        ),
      );
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(errorBody(404, `no route ${request.method} ${request.url}: see the API description at /docs`)),
  );
}
