// `prism worker`: the Temporal worker of the agent task flow (workflows + activities), with the Kafka
// ingress (user.queries → workflows) and the bridge (agent answers → signals) in the same process, and a
// /metrics endpoint for Prometheus.
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { closeActivityDeps, createActivities, createActivityDeps } from '../../activities/index.ts';
import { connectTemporal } from '../clients/temporal.ts';
import type { Env } from '../config.ts';
import { runBridge } from './bridge.ts';
import { runIngress } from './ingress.ts';
import { createMetrics } from '../metrics.ts';

export const workflowsPath = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

export interface RunningWorker {
  /** Resolves when the worker has stopped (after `stop()` or a fatal error). */
  done: Promise<void>;
  stop(): Promise<void>;
}

function serveMetrics(
  registry: ReturnType<typeof createMetrics>['registry'],
  host: string,
  port: number,
): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

export async function startWorker(
  env: Env,
  options: {
    withIngress?: boolean;
    withBridge?: boolean;
    metricsPort?: number | null;
    log?: (m: string) => void;
  } = {},
): Promise<RunningWorker> {
  const log = options.log ?? ((m: string) => process.stderr.write(`[worker] ${m}\n`));
  const metrics = createMetrics('worker');
  const deps = await createActivityDeps(env, metrics);
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    workflowsPath,
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
