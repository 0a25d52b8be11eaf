// The application's Prometheus metrics: one registry per process, with Node's default process metrics and
// the product's own, named `prism_<area>_<what>_<unit>` (counters end in `_total`, durations are seconds,
// as Prometheus recommends). Labels stay low-cardinality: never a task id.
import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { agentTypes } from './task/contract.js';

/** Buckets for step and task durations: 5 ms to 2 minutes. */
const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createMetrics(component: 'api' | 'worker' | 'maintenance' | 'agent' | 'ingress' | 'cli') {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry });
  const metrics = {
    registry,
    tasksStarted: new Counter({
      name: 'prism_tasks_started_total',
      help: 'Agent tasks started, by agent type and priority',
      labelNames: ['agent_type', 'priority'] as const,
      registers: [registry],
    }),
    tasksFinished: new Counter({
      name: 'prism_tasks_finished_total',
      help: 'Agent tasks that ended, by agent type and final status (COMPLETED, FAILED, CANCELLED)',
      labelNames: ['agent_type', 'status'] as const,
      registers: [registry],
    }),
    taskDuration: new Histogram({
      name: 'prism_task_duration_seconds',
      help: 'End-to-end duration of agent tasks',
      labelNames: ['agent_type', 'status'] as const,
      buckets: durationBuckets,
      registers: [registry],
    }),
    stepDuration: new Histogram({
      name: 'prism_step_duration_seconds',
      help: 'Duration of one step (activity) of the task flow',
      labelNames: ['step', 'outcome'] as const,
      buckets: durationBuckets,
      registers: [registry],
    }),
    stepFailures: new Counter({
      name: 'prism_step_failures_total',
      help: 'Failed attempts of a step (each retry counts), by step and error type',
      labelNames: ['step', 'error_type'] as const,
      registers: [registry],
    }),
    knowledgeSearches: new Counter({
      name: 'prism_knowledge_searches_total',
      help: 'Knowledge searches for task steps (flow step 5), by outcome (ok, failed: the step went on without)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    messagesConsumed: new Counter({
      name: 'prism_kafka_messages_consumed_total',
      help: 'Kafka messages processed, by topic and outcome (processed, duplicate, ignored, dead_lettered)',
      labelNames: ['topic', 'outcome'] as const,
      registers: [registry],
    }),
    tasksInFlight: new Gauge({
      name: 'prism_tasks_in_flight',
      help: 'Agent tasks currently running in this process',
      labelNames: ['agent_type'] as const,
      registers: [registry],
    }),
  };
  // A labelled counter has no series until its first increment, and rate() cannot see that first
  // increment: the first FAILED task of a type would leave the failure ratio at 0. The known
  // outcomes start at 0 instead.
  for (const agentType of agentTypes) {
    for (const status of finishedStatuses) metrics.tasksFinished.labels(agentType, status).inc(0);
  }
  return metrics;
}

const finishedStatuses = ['COMPLETED', 'FAILED', 'CANCELLED'] as const;

export type Metrics = ReturnType<typeof createMetrics>;

/** Serves a registry on `http://host:port/metrics` for Prometheus (the worker's and each agent's). */
export function serveMetrics(registry: Registry, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end('metrics could not be collected'),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
