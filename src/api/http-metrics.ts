// Request counts and latencies of the API, on the process's metrics registry. The route label is the
// route's pattern (`/tasks/:id`), never the concrete URL, so its cardinality stays bounded.
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram } from 'prom-client';
import type { Metrics } from '../metrics.ts';

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

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
