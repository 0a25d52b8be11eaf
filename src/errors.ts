// The product's error vocabulary: one base class (PrismError) with a stable code, and the one table that maps
// each code to what every edge does with it — the API's HTTP status, the CLI's exit code, and whether a
// Temporal activity that fails with it is retried. Pure (no Node built-ins, no clients): the SDK, the edges
// and the activities all import it. docs/errors.md lists the codes; test/unit/errors.test.ts keeps the two
// in step.

export interface ErrorKind {
  /** The caller's mistake: the same call fails the same way again (HTTP 4xx, exit code 2, not retried). */
  clientError: boolean;
  /** The HTTP status when it is not the default (400 for a client error, 500 otherwise). */
  httpStatus?: number;
  /** What it means, for docs/errors.md. */
  meaning: string;
}

/** Every code, what it means, and how the edges treat it. Codes are stable: clients match on them. */
export const errorCodes = {
  // Input and access
  INVALID_INPUT: { clientError: true, meaning: 'input failed its schema; `fields` names each bad field' },
  INVALID_TASK_REQUEST: {
    clientError: true,
    meaning: 'a task request a client started without validating it',
  },
  INVALID_PARAMETERS: { clientError: true, meaning: "a command's parameters are not what its agent takes" },
  INVALID_ALERT: { clientError: true, meaning: 'an alert that does not match the alert schema' },
  INVALID_ENVELOPE: { clientError: true, meaning: 'a Kafka message that is not a valid envelope' },
  INVALID_MESSAGE: {
    clientError: true,
    meaning: 'a Kafka message its consumer can never handle (dead-lettered)',
  },
  UNAUTHENTICATED: {
    clientError: true,
    httpStatus: 401,
    meaning: 'no API key, or an unknown, revoked or expired one',
  },
  FORBIDDEN: { clientError: true, httpStatus: 403, meaning: "the key's roles lack the permission" },
  ROUTE_NOT_FOUND: { clientError: true, httpStatus: 404, meaning: 'no such route' },
  REQUEST_TIMEOUT: { clientError: true, httpStatus: 408, meaning: 'the request was not received in time' },
  BODY_TOO_LARGE: { clientError: true, httpStatus: 413, meaning: 'the request body is over the limit' },
  UNSUPPORTED_MEDIA_TYPE: { clientError: true, httpStatus: 415, meaning: 'a body that is not JSON' },
  RATE_LIMITED: {
    clientError: true,
    httpStatus: 429,
    meaning: 'over the rate limit: wait Retry-After seconds',
  },
  HEADERS_TOO_LARGE: {
    clientError: true,
    httpStatus: 431,
    meaning: 'the request headers are over the limit',
  },
  // Things the caller named
  NOT_FOUND: {
    clientError: true,
    httpStatus: 404,
    meaning: 'an unknown id (when no more specific code says which)',
  },
  CONFLICT: {
    clientError: true,
    httpStatus: 409,
    meaning: 'the state does not allow it (when no more specific code says why)',
  },
  TASK_NOT_FOUND: {
    clientError: true,
    httpStatus: 404,
    meaning: 'no task with this task id, request id or workflow id',
  },
  TASK_NOT_RUNNING: { clientError: true, httpStatus: 409, meaning: 'only a running task can be cancelled' },
  TASK_NOT_RETRYABLE: {
    clientError: true,
    httpStatus: 409,
    meaning: 'only a task whose last run did not complete, and that is not running, can be retried',
  },
  STEP_NOT_WAITING: {
    clientError: true,
    httpStatus: 409,
    meaning: 'an approval decision for a step that is not waiting for one',
  },
  TASK_NOT_RECORDED: {
    clientError: false,
    httpStatus: 409,
    meaning: 'the task is starting and has no record yet: retry in a moment',
  },
  INVALID_TRANSITION: {
    clientError: true,
    httpStatus: 409,
    meaning: 'a task status change its lifecycle does not allow',
  },
  AGENT_NOT_REGISTERED: { clientError: true, httpStatus: 404, meaning: 'the agent is not registered' },
  ALERT_NOT_FOUND: { clientError: true, httpStatus: 404, meaning: 'no alert with this fingerprint' },
  ALERT_NOT_FIRING: { clientError: true, httpStatus: 409, meaning: 'the alert is resolved' },
  BACKUP_KEY_MISSING: {
    clientError: true,
    httpStatus: 404,
    meaning: 'a backup file (or manifest) that is not in the destination',
  },
  BACKUP_REJECTED: {
    clientError: true,
    httpStatus: 409,
    meaning: 'a backup that must not be restored (files missing or changed); nothing was changed',
  },
  UNKNOWN_SERVICE: {
    clientError: true,
    httpStatus: 404,
    meaning: 'a service or process name the local stack does not have; it lists the known ones',
  },
  CONFIRMATION_REQUIRED: {
    clientError: true,
    httpStatus: 409,
    meaning: 'a destructive command (data removal) that was not confirmed; nothing was changed',
  },
  STALE_FENCE: {
    clientError: true,
    httpStatus: 409,
    meaning: 'an action under a lock a newer one took over; the newer stands',
  },
  // Contention: not the caller's mistake, and the same call later may succeed
  MEMORY_CONFLICT: {
    clientError: false,
    httpStatus: 409,
    meaning: 'shared memory: too many conflicting writers; retry later',
  },
  LOCK_BUSY: { clientError: false, httpStatus: 409, meaning: 'a lock held by another owner; retry later' },
  LOCK_LOST: {
    clientError: false,
    meaning: 'a lock expired or was taken over before the work under it finished',
  },
  LOCK_NOT_REPLICATED: {
    clientError: false,
    httpStatus: 503,
    meaning: 'a lock no Redis replica confirmed; retry',
  },
  // The services
  SERVICE_UNAVAILABLE: {
    clientError: false,
    httpStatus: 503,
    meaning: 'a service could not be reached in time; it names which',
  },
  NOT_CONFIGURED: {
    clientError: false,
    httpStatus: 503,
    meaning: 'a feature whose setting is missing; it names the variable',
  },
  STORE_REFUSED: {
    clientError: false,
    httpStatus: 502,
    meaning: 'a store refused what was sent (Weaviate an object)',
  },
  INFLUX_WRITE_FAILED: { clientError: false, meaning: 'InfluxDB refused or did not take points' },
  INFLUX_BUFFER_FULL: {
    clientError: false,
    meaning: "the InfluxDB writer's buffer is full; the point was not taken",
  },
  // Operations
  TOOL_FAILED: {
    clientError: false,
    meaning: 'an external tool (pg_dump, redis-cli, ...) exited with an error',
  },
  RESTORE_FAILED: {
    clientError: false,
    meaning: 'a restore failed at one step of one store; it names which',
  },
  TASK_WAIT_TIMEOUT: {
    clientError: false,
    meaning: 'the SDK stopped waiting for a task; the task keeps running',
  },
  SCHEMA_CONFLICT: {
    clientError: false,
    httpStatus: 409,
    meaning: 'Weaviate holds a collection unlike the one PRISM needs; provisioning never changes it',
  },
  UNEMBEDDABLE_TEXT: {
    clientError: true,
    meaning: 'a text with no word the built-in embedder knows: supply its vector, or search by bm25',
  },
  NODE_LOST: {
    clientError: false,
    httpStatus: 503,
    meaning: "a cluster's node stopped answering a call (the client moves to another)",
  },
  STACK_FAILED: {
    clientError: false,
    meaning: 'a service of the local stack did not start or stop; it names which and why',
  },
  INSTALL_FAILED: {
    clientError: false,
    meaning: "the local stack's installer could not build or install a service; it names the log",
  },
  INTERNAL: {
    clientError: false,
    meaning: 'anything else: a bug or an unexpected failure (the log holds the reason)',
  },
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof errorCodes;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(errorCodes, code);
}

