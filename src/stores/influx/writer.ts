// A batching InfluxDB writer that never drops a point silently.
//
// Points are buffered and sent in batches (when a batch is full, every flush interval, on flush() and on
// close()). While InfluxDB is unreachable or failing (network error, timeout, 429, 5xx) the points stay
// buffered, in order, and are retried with exponential backoff; every failed attempt is reported to
// onError. The buffer is bounded: when it is full, write() throws InfluxBufferFullError and the caller keeps
// the point. A batch that InfluxDB refuses for good (400 bad data, 401/403 token, 404 bucket) cannot succeed
// by retrying: it is removed, counted in `failed` and handed to onError with its lines.
// close() tries to send everything until its timeout, then rejects with the unwritten lines.
import { PrismError } from '../../errors.ts';
import type { Point } from '@influxdata/influxdb-client';
import { influxOrg, type InfluxEnv } from '../../clients/influx.ts';

export type InfluxWriterOptions = {
  url: string;
  token: string;
  org: string;
  bucket: string;
  /** Points per request. Default 500. */
  batchSize?: number;
  /** Send buffered points at least this often. Default 1000 ms. */
  flushIntervalMs?: number;
  /** At most this many points wait in memory; write() throws beyond it. Default 100 000. */
  maxBufferedPoints?: number;
  /** Backoff between attempts while InfluxDB fails: doubling from minDelayMs up to maxDelayMs. */
  retry?: { minDelayMs?: number; maxDelayMs?: number };
  requestTimeoutMs?: number;
  onError?: (error: InfluxWriteError) => void;
};

export type InfluxWriterStats = {
  /** Points InfluxDB acknowledged. */
  written: number;
  /** Points in the buffer, waiting or being retried. */
  pending: number;
  /** Points InfluxDB refused for good (see onError for which and why). */
  failed: number;
  /** Points write() refused because the buffer was full. */
  rejected: number;
  /** Attempts that failed and will be retried. */
  failedAttempts: number;
};

export class InfluxWriteError extends PrismError {
  constructor(
    message: string,
    /** True: the points stay buffered and are retried. False: they were given up (see `lines`). */
    readonly willRetry: boolean,
    /** The line protocol of the points concerned. */
    readonly lines: string[],
    readonly status?: number,
  ) {
    super('INFLUX_WRITE_FAILED', message);
    this.name = 'InfluxWriteError';
  }
}

export class InfluxBufferFullError extends PrismError {
  constructor(max: number, url: string) {
    super(
      'INFLUX_BUFFER_FULL',
      `InfluxDB writer buffer is full (${max} points waiting for ${url}): InfluxDB has been failing for a ` +
        'while (see the earlier errors); this point was not accepted, keep or retry it',
    );
    this.name = 'InfluxBufferFullError';
  }
}

const retryableStatus = (status: number) => status === 429 || status === 408 || status >= 500;

export class InfluxWriter {
  private readonly buffer: string[] = [];
  private readonly counts = { written: 0, failed: 0, rejected: 0, failedAttempts: 0 };
  private readonly batchSize: number;
  private readonly maxBuffered: number;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly endpoint: string;
  private readonly interval: NodeJS.Timeout;
  private sending: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private consecutiveFailures = 0;
  private closed = false;

  constructor(private readonly options: InfluxWriterOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.maxBuffered = options.maxBufferedPoints ?? 100_000;
    this.minDelayMs = options.retry?.minDelayMs ?? 500;
    this.maxDelayMs = options.retry?.maxDelayMs ?? 30_000;
    const query = new URLSearchParams({ org: options.org, bucket: options.bucket, precision: 'ns' });
    this.endpoint = `${options.url.replace(/\/$/, '')}/api/v2/write?${query}`;
    this.interval = setInterval(() => this.kick(), options.flushIntervalMs ?? 1000);
    // Timers must not keep a process alive: shutting down is close()'s job.
    this.interval.unref();
  }

