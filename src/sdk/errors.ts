// The SDK's errors, in the product's vocabulary (src/errors.ts): an API answer keeps the server's code.
import { codeForStatus, isErrorCode, PrismError } from '../errors.ts';

/**
 * An error answer of the PRISM API: its HTTP status, the server's code (`TASK_NOT_FOUND`; docs/errors.md) and
 * message, and the failing fields (400). An API that could not be reached is status 0, SERVICE_UNAVAILABLE.
 */
export class PrismApiError extends PrismError {
  constructor(
    readonly status: number,
    message: string,
    readonly fields: { field: string; message: string }[] = [],
    /** The method and path of the failed request, e.g. `POST /tasks`. */
    readonly request = '',
    options: { cause?: unknown; retryAfterMs?: number; code?: unknown } = {},
  ) {
    super(
      isErrorCode(options.code) ? options.code : status === 0 ? 'SERVICE_UNAVAILABLE' : codeForStatus(status),
      message,
      {
        cause: options.cause,
        clientError: status >= 400 && status < 500,
        ...(status === 0 ? {} : { httpStatus: status }),
        ...(fields.length > 0 ? { details: fields } : {}),
      },
    );
    this.name = 'PrismApiError';
    this.retryAfterMs = options.retryAfterMs;
  }

  /** What the server's `Retry-After` asked for (503), in milliseconds. */
  readonly retryAfterMs: number | undefined;
}

/** waitForTask gave up before the task ended. */
export class PrismTimeoutError extends PrismError {
  constructor(
    readonly id: string,
    readonly timeoutMs: number,
    readonly lastStatus: string | null,
  ) {
    super(
      'TASK_WAIT_TIMEOUT',
      `task ${id} did not end within ${timeoutMs} ms (last status: ${lastStatus ?? 'not found yet'}); ` +
        'it keeps running: wait again, or cancel it',
    );
    this.name = 'PrismTimeoutError';
  }
}
