// The TypeScript client of the PRISM HTTP API. Uses the global fetch (Node 18+, browsers, Deno, Bun).
import { PrismApiError, PrismTimeoutError } from './errors.ts';
import { sseFrames } from './events.ts';
import type {
  AgentInfo,
  DecidedStep,
  FeedbackBody,
  IngestedKnowledge,
  IngestKnowledgeBody,
  KnowledgeResults,
  ListAgentsQuery,
  Memories,
  RecallQuery,
  RecordedFeedback,
  RegisterAgentBody,
  Remembered,
  RememberBody,
  RetriedTask,
  SearchKnowledgeQuery,
  SubmitTaskBody,
  SubmittedTask,
  TaskDetails,
  TaskPage,
  TaskSummary,
  TaskEvent,
} from './types.ts';

export interface PrismClientOptions {
  /** Where the API listens, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** An API key (`prism apikey create`). */
  apiKey: string;
  /** Another fetch implementation (tests, proxies); default the global fetch. */
  fetch?: typeof fetch;
  /**
   * How long a request keeps being retried while the API cannot be reached (restarting), answers 502, 503
   * or 504 (a service it needs is restarting), or 429 (this key's rate limit: after its Retry-After).
   * Default 60000; 0 turns retrying off. A request that may have reached the server is retried only where
   * repeating it changes nothing (reads, and task submissions, which carry a request id); a refused
   * connection or a 429 never reached a handler, so any request is.
   */
  retryForMs?: number;
}

export interface WatchTaskOptions {
  /** Only events after this id: the id of the last event seen, to resume (SSE `Last-Event-ID`). */
  lastEventId?: string;
  /** Follow this run of the task (a retried task has several); default its latest. */
  runId?: string;
  /** Stops watching: the iterator ends by throwing the signal's reason. */
  signal?: AbortSignal;
}

/** Filters of listTasks (GET /tasks): each one narrows; several values of one filter match any of them. */
export interface ListTasksOptions {
  status?: string | readonly string[];
  /** Tasks with a step of any of these agent types. */
  agentType?: string | readonly string[];
  priority?: string | readonly string[];
  userId?: string;
  /** Created at or after. */
  createdFrom?: string | Date;
  /** Created before. */
  createdTo?: string | Date;
  /** Text in the task's query (case-insensitive, at least 3 characters). */
  q?: string;
  /** Tasks per page (default 50, at most 200). */
  limit?: number;
  /** A page's `nextCursor`: the page after it. */
  cursor?: string;
}

export interface WaitOptions {
  /** Give up after this long (the task keeps running). Default 5 minutes. */
  timeoutMs?: number;
  /** Time between polls. Default 1000. */
  pollMs?: number;
}

const endedStatuses = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

// A connection that was refused or never made: the request did not reach the server.
const notSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);
// A connection lost on the way: the request may have reached the server.
const lostCodes = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

function networkCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Query = Record<string, string | number | undefined>;

export class PrismClient {
  private readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly fetch: typeof fetch;
  private readonly retryForMs: number;

  constructor(options: PrismClientOptions) {
    if (!options.apiKey)
      throw new Error('PrismClient needs an apiKey (create one with `prism apikey create`)');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.retryForMs = options.retryForMs ?? 60_000;
  }

  /**
   * Submits a task; it starts shortly after (the same requestId never starts two tasks). Without a
   * requestId, one is made here, so that a submission retried while the API restarts is still one task.
   */
  submitTask(request: SubmitTaskBody): Promise<SubmittedTask> {
    const body = { ...request, requestId: request.requestId ?? globalThis.crypto.randomUUID() };
    return this.request('POST', '/tasks', { body, idempotent: true });
  }

  /** A task by task id, request id or workflow id. 404 (PrismApiError) until the task has started. */
  getTask(id: string): Promise<TaskDetails> {
    return this.request('GET', `/tasks/${encodeURIComponent(id)}`);
  }