  /** Buffers points. Throws InfluxBufferFullError (accepting none of them) when they do not fit. */
  write(...points: (Point | string)[]): void {
    if (this.closed) throw new Error('InfluxDB writer is closed: create a new one');
    const lines = points.map((p) => {
      const line = typeof p === 'string' ? p : p.toLineProtocol();
      if (!line) throw new Error('an InfluxDB point needs at least one field');
      return line;
    });
    if (this.buffer.length + lines.length > this.maxBuffered) {
      this.counts.rejected += lines.length;
      throw new InfluxBufferFullError(this.maxBuffered, this.options.url);
    }
    this.buffer.push(...lines);
    if (this.buffer.length >= this.batchSize) this.kick();
  }

  stats(): InfluxWriterStats {
    return { ...this.counts, pending: this.buffer.length };
  }

  /** Sends everything buffered now. Rejects if InfluxDB fails; the points then stay buffered and retried. */
  async flush(): Promise<void> {
    this.clearRetry();
    try {
      await this.run();
    } catch (err) {
      this.scheduleRetry();
      throw err;
    }
  }

  /**
   * Stops accepting points and sends the buffer, retrying until `timeoutMs` (default 10 s). Rejects with an
   * InfluxWriteError holding the unwritten lines if InfluxDB stays unreachable.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.closed = true;
    clearInterval(this.interval);
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      this.clearRetry();
      try {
        await this.run();
        return;
      } catch (err) {
        const wait = Math.min(this.delay(), deadline - Date.now());
        if (wait <= 0) {
          throw new InfluxWriteError(
            `InfluxDB writer closed with ${this.buffer.length} points unwritten: ${(err as Error).message}`,
            false,
            [...this.buffer],
          );
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  private kick(): void {
    if (this.retryTimer || this.buffer.length === 0) return;
    this.run().catch(() => this.scheduleRetry());
  }

  // One sender at a time, so batches go out in order and each point is sent by exactly one request.
  private run(): Promise<void> {
    this.sending ??= this.sendAll().finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  private async sendAll(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, this.batchSize);
      const error = await this.post(batch);
      if (error?.willRetry) {
        this.counts.failedAttempts++;
        this.consecutiveFailures++;
        this.options.onError?.(error);
        throw error;
      }
      // New points are only ever appended, so the batch is still at the head of the buffer.
      this.buffer.splice(0, batch.length);
      if (error) {
        this.counts.failed += batch.length;
        this.options.onError?.(error);
      } else {
        this.counts.written += batch.length;
      }
      this.consecutiveFailures = 0;
    }
  }

  private async post(lines: string[]): Promise<InfluxWriteError | undefined> {
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        headers: {
          Authorization: `Token ${this.options.token}`,
          'Content-Type': 'text/plain; charset=utf-8',
        },
        body: lines.join('\n'),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 10_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      return new InfluxWriteError(
        `InfluxDB at ${this.options.url} is unreachable (${cause}): ${this.buffer.length} points kept, retrying`,
        true,
        lines,
      );
    }
    if (response.ok) return undefined;
    const body = (await response.text()).slice(0, 300);
    const retry = retryableStatus(response.status);
    return new InfluxWriteError(
      retry
        ? `InfluxDB answered ${response.status} (${body}): ${this.buffer.length} points kept, retrying`
        : `InfluxDB refused ${lines.length} points with ${response.status} (${body}): they are not written; ` +
            'check the bucket, INFLUX_USER/INFLUX_PASSWORD and the points',
      retry,
      lines,
      response.status,
    );
  }

  private delay(): number {
    const exponential = this.minDelayMs * 2 ** Math.max(0, this.consecutiveFailures - 1);
    // Jitter spreads the retries of many workers after an outage.
    return Math.min(this.maxDelayMs, exponential) * (0.5 + Math.random() / 2);
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, this.delay());
    this.retryTimer.unref();
  }

  private clearRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}

/** A writer to the configured InfluxDB bucket. Close it on shutdown, or buffered points are lost. */
export function createInfluxWriter(
  env: InfluxEnv,
  options: Omit<InfluxWriterOptions, 'url' | 'token' | 'org' | 'bucket'> & { bucket?: string } = {},
): InfluxWriter {
  return new InfluxWriter({
    url: env.INFLUX_URL,
    token: env.INFLUX_TOKEN,
    org: influxOrg,
    ...options,
    bucket: options.bucket ?? env.INFLUX_BUCKET,
  });
}