export interface PrismErrorOptions {
  /** What a program needs to act on it (field problems, ids); carried into Temporal failures' details. */
  details?: unknown;
  cause?: unknown;
  /** Overrides of the code's defaults, for an error whose code comes from elsewhere (an API answer). */
  clientError?: boolean;
  httpStatus?: number;
}

/** Every error of the product: a stable `code`, and whether it is the caller's mistake (`clientError`). */
export class PrismError extends Error {
  readonly code: ErrorCode;
  readonly clientError: boolean;
  /** The HTTP status of this error when its code's default does not fit (see httpStatusOf). */
  readonly httpStatus: number | undefined;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: PrismErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PrismError';
    this.code = code;
    const kind: ErrorKind = errorCodes[code];
    this.clientError = options.clientError ?? kind.clientError;
    this.httpStatus = options.httpStatus ?? kind.httpStatus;
    this.details = options.details;
  }
}

/** The code a status stands for, when nothing more specific is known (Fastify's own errors, an API answer). */
export function codeForStatus(status: number): ErrorCode {
  const byStatus: Record<number, ErrorCode> = {
    400: 'INVALID_INPUT',
    401: 'UNAUTHENTICATED',
    403: 'FORBIDDEN',
    404: 'NOT_FOUND',
    408: 'REQUEST_TIMEOUT',
    409: 'CONFLICT',
    413: 'BODY_TOO_LARGE',
    415: 'UNSUPPORTED_MEDIA_TYPE',
    429: 'RATE_LIMITED',
    431: 'HEADERS_TOO_LARGE',
    503: 'SERVICE_UNAVAILABLE',
  };
  return byStatus[status] ?? (status >= 400 && status < 500 ? 'INVALID_INPUT' : 'INTERNAL');
}

// ---- The mappings, once for every edge -------------------------------------------------------------------

/** The HTTP status of an error: its own or its code's, else 400 for the caller's mistake and 500 for the rest. */
export function httpStatusOf(err: unknown): number {
  if (!(err instanceof PrismError)) return 500;
  return err.httpStatus ?? (err.clientError ? 400 : 500);
}

/** The CLI's exit code: 2 when the user can fix the command (a client error), 1 for every other failure. */
export function exitCodeOf(err: unknown): 1 | 2 {
  return err instanceof PrismError && err.clientError ? 2 : 1;
}

/** The options of the Temporal ApplicationFailure an activity fails with (activities/failures.ts creates it). */
export interface FailureOptions {
  type: string;
  message: string;
  nonRetryable: boolean;
  details?: unknown[];
  cause?: Error;
}

/**
 * How a PrismError leaves an activity: its code as the failure's type (workflows and clients match on it),
 * not retried when it is the caller's mistake (the same input fails again), its details kept.
 */
export function failureOptionsOf(err: PrismError): FailureOptions {
  return {
    type: err.code,
    message: err.message,
    nonRetryable: err.clientError,
    ...(err.details === undefined ? {} : { details: [err.details] }),
    ...(err.cause instanceof Error ? { cause: err.cause } : {}),
  };
}