  /** Polls the task until it is COMPLETED, FAILED or CANCELLED; a 404 right after submitting is waited out. */
  async waitForTask(id: string, options: WaitOptions = {}): Promise<TaskDetails> {
    const timeoutMs = options.timeoutMs ?? 300_000;
    const pollMs = options.pollMs ?? 1_000;
    const deadline = Date.now() + timeoutMs;
    let lastStatus: string | null = null;
    for (;;) {
      try {
        const task = await this.getTask(id);
        lastStatus = task.status;
        if (endedStatuses.has(task.status)) return task;
      } catch (err) {
        if (!(err instanceof PrismApiError && err.status === 404)) throw err;
      }
      if (Date.now() + pollMs > deadline) throw new PrismTimeoutError(id, timeoutMs, lastStatus);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /**
   * The task's events as they happen (GET /tasks/:id/events): `for await (const event of
   * client.watchTask(id)) …`. Ends after `task.ended`. A lost connection is resumed from the last event
   * (Last-Event-ID), on the same run, for up to `retryForMs` without an event; an ended task resumed after
   * its last event yields nothing. An unknown task throws PrismApiError 404.
   */
  async *watchTask(id: string, options: WatchTaskOptions = {}): AsyncGenerator<TaskEvent> {
    let lastEventId = options.lastEventId;
    let runId = options.runId;
    let reconnectMs = 3_000;
    let deadline = Date.now() + this.retryForMs;
    const path = `/tasks/${encodeURIComponent(id)}/events`;
    for (;;) {
      const url = new URL(`${this.baseUrl}${path}`);
      if (runId) url.searchParams.set('runId', runId);
      let lost: unknown;
      try {
        const response = await this.fetch(url, {
          headers: {
            authorization: `Bearer ${this.apiKey}`,
            accept: 'text/event-stream',
            ...(lastEventId !== undefined ? { 'last-event-id': lastEventId } : {}),
          },
          ...(options.signal ? { signal: options.signal } : {}),
        });
        if (response.status === 204) return;
        if (!response.ok || !response.body) {
          const text = await response.text();
          const error = errorAnswer(response, text, `GET ${path}`);
          if (![429, 502, 503, 504].includes(response.status) || Date.now() >= deadline) throw error;
          lost = error;
        } else {
          for await (const frame of sseFrames(response.body)) {
            if (frame.retry !== undefined) reconnectMs = frame.retry;
            if (frame.event === 'stream.error') {
              lost = new PrismApiError(503, JSON.parse(frame.data).message, [], `GET ${path}`);
              break;
            }
            if (!frame.data || !frame.event) continue;
            const event = JSON.parse(frame.data) as TaskEvent;
            lastEventId = frame.id ?? lastEventId;
            runId = event.runId;
            deadline = Date.now() + this.retryForMs;
            yield event;
            if (event.type === 'task.ended') return;
          }
        }
      } catch (err) {
        if (options.signal?.aborted || (err instanceof PrismApiError && err !== lost)) throw err;
        lost = err;
      }
      // The stream broke off before the task ended (the API restarting, a proxy's timeout): resume.
      if (Date.now() >= deadline) {
        if (lost instanceof PrismApiError) throw lost;
        throw new PrismApiError(
          0,
          `the event stream of task ${id} broke off and could not be resumed within ${this.retryForMs} ms` +
            (lost ? ` (${(lost as Error).message})` : ''),
          [],
          `GET ${path}`,
          { cause: lost },
        );
      }
      await sleep(Math.min(reconnectMs, Math.max(0, deadline - Date.now())));
    }
  }

  /** One page of tasks, newest first (GET /tasks); pass its `nextCursor` as `cursor` for the next one. */
  listTasks(options: ListTasksOptions = {}): Promise<TaskPage> {
    const query: Query = {};
    for (const [name, value] of Object.entries(options) as [string, unknown][]) {
      if (value === undefined) continue;
      query[name] = Array.isArray(value)
        ? value.join(',')
        : value instanceof Date
          ? value.toISOString()
          : (value as string | number);
    }
    return this.request('GET', '/tasks', { query });
  }

  /** Every task under these filters, newest first: `for await (const t of client.tasks({ status: 'FAILED' }))`. */
  async *tasks(options: Omit<ListTasksOptions, 'cursor'> = {}): AsyncGenerator<TaskSummary> {
    let cursor: string | undefined;
    do {
      const page = await this.listTasks({ ...options, ...(cursor ? { cursor } : {}) });
      yield* page.tasks;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  cancelTask(id: string): Promise<{ taskId: string; workflowId: string; cancelRequested: true }> {
    return this.request('POST', `/tasks/${encodeURIComponent(id)}/cancel`);
  }

  sendFeedback(id: string, feedback: FeedbackBody): Promise<RecordedFeedback> {
    return this.request('POST', `/tasks/${encodeURIComponent(id)}/feedback`, { body: feedback });
  }

  /**
   * Runs a task whose last run did not complete again from a step (default: its first failed step), reusing
   * the answers of the steps that succeeded before it. 409 (TASK_NOT_RETRYABLE) for a COMPLETED or running task.
   */
  retryTask(id: string, options: { fromStep?: string; reason?: string } = {}): Promise<RetriedTask> {
    return this.request('POST', `/tasks/${encodeURIComponent(id)}/retry`, { body: options });
  }

  /** Approves a step that waits for approval; 409 (STEP_NOT_WAITING) when it does not wait. */
  approveStep(id: string, stepKey: string, reason: string): Promise<DecidedStep> {
    return this.decideStep(id, stepKey, 'approve', reason);
  }

  /** Rejects a step that waits for approval: the task fails, or the step is skipped, as its plan says. */
  rejectStep(id: string, stepKey: string, reason: string): Promise<DecidedStep> {
    return this.decideStep(id, stepKey, 'reject', reason);
  }

  private decideStep(
    id: string,
    stepKey: string,
    decision: 'approve' | 'reject',
    reason: string,
  ): Promise<DecidedStep> {
    const path = `/tasks/${encodeURIComponent(id)}/steps/${encodeURIComponent(stepKey)}/${decision}`;
    return this.request('POST', path, { body: { reason } });
  }

  registerAgent(agent: RegisterAgentBody): Promise<AgentInfo> {
    return this.request('POST', '/agents', { body: agent });
  }

  async listAgents(filter: ListAgentsQuery = {}): Promise<AgentInfo[]> {
    const { agents } = await this.request<{ agents: AgentInfo[] }>('GET', '/agents', {
      query: { ...filter },
    });
    return agents;
  }

  ingestKnowledge(document: IngestKnowledgeBody): Promise<IngestedKnowledge> {
    return this.request('POST', '/knowledge', { body: document });
  }

  /** `searchKnowledge('spindle overheating', { mode: 'bm25', limit: 5 })`; hybrid by default. */
  searchKnowledge(q: string, options: Omit<SearchKnowledgeQuery, 'q'> = {}): Promise<KnowledgeResults> {
    return this.request('GET', '/knowledge/search', { query: { q, ...options } });
  }

  /** Adds to an agent's own memory (the agent must be registered). */
  remember(agentId: string, memory: RememberBody): Promise<Remembered> {
    return this.request('POST', `/agents/${encodeURIComponent(agentId)}/memory`, { body: memory });
  }

  /** What an agent remembers about `q`; without `q`, its latest memories. */
  recall(agentId: string, q?: string, options: Omit<RecallQuery, 'q'> = {}): Promise<Memories> {
    return this.request('GET', `/agents/${encodeURIComponent(agentId)}/memory`, { query: { q, ...options } });
  }

  private async request<T>(
    method: string,
    path: string,
    options: { body?: unknown; query?: Query; idempotent?: boolean } = {},
  ): Promise<T> {
    const idempotent = options.idempotent ?? method === 'GET';
    const deadline = Date.now() + this.retryForMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.requestOnce<T>(method, path, options);
      } catch (err) {
        if (!(err instanceof PrismApiError) || Date.now() >= deadline) throw err;
        const code = networkCode(err.cause);
        const retry =
          err.status === 0
            ? code !== undefined && (notSentCodes.has(code) || (idempotent && lostCodes.has(code)))
            : err.status === 429 || (idempotent && [502, 503, 504].includes(err.status));
        if (!retry) throw err;
        const delayMs = Math.min(2_000, 100 * 2 ** (attempt - 1), Math.max(0, deadline - Date.now()));
        await sleep(Math.max(err.retryAfterMs ?? 0, delayMs));
      }
    }
  }

  private async requestOnce<T>(
    method: string,
    path: string,
    options: { body?: unknown; query?: Query } = {},
  ): Promise<T> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.apiKey}`,
      accept: 'application/json',
    };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const what = `${method} ${path}`;
    let response: Response;
    try {
      response = await this.fetch(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause;
      throw new PrismApiError(
        0,
        `cannot reach the PRISM API at ${this.baseUrl} (${(err as Error).message}${cause?.message ? `: ${cause.message}` : ''})`,
        [],
        what,
        { cause: err },
      );
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!response.ok) throw errorAnswer(response, text, what);
    return body as T;
  }
}

/** The PrismApiError of an error answer: the server's status, code, message and fields. */
function errorAnswer(response: Response, text: string, what: string): PrismApiError {
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const error = (body ?? {}) as {
    code?: unknown;
    message?: string;
    fields?: { field: string; message: string }[];
  };
  const retryAfterS = Number(response.headers.get('retry-after'));
  return new PrismApiError(
    response.status,
    error.message ?? `${what} answered ${response.status} ${response.statusText}`,
    error.fields ?? [],
    what,
    {
      code: error.code,
      ...(Number.isFinite(retryAfterS) && retryAfterS > 0
        ? { retryAfterMs: Math.min(retryAfterS, 10) * 1000 }
        : {}),
    },
  );
}
