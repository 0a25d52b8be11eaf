// The TypeScript client of the PRISM HTTP API. Uses the global fetch (Node 18+, browsers, Deno, Bun).
import { PrismApiError, PrismTimeoutError } from './errors.ts';
import type {
  AgentInfo,
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
  SearchKnowledgeQuery,
  SubmitTaskBody,
  SubmittedTask,
  TaskDetails,
} from './types.ts';

export interface PrismClientOptions {
  /** Where the API listens, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** An API key (`prism apikey create`). */
  apiKey: string;
  /** Another fetch implementation (tests, proxies); default the global fetch. */
  fetch?: typeof fetch;
}

export interface WaitOptions {
  /** Give up after this long (the task keeps running). Default 5 minutes. */
  timeoutMs?: number;
  /** Time between polls. Default 1000. */
  pollMs?: number;
}

const endedStatuses = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

type Query = Record<string, string | number | undefined>;

export class PrismClient {
  private readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly fetch: typeof fetch;

  constructor(options: PrismClientOptions) {
    if (!options.apiKey)
      throw new Error('PrismClient needs an apiKey (create one with `prism apikey create`)');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Submits a task; it starts shortly after (the same requestId never starts two tasks). */
  submitTask(request: SubmitTaskBody): Promise<SubmittedTask> {
    return this.request('POST', '/tasks', { body: request });
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

  cancelTask(id: string): Promise<{ taskId: string; workflowId: string; cancelRequested: true }> {
    return this.request('POST', `/tasks/${encodeURIComponent(id)}/cancel`);
  }

  sendFeedback(id: string, feedback: FeedbackBody): Promise<RecordedFeedback> {
    return this.request('POST', `/tasks/${encodeURIComponent(id)}/feedback`, { body: feedback });
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
      throw new PrismApiError(
        0,
        `cannot reach the PRISM API at ${this.baseUrl} (${(err as Error).message})`,
        [],
        what,
      );
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!response.ok) {
      const error = (body ?? {}) as { message?: string; fields?: { field: string; message: string }[] };
      throw new PrismApiError(
        response.status,
        error.message ?? `${what} answered ${response.status} ${response.statusText}`,
        error.fields ?? [],
        what,
      );
    }
    return body as T;
  }
}
