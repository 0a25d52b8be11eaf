/** An error answer of the PRISM API: its HTTP status, the server's message, and the failing fields (400). */
export class PrismApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fields: { field: string; message: string }[] = [],
    /** The method and path of the failed request, e.g. `POST /tasks`. */
    readonly request = '',
    options: { cause?: unknown; retryAfterMs?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'PrismApiError';
    this.retryAfterMs = options.retryAfterMs;
  }

  /** What the server's `Retry-After` asked for (503), in milliseconds. */
  readonly retryAfterMs: number | undefined;
}

/** waitForTask gave up before the task ended. */
export class PrismTimeoutError extends Error {
  constructor(
    readonly id: string,
    readonly timeoutMs: number,
    readonly lastStatus: string | null,
  ) {
    super(
      `task ${id} did not end within ${timeoutMs} ms (last status: ${lastStatus ?? 'not found yet'}); ` +
        'it keeps running: wait again, or cancel it',
    );
    this.name = 'PrismTimeoutError';
  }
}
