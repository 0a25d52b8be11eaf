// `prism worker`: the task worker — the Temporal worker of the agent task flow (agentTask and the bench's
// no-op, on TEMPORAL_TASK_QUEUE), with the Kafka ingress (user.queries → workflows), the bridge (agent
// answers → the waiting dispatch or a signal) and the alert handler (agent.monitoring.alerts → the Redis alert queue; it hands
// escalations to the maintenance queue) in the same process, and a /metrics endpoint for Prometheus.
// Maintenance work (backups, drills, retention, scans, escalation) runs apart: ./maintenance.ts.
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { closeActivityDeps, createActivityDeps } from '../../activities/deps.ts';
import { createTaskActivities } from '../../activities/task-set.ts';
import { connectTemporal, connectToFrontend } from '../clients/temporal.ts';
import type { Env } from '../config.ts';
import { runBridge } from './bridge.ts';
import { InlineAnswers } from './inline-answers.ts';
import { runIngress } from './ingress.ts';
import { runAlertHandler } from './alert-handler.ts';
import { payloadConverterPath, runTemporalWorker, type RunningWorker } from './run.ts';
import { createMetrics } from '../metrics.ts';
import { tracerOf, tracingFor } from '../tracing.ts';
import { workerTracing } from './tracing.ts';

export const workflowsPath = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
export { payloadConverterPath, type RunningWorker } from './run.ts';

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
  const tracing = tracingFor(env, 'prism-worker');
  const tracer = tracerOf(tracing);
  const deps = await createActivityDeps(env, metrics, tracer);
  // A step's dispatch takes its agent's answer from the bridge when both run here (./inline-answers.ts).
  const inline = options.withBridge === false ? undefined : new InlineAnswers();
  deps.inlineAnswers = inline;
  const connection = await connectToFrontend(env, (target) => NativeConnection.connect({ ...target }));
  // Read by the workflow thread the worker starts (patches/README.md).
  process.env.TEMPORAL_WORKFLOW_STACK_TRACES = env.PRISM_WORKFLOW_STACK_TRACES;
  const worker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    workflowsPath,
    // A signal, query or input no converter can read reaches the run as a value it refuses, never as a
    // workflow task that fails for good (payload-converter.cjs).
    dataConverter: { payloadConverterPath },
    activities: createTaskActivities(deps),
    // Chosen by measurement (docs/performance.md, "7. The task worker's tuning").
    maxConcurrentWorkflowTaskExecutions: env.PRISM_WORKER_WORKFLOW_SLOTS,
    maxConcurrentWorkflowTaskPolls: Math.min(
      env.PRISM_WORKER_WORKFLOW_POLLERS,
      env.PRISM_WORKER_WORKFLOW_SLOTS,
    ),
    maxConcurrentLocalActivityExecutions: env.PRISM_WORKER_LOCAL_ACTIVITY_SLOTS,
    maxConcurrentActivityTaskExecutions: 100,
    maxCachedWorkflows: env.PRISM_WORKER_CACHED_WORKFLOWS,
    isolateExecutionTimeout: env.PRISM_WORKFLOW_DEADLOCK_TIMEOUT_MS,
    // Tracing on: the workflow's and each activity's spans, in the trace of whoever started the task.
    ...workerTracing(tracing),
  });
  const temporal = await connectTemporal(env, { tracing });
  // The consumers share the activities' clients; dead letters go through their idempotent producer.
  const { kafka, redis } = deps;
  const dlqProducer = deps.publisher.producer;
  const consumers = await Promise.all([
    options.withIngress === false
      ? null
      : runIngress({ env, kafka, redis, temporal, dlqProducer, metrics, tracer }),
    options.withBridge === false
      ? null
      : runBridge({ kafka, redis, temporal, dlqProducer, metrics, log, tracer, inline }),
    options.withAlertHandler === false
      ? null
      : runAlertHandler({ env, kafka, redis, temporal, dlqProducer, metrics, log, tracer }),
  ]);
  return runTemporalWorker({
    env,
    worker,
    connection,
    registry: metrics.registry,
    metricsPort: options.metricsPort === undefined ? env.WORKER_METRICS_PORT : options.metricsPort,
    beforeShutdown: () => Promise.allSettled(consumers.map((c) => c?.stop())),
    close: () =>
      Promise.allSettled([temporal.connection.close(), closeActivityDeps(deps)]).then(() => tracing.flush()),
    log,
  });
}
