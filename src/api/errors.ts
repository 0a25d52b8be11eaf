// How the API answers when something is wrong: one JSON shape for every error — the HTTP status text, the
// error's stable code (src/errors.ts, docs/errors.md), a message that says what to do, and for invalid input
// the failing fields. The status comes from the code (httpStatusOf); nothing here decides it case by case.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { codeForStatus, httpStatusOf, PrismError, type ErrorCode } from '../errors.ts';
import { ServiceUnavailableError, transientReason } from '../retry.ts';
import { describeProblems, problemsOf, ValidationError, type FieldProblem } from '../validation.ts';

export type { FieldProblem } from '../validation.ts';

/** Input that failed its schema, its fields named where they are (`body.…`, `query.…`, `path.…`): a 400. */
export class RequestValidationError extends ValidationError {
  constructor(fields: FieldProblem[], code: ErrorCode = 'INVALID_INPUT') {
    super(fields, 'invalid request', code);
    this.name = 'RequestValidationError';
    this.message = describeProblems(fields);
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
  code: ErrorCode;
  message: string;
  fields?: FieldProblem[];
}

export function errorBody(
  statusCode: number,
  code: ErrorCode,
  message: string,
  fields?: FieldProblem[],
): ErrorBody {
  return { error: STATUS_CODES[statusCode] ?? 'Error', code, message, ...(fields ? { fields } : {}) };
}

/** Fastify's messages for its own client errors, made to say what to do. */
function clientErrorMessage(err: FastifyError, bodyLimit: number): string {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `the request body is larger than ${bodyLimit} bytes: send less (split a large document, or pass data by reference)`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `${err.message}: send the body as JSON, with \`Content-Type: application/json\``;
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'the body is empty but `Content-Type` says JSON: send a JSON object, or no Content-Type';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return `${err.message}: send a valid JSON body`;
    default:
      return err.message;
  }
}

/**
 * Errors Fastify meets before it has a route (Fastify's `frameworkErrors`): a malformed URL, a path
 * parameter longer than `maxParamLength`. Input that fails validation, so a 400 in the usual shape.
 */
export function frameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const message =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'a path parameter is too long: see the route in the API description (/docs) for its limit'
      : 'the URL is not valid: percent-encode path parameters (RFC 3986)';
  void reply.code(400).send(errorBody(400, 'INVALID_INPUT', message, [{ field: 'path', message }]));
}

/**
 * What Node's HTTP parser refuses before Fastify sees a request (Fastify's `clientErrorHandler`): headers
 * over the limit (431), a request not sent in time (408), anything else malformed (400). In the usual
 * error shape; the connection closes, as Node would close it.
 */
export const clientErrorHandler = (headerBytes: number) => (err: NodeJS.ErrnoException, socket: Socket) => {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [statusCode, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          `the request headers are larger than ${headerBytes} bytes together: send fewer or shorter headers`,
        ]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'the request was not received in time: send it again']
        : [400, 'the request is not valid HTTP/1.1'];
  const body = JSON.stringify(errorBody(statusCode, codeForStatus(statusCode), message));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
};

/**
 * Whether the client may read the error's own message. A client error's is written for the caller; so is
 * that of a server-side error given a status of its own (502, 503, 409). Any other failure is a 500 whose
 * detail stays in the server's log: no internal message, address or stack trace leaves the server.
 */
const toldToClient = (err: PrismError) => err.clientError || err.httpStatus !== undefined;

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((raw: FastifyError | Error, request, reply) => {
    // Input that the task's own validation refused (its plan rules, say) names fields of the body.
    const err =
      raw instanceof ValidationError && !(raw instanceof RequestValidationError)
        ? new RequestValidationError(raw.under('body').problems, raw.code)
        : raw;
    // A service the request needs could not be reached (restarting, say): the request itself was fine,
    // and the same request a moment later will do. 503 with Retry-After says so (the SDK retries it); the
    // message names the component, never where it is.
    const unavailable =
      err instanceof ServiceUnavailableError ||
      (!(err instanceof PrismError && toldToClient(err)) && transientReason(err) !== undefined);
    if (unavailable) {
      const component =
        err instanceof ServiceUnavailableError ? err.component : 'a service this request needs';
      request.log.warn({ err, requestId: request.id }, 'a service is unavailable');
      return reply
        .code(503)
        .header('retry-after', '2')
        .header('x-request-id', request.id)
        .send({
          ...errorBody(
            503,
            'SERVICE_UNAVAILABLE',
            `${component} is unavailable at the moment (request ${request.id}): retry in a few seconds; ` +
              'GET /readyz tells which service is down.',
          ),
          requestId: request.id,
        });
    }
    if (err instanceof PrismError && toldToClient(err)) {
      const statusCode = httpStatusOf(err);
      if (statusCode === 401) reply.header('www-authenticate', 'Bearer realm="prism"');
      const fields = err instanceof ValidationError ? err.problems : undefined;
      return reply.code(statusCode).send(errorBody(statusCode, err.code, err.message, fields));
    }
    const statusCode = (err as FastifyError).statusCode;
    // Fastify's own client errors (malformed JSON, wrong content type, body too large).
    if (!(err instanceof PrismError) && statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
      const message = clientErrorMessage(err as FastifyError, app.initialConfig.bodyLimit ?? 0);
      return reply.code(statusCode).send(errorBody(statusCode, codeForStatus(statusCode), message));
    }
    request.log.error({ err, requestId: request.id }, 'request failed');
    return reply
      .code(500)
      .header('x-request-id', request.id)
      .send({
        ...errorBody(
          500,
          err instanceof PrismError ? err.code : 'INTERNAL',
          `the server failed on request ${request.id}; its log holds the reason under this id. ` +
            'Check that the services are up (GET /readyz) and retry.',
        ),
        requestId: request.id,
      });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(
        errorBody(
          404,
          'ROUTE_NOT_FOUND',
          `no route ${request.method} ${request.url}: see the API description at /docs`,
        ),
      ),
  );
}
