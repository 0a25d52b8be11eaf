// The steady load of `prism chaos`: `concurrency` lanes, each submitting a task, waiting for it to end, and
// submitting the next, as users do — half through the Temporal client (what the CLI, the bench and any
// Temporal SDK do), half through the HTTP API with the TypeScript SDK (API → Kafka `user.queries` → the
// ingress), over the four agent types in turn. It records what each user saw: the outcome, or the error
// their client gave up with.
import type { Client } from '@temporalio/client';
import type { Env } from '../config.ts';
import { benchParameters } from '../bench/parameters.ts';
import { PrismClient } from '../sdk/index.ts';
import { agentTypes, workflowIdFor, type AgentType } from '../task/index.ts';
import { startTask, waitForTask } from '../task/client.ts';

export type Edge = 'temporal' | 'api';

export interface LoadTask {
  requestId: string;
  edge: Edge;
  agentType: AgentType;
  submittedAtMs: number;
  /** When the user learnt how it ended (or gave up). */
  endedAtMs?: number;
  status?: 'COMPLETED' | 'FAILED' | 'CANCELLED';
  reason?: string;
  /** The error the user's client gave up with, if it did. */
  userError?: string;
}

export interface RunningLoad {
  readonly tasks: LoadTask[];
  /** Stops submitting; resolves once every lane's task in hand has ended (or its wait gave up). */
  stop(): Promise<void>;
  /**
   * Gives up the waits still in hand (tasks that have not ended: they count as the stores have them, not as
   * a user's error), before the Temporal connection they ride on is closed.
   */
  abandon(): void;
}

export interface LoadOptions {
  env: Env;
  temporal: Client;
  api: { baseUrl: string; apiKey: string };
  concurrency: number;
  /** Request ids are `<prefix>-<n>`. */
  requestPrefix: string;
  agentTimeoutMs: number;
  /** How long a user waits for a task before giving up on it (the task may still end). */
  waitTimeoutMs: number;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();

export function startLoad(o: LoadOptions): RunningLoad {
  const tasks: LoadTask[] = [];
  const sdk = new PrismClient({ baseUrl: o.api.baseUrl, apiKey: o.api.apiKey, retryForMs: o.waitTimeoutMs });
  let stopped = false;
  let next = 0;
  const abandoned = new AbortController();
  // Each waiting task's own signal, aborted when the run is abandoned: the Temporal client adds an abort
  // listener for every call it makes under a signal and never removes it, so on one signal for the whole
  // run they piled up (Node warned of a leak past 10); a task's signal goes with the task.
  const waiting = new Set<AbortController>();

  const runOne = async (n: number) => {
    const edge: Edge = n % 2 === 0 ? 'temporal' : 'api';
    const agentType = agentTypes[Math.floor(n / 2) % agentTypes.length]!;
    const task: LoadTask = {
      requestId: `${o.requestPrefix}-${n}`,
      edge,
      agentType,
      submittedAtMs: Date.now(),
    };
    tasks.push(task);
    const request = {
      requestId: task.requestId,
      query: `chaos load task ${n}`,
      agentType,
      parameters: benchParameters(agentType),
      agentTimeoutMs: o.agentTimeoutMs,
    };
    try {
      if (edge === 'temporal') {
        const { workflowId } = await startTask(o.temporal, o.env, request);
        const wait = new AbortController();
        waiting.add(wait);
        if (abandoned.signal.aborted) wait.abort();
        const outcome = await o.temporal.connection
          .withAbortSignal(wait.signal, () => waitForTask(o.temporal, workflowId))
          .finally(() => waiting.delete(wait));
        task.status = outcome.status;
        task.reason = outcome.error;
      } else {
        await sdk.submitTask(request);
        const details = await sdk.waitForTask(workflowIdFor(task.requestId), {
          timeoutMs: o.waitTimeoutMs,
          pollMs: 1_000,
        });
        task.status = details.status as LoadTask['status'];
        task.reason = details.record?.errorMessage ?? undefined;
      }
    } catch (err) {
      if (abandoned.signal.aborted) return; // still in flight when the run gave up waiting: stuck, not ended
      task.userError = message(err);
    }
    task.endedAtMs = Date.now();
  };

  const lanes = Array.from({ length: o.concurrency }, async () => {
    while (!stopped) await runOne(next++);
  });
  const all = Promise.all(lanes);
  return {
    tasks,
    async stop() {
      stopped = true;
      await all;
    },
    abandon() {
      stopped = true;
      abandoned.abort();
      for (const wait of waiting) wait.abort();
    },
  };
}
