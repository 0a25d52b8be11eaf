// Liveness, readiness and metrics: public, for orchestrators (Docker, Kubernetes) and Prometheus.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Metrics } from '../../metrics.ts';
import type { readinessChecks } from '../readiness.ts';
import { defineRoute } from '../route.ts';

const checkSchema = z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() });
const readinessSchema = z.object({
  ready: z.boolean(),
  checks: z.object({
    postgres: checkSchema,
    kafka: checkSchema,
    temporal: checkSchema,
    weaviate: checkSchema,
  }),
});

export function operationRoutes(
  app: FastifyInstance,
  { metrics, readiness }: { metrics: Metrics; readiness: ReturnType<typeof readinessChecks> },
): void {
  defineRoute(app, {
    method: 'GET',
    url: '/healthz',
    permission: null,
    rateLimit: 'exempt',
    tags: ['operations'],
    summary: 'Liveness: the process answers',
    responses: {
      200: { description: 'Alive', schema: z.object({ status: z.literal('ok'), uptimeSeconds: z.number() }) },
    },
    handler: async () => ({ status: 'ok', uptimeSeconds: Math.round(process.uptime()) }),
  });

  defineRoute(app, {
    method: 'GET',
    url: '/readyz',
    permission: null,
    rateLimit: 'readiness',
    tags: ['operations'],
    summary: 'Readiness: PostgreSQL, Kafka, Temporal and Weaviate all answer',
    responses: {
      200: { description: 'Ready to serve', schema: readinessSchema },
      503: { description: 'A dependency failed: `checks` says which and why', schema: readinessSchema },
    },
    handler: async (_request, reply) => {
      const result = await readiness.check();
      return reply.code(result.ready ? 200 : 503).send(result);
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/metrics',
    permission: null,
    rateLimit: 'exempt',
    tags: ['operations'],
    summary: 'Prometheus metrics of the API process',
    responses: { 200: { description: 'Prometheus text exposition format', contentType: 'text/plain' } },
    handler: async (_request, reply) =>
      reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()),
  });
}
