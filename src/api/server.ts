// The HTTP API of PRISM: tasks, agents, knowledge, agent memory, health and metrics, described by an
// OpenAPI document at /docs (JSON at /docs/json). Authenticated by API keys whose roles live in PostgreSQL.
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Env } from '../config.ts';
import { registerAuth } from './auth.ts';
import { alertRoutes } from './routes/alerts.ts';
import { closeApiDeps, createApiDeps, type ApiDeps } from './deps.ts';
import { clientErrorHandler, frameworkError, registerErrorHandling } from './errors.ts';
import { httpLimits, rateLimitSettings, registerRateLimit, type RateLimitSettings } from './limits.ts';
import { registerClusterMetrics } from './cluster-metrics.ts';
import { httpMetrics, registerHttpMetrics } from './http-metrics.ts';
import { readinessChecks } from './readiness.ts';
import { optionalBodyMark } from './route.ts';
import { agentRoutes } from './routes/agents.ts';
import { knowledgeRoutes } from './routes/knowledge.ts';
import { memoryRoutes } from './routes/memory.ts';
import { operationRoutes } from './routes/operations.ts';
import { taskEventRoutes } from './routes/task-events.ts';
import { taskRoutes } from './routes/tasks.ts';
import { taskSteeringRoutes } from './routes/task-steering.ts';
import { registerTracing } from './tracing.ts';
import { tracingFor } from '../tracing.ts';

export interface ServerOptions {
  /** Fastify's logger (pino): true for the info level, or its options. Default: off. */
  logger?: boolean | { level: string };
  /** Overrides of the rate limit that API_RATE_LIMIT_MAX and API_RATE_LIMIT_WINDOW set, e.g. its namespace. */
  rateLimit?: Partial<Omit<RateLimitSettings, 'redis'>>;
}

// Task history ids are 64-bit integers (BigInt): JSON has no such type, so they travel as strings.
const toJson = (data: unknown) =>
  JSON.stringify(data, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));

/** The API server, not yet listening: `await app.listen(...)`, or `app.inject(...)`. The caller owns `deps`. */
export function buildServer(deps: ApiDeps, options: ServerOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: options.logger ?? false,
    // Every size is explicit (limits.ts), and every refusal answers in the API's error shape.
    bodyLimit: httpLimits.bodyBytes,
    routerOptions: { maxParamLength: httpLimits.paramChars },
    http: { maxHeaderSize: httpLimits.headerBytes },
    requestTimeout: httpLimits.requestTimeoutMs,
    frameworkErrors: frameworkError,
    clientErrorHandler: clientErrorHandler(httpLimits.headerBytes),
    // Unique across restarts: a 500 answer names it, and the log line that explains it carries it.
    genReqId: () => randomUUID(),
  });
  // First, so that every other hook of a request (its key's lookup, its rate limit) is in its span.
  registerTracing(app, tracingFor(deps.env, 'prism-api'));
  // Response schemas document the answers; they must never drop a field, as fast-json-stringify would.
  app.setSerializerCompiler(() => toJson);
  registerErrorHandling(app);
  // The API description and its UI are public. Declared here: the swagger plugins add their own routes.
  app.addHook('onRoute', (route) => {
    if (route.url === '/docs' || route.url.startsWith('/docs/'))
      route.config = { ...route.config, permission: null };
  });
  const limit = registerRateLimit(app, { ...rateLimitSettings(deps.env, deps.redis), ...options.rateLimit });
  registerAuth(app, deps.prisma, limit);
  const metrics = httpMetrics(deps.metrics);
  const clusterMetrics = registerClusterMetrics(deps.metrics, deps);
  app.addHook('onClose', () => clusterMetrics.close());
  registerHttpMetrics(app, metrics);
  const readiness = readinessChecks(deps);
  app.addHook('onClose', () => readiness.close());

  void app.register(swagger, {
    // An operation whose body may be left out says so (Fastify's swagger marks every body required).
    transformObject: (document) => {
      const openapiObject = 'openapiObject' in document ? document.openapiObject : {};
      for (const operations of Object.values(openapiObject.paths ?? {})) {
        for (const operation of Object.values(operations as Record<string, Record<string, unknown>>)) {
          if (!operation[optionalBodyMark]) continue;
          delete operation[optionalBodyMark];
          (operation.requestBody as { required?: boolean } | undefined)!.required = false;
        }
      }
      return openapiObject;
    },
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'PRISM Orchestration API',
        version: '1',
        description:
          'Durable task orchestration for autonomous-manufacturing AI agents. Authenticate with an API key: ' +
          '`Authorization: Bearer <key>` or `x-api-key: <key>` (`prism apikey create`). See docs/api.md.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key as a bearer token' },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        },
      },
      tags: [
        { name: 'tasks', description: 'Agent tasks: durable Temporal workflows' },
        { name: 'agents', description: 'Agent registry' },
        { name: 'knowledge', description: 'External knowledge in Weaviate' },
        { name: 'memory', description: "Each agent's own memory in Weaviate" },
        { name: 'alerts', description: 'Alerts of the monitoring flow (spec 4.2)' },
        { name: 'operations', description: 'Health and metrics' },
      ],
    },
  });
  void app.register(swaggerUi, { routePrefix: '/docs' });
  // Routes in a plugin registered after swagger, so that swagger sees every one of them.
  void app.register(async (api) => {
    operationRoutes(api, { metrics: deps.metrics, readiness });
    taskRoutes(api, deps, metrics);
    taskSteeringRoutes(api, deps);
    taskEventRoutes(api, deps);
    agentRoutes(api, deps);
    knowledgeRoutes(api, deps);
    memoryRoutes(api, deps);
    alertRoutes(api, deps);
  });
  return app;
}

export interface RunningApi {
  app: FastifyInstance;
  /** Where it listens, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** Stops accepting requests, finishes those in flight, and closes every client. Idempotent. */
  stop(): Promise<void>;
  /** Resolves once the server has stopped (after stop(), SIGINT or SIGTERM). */
  stopped: Promise<void>;
}

/** Builds the deps, listens on PRISM_BIND_ADDRESS:API_PORT, and stops cleanly on SIGINT or SIGTERM. */
export async function startApi(
  env: Env,
  options: { port?: number; logger?: ServerOptions['logger'] } = {},
): Promise<RunningApi> {
  const deps = await createApiDeps(env);
  const app = buildServer(deps, { logger: options.logger ?? { level: env.PRISM_DEBUG ? 'debug' : 'info' } });
  let markStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      try {
        await app.close();
      } finally {
        await closeApiDeps(deps);
        markStopped();
      }
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    app.log.info(`${signal}: stopping the API`);
    stop().catch((err: unknown) => app.log.error({ err }, 'the API did not stop cleanly'));
  };
  try {
    const url = await app.listen({ host: env.PRISM_BIND_ADDRESS, port: options.port ?? env.API_PORT });
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    return { app, url, stop, stopped };
  } catch (err) {
    await stop();
    throw err;
  }
}
