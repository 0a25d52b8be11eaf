// `prism worker`: the Temporal worker of the agent task flow (workflows + activities), with the Kafka
// ingress (user.queries → workflows), the bridge (agent answers → signals) and the alert handler
// (agent.monitoring.alerts → the Redis alert queue) in the same process, and a
// /metrics endpoint for Prometheus.
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { closeActivityDeps, createActivities, createActivityDeps } from '../../activities/index.ts';
import { connectTemporal, temporalTarget } from '../clients/temporal.ts';
import type { Env } from '../config.ts';
import { runBridge } from './bridge.ts';
import { runIngress } from './ingress.ts';
import { runAlertHandler } from './alert-handler.ts';
import { createMetrics, serveMetrics } from '../metrics.ts';

export const workflowsPath = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
export const payloadConverterPath = fileURLToPath(new URL('./payload-converter.cjs', import.meta.url));

export interface RunningWorker {
  /** Resolves when the worker has stopped (after `stop()` or a fatal error). */
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function startWorker(
  env: Env,
  options: {
    withIngress?: boolean;
    withBridge?: boolean;
    /** The alert handler (agent.monitoring.alerts → the Redis alert queue). Default true. */
    withAlertHandler?: boolean;
    metricsPort?: number | null;
    log?: (m: string) => void;
  } = {},
): Promise<RunningWorker> {
  const log = options.log ?? ((m: string) => process.stderr.write(`[worker] ${m}\n`));
  const metrics = createMetrics('worker');
  const deps = await createActivityDeps(env, metrics);
  const connection = await NativeConnection.connect({ ...temporalTarget(env) });
  const worker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    workflowsPath,
    // A signal, query or input no converter can read reaches the run as a value it refuses, never as a
    // workflow task that fails for good (payload-converter.cjs).
    dataConverter: { payloadConverterPath },
    activities: createActivities(deps),
    maxConcurrentWorkflowTaskExecutions: 100,
    maxConcurrentLocalActivityExecutions: 100,
    maxConcurrentActivityTaskExecutions: 100,
    maxCachedWorkflows: 2000,
  });
  const temporal = await connectTemporal(env);
  // The consumers share the activities' clients; dead letters go through their idempotent producer.
  const { kafka, redis } = deps;
  const dlqProducer = deps.publisher.producer;
  const consumers = await Promise.all([
    options.withIngress === false ? null : runIngress({ env, kafka, redis, temporal, dlqProducer, metrics }),
    options.withBridge === false ? null : runBridge({ kafka, redis, temporal, dlqProducer, metrics, log }),
    options.withAlertHandler === false
      ? null
      : runAlertHandler({ env, kafka, redis, temporal, dlqProducer, metrics, log }),
  ]);
  const metricsPort = options.metricsPort === undefined ? env.WORKER_METRICS_PORT : options.metricsPort;
  const server =
    metricsPort === null ? null : await serveMetrics(metrics.registry, env.PRISM_BIND_ADDRESS, metricsPort);
  const running = worker.run();
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await Promise.allSettled(consumers.map((c) => c?.stop()));
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await Promise.allSettled([temporal.connection.close(), connection.close()]);
      await closeActivityDeps(deps);
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
    `ready: task queue ${env.TEMPORAL_TASK_QUEUE}${metricsPort ? `, metrics on :${metricsPort}/metrics` : ''}`,
  );
  return { done, stop };
}
