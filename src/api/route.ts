// One way to declare a route: zod schemas validate its input (Fastify's validator is replaced by zod, so
// the API validates exactly what the rest of the product validates) and the same schemas, converted with
// z.toJSONSchema, describe it in the OpenAPI document. The permission it needs is part of the declaration.
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { z } from 'zod';
import { fieldProblems, RequestValidationError } from './errors.ts';
import { httpLimits, type RateLimitGroup } from './limits.ts';
import { errorSchema } from './schemas/common.ts';

/** What an API key's roles may allow (the roles live in PostgreSQL: see src/stores/postgres/auth.ts). */
export type Permission =
  | 'tasks:submit'
  | 'tasks:read'
  | 'tasks:cancel'
  | 'tasks:retry'
  | 'tasks:approve'
  | 'tasks:feedback'
  | 'agents:register'
  | 'agents:read'
  | 'knowledge:ingest'
  | 'knowledge:search'
  | 'memory:read'
  | 'memory:write'
  | 'alerts:read'
  | 'alerts:manage';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission a route needs; null for a route declared public (health, metrics, docs). */
    permission?: Permission | null;
  }
}

export type OpenApiSchema = Record<string, unknown>;

/** The JSON Schema (OpenAPI 3.0 dialect) of a zod schema: `input` for what clients send, `output` for answers. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): OpenApiSchema {
  return z.toJSONSchema(schema, { io, target: 'openapi-3.0', unrepresentable: 'any' }) as OpenApiSchema;
}

export interface ResponseSpec {
  description: string;
  /** The JSON body; absent when there is none. */
  schema?: z.ZodType;
  /** A non-JSON body, e.g. `text/plain` for the Prometheus exposition. */
  contentType?: string;
  /** Response headers, by name: their JSON Schema (with a description). */
  headers?: Record<string, OpenApiSchema>;
}

type Input = z.ZodType;

export interface RouteSpec<B extends Input, Q extends Input, P extends Input> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  /** null: no API key needed. */
  permission: Permission | null;
  /** Default: the route counts against the caller's rate limit (limits.ts says why some do not). */
  rateLimit?: RateLimitGroup;
  tags: string[];
  summary: string;
  description?: string;
  body?: B;
  query?: Q;
  params?: P;
  responses: Record<number, ResponseSpec>;
  handler: (
    request: FastifyRequest<{ Body: z.output<B>; Querystring: z.output<Q>; Params: z.output<P> }>,
    reply: FastifyReply,
  ) => Promise<unknown>;
}

function responseSchema(spec: ResponseSpec): OpenApiSchema {
  const headers = spec.headers ? { headers: spec.headers } : {};
  if (spec.contentType) {
    return {
      description: spec.description,
      content: { [spec.contentType]: { schema: { type: 'string' } } },
      ...headers,
    };
  }
  if (!spec.schema) return { description: spec.description, type: 'null', ...headers };
  return { ...jsonSchema(spec.schema, 'output'), description: spec.description, ...headers };
}

/** Marks an operation whose body may be left out; server.ts turns it into `requestBody.required: false`. */
export const optionalBodyMark = 'x-prism-optional-body';

export function defineRoute<
  B extends Input = z.ZodUndefined,
  Q extends Input = z.ZodUndefined,
  P extends Input = z.ZodUndefined,
>(app: FastifyInstance, spec: RouteSpec<B, Q, P>): void {
  const inputs: Record<string, Input | undefined> = {
    body: spec.body,
    querystring: spec.query,
    params: spec.params,
  };
  const responses: Record<number, ResponseSpec> = { ...spec.responses };
  if (spec.body || spec.query || spec.params) {
    responses[400] ??= {
      description:
        'Invalid input: `fields` names each failing field' +
        (spec.params
          ? ` (a path parameter longer than ${httpLimits.paramChars} characters names \`path\`)`
          : ''),
      schema: errorSchema,
    };
  }
  if (spec.body) {
    responses[413] ??= {
      description: `The body is larger than ${httpLimits.bodyBytes / 1024 / 1024} MiB`,
      schema: errorSchema,
    };
    responses[415] ??= { description: 'The body is not `application/json`', schema: errorSchema };
  }
  if (spec.rateLimit !== 'exempt') {
    responses[429] ??= {
      description:
        'Over the rate limit (API_RATE_LIMIT_MAX requests per API_RATE_LIMIT_WINDOW, per API key, or per ' +
        'client address without a valid key): wait `Retry-After` seconds',
      schema: errorSchema,
      headers: {
        'retry-after': { type: 'integer', minimum: 0, description: 'Seconds until the count starts anew' },
      },
    };
  }
  if (spec.permission) {
    responses[401] ??= { description: 'Missing, unknown, revoked or expired API key', schema: errorSchema };
    responses[403] ??= {
      description: `The API key's roles lack the permission ${spec.permission}`,
      schema: errorSchema,
    };
  }
  const schema: FastifySchema & Record<string, unknown> = {
    tags: spec.tags,
    summary: spec.summary,
    description: [
      spec.description,
      spec.permission ? `Requires the permission \`${spec.permission}\`.` : 'No API key needed.',
    ]
      .filter(Boolean)
      .join('\n\n'),
    ...(spec.permission ? { security: [{ bearerAuth: [] }, { apiKeyHeader: [] }] } : { security: [] }),
    ...(spec.body?.safeParse(undefined).success ? { [optionalBodyMark]: true } : {}),
    ...(spec.body ? { body: jsonSchema(spec.body, 'input') } : {}),
    ...(spec.query ? { querystring: jsonSchema(spec.query, 'input') } : {}),
    ...(spec.params ? { params: jsonSchema(spec.params, 'input') } : {}),
    response: Object.fromEntries(Object.entries(responses).map(([code, r]) => [code, responseSchema(r)])),
  };
  app.route({
    method: spec.method,
    url: spec.url,
    schema,
    config: { permission: spec.permission, ...(spec.rateLimit ? { rateLimitGroup: spec.rateLimit } : {}) },
    validatorCompiler: ({ httpPart }) => {
      const input = httpPart ? inputs[httpPart] : undefined;
      if (!input) return (data: unknown) => ({ value: data });
      return (data: unknown) => {
        const parsed = input.safeParse(data ?? (httpPart === 'body' ? undefined : {}));
        return parsed.success
          ? { value: parsed.data }
          : { error: new RequestValidationError(fieldProblems(httpPart!, parsed.error.issues)) };
      };
    },
    handler: (request, reply) => spec.handler(request as never, reply),
  });
}
