// What the task worker and the maintenance worker share: their /metrics endpoint, and one way to stop —
// what feeds the worker first (consumers), then the worker (its running tasks finish), then the clients.
import { fileURLToPath } from 'node:url';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { Registry } from 'prom-client';
import type { Env } from '../config.ts';
import { serveMetrics } from '../metrics.ts';

/** Both workers' payload converter (a signal or input no converter reads reaches the run as a refused value). */
export const payloadConverterPath = fileURLToPath(new URL('./payload-converter.cjs', import.meta.url));

export interface RunningWorker {
  /** Resolves when the worker has stopped (after `stop()` or a fatal error). */
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function runTemporalWorker(options: {
  env: Pick<Env, 'PRISM_BIND_ADDRESS'>;
  worker: Worker;
  connection: NativeConnection;
  registry: Registry;
  /** null: no /metrics endpoint. */
  metricsPort: number | null;
  beforeShutdown?: () => Promise<unknown>;
  close: () => Promise<unknown>;
  log: (m: string) => void;
}): Promise<RunningWorker> {
  const { worker, connection, metricsPort, log } = options;
  const server =
    metricsPort === null
      ? null
      : await serveMetrics(options.registry, options.env.PRISM_BIND_ADDRESS, metricsPort);
  const running = worker.run();
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await options.beforeShutdown?.();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await Promise.allSettled([connection.close(), options.close()]);
      server?.close();
    })();
    return stopping;
  };
  const done = running.then(
    () => stop(),
    async (err: unknown) => {
      await stop();
      throw err;
    },
  );
  log(
    `ready: task queue ${worker.options.taskQueue}${metricsPort ? `, metrics on :${metricsPort}/metrics` : ''}`,
  );
  return { done, stop };
}
