// Request counts and latencies of the API, on the process's metrics registry. The route label is the
// route's pattern (`/tasks/:id`), never the concrete URL, so its cardinality stays bounded.
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Metrics } from '../metrics.ts';
import { createRealtimeMetrics } from '../stores/redis/metrics.ts';
import { finishedTasksMetric } from '../task/index.ts';

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Tasks that ended in the last minute, over every worker: the real-time counters the workers keep in Redis
 * (per second), read when Prometheus scrapes. A worker's own /metrics counts only its own tasks.
 */
export function registerRealtimeTaskGauge(metrics: Metrics, redis: Redis): void {
  const { registry } = metrics;
  if (registry.getSingleMetric('prism_tasks_finished_last_minute')) return;
  const realtime = createRealtimeMetrics(redis);
  new Gauge({
    name: 'prism_tasks_finished_last_minute',
    help: 'Tasks that ended in the last 60 s, over all workers (Redis real-time counters), by status',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      for (const status of ['COMPLETED', 'FAILED', 'CANCELLED'] as const) {
        const series = await realtime.series(finishedTasksMetric(status), 'sec', 60);
        this.set(
          { status },
          series.reduce((sum, p) => sum + p.value, 0),
        );
      }
    },
  });
}

export function httpMetrics(metrics: Metrics) {
  const { registry } = metrics;
  // Tests build several servers on one registry: reuse what is registered.
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  return {
    requests:
      existing<Counter<'method' | 'route' | 'status_code'>>('prism_http_requests_total') ??
      new Counter({
        name: 'prism_http_requests_total',
        help: 'HTTP requests answered by the API, by method, route pattern and status code',
        labelNames: ['method', 'route', 'status_code'] as const,
        registers: [registry],
      }),
    duration:
      existing<Histogram<'method' | 'route'>>('prism_http_request_duration_seconds') ??
      new Histogram({
        name: 'prism_http_request_duration_seconds',
        help: 'Time to answer an HTTP request, by method and route pattern',
        labelNames: ['method', 'route'] as const,
        buckets: latencyBuckets,
        registers: [registry],
      }),
    tasksSubmitted:
      existing<Counter<'priority'>>('prism_api_tasks_submitted_total') ??
      new Counter({
        name: 'prism_api_tasks_submitted_total',
        help: 'Task requests accepted by the API and published on user.queries, by priority',
        labelNames: ['priority'] as const,
        registers: [registry],
      }),
  };
}

export type HttpMetrics = ReturnType<typeof httpMetrics>;

export function registerHttpMetrics(app: FastifyInstance, metrics: HttpMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: request.method, route, status_code: String(reply.statusCode) });
    metrics.duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
}
