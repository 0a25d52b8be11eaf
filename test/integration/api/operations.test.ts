// Health, readiness, metrics and the OpenAPI document: public routes of the running server.
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rolePermissions } from '../../../src/stores/postgres/auth.ts';
import { apiFixture, type ApiFixture } from './fixture.ts';

type Operation = {
  summary?: string;
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, { schema: object }> };
  parameters?: { in: string; name: string; schema: object }[];
  responses: Record<string, unknown>;
  description?: string;
};
type OpenApi = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown> };
};

describe('operations routes and the API description', () => {
  let fx: ApiFixture;
  beforeAll(async () => {
    fx = await apiFixture();
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('answers /healthz and /readyz without a key, /readyz checking every dependency', async () => {
    const health = await fx.call('GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok' });
    const ready = await fx.call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      ready: true,
      checks: Object.fromEntries(
        ['postgres', 'kafka', 'temporal', 'weaviate'].map((name) => [
          name,
          { ok: true, latencyMs: expect.any(Number) },
        ]),
      ),
    });
  });

  it('serves Prometheus metrics with the product and HTTP metrics', async () => {
    await fx.call('GET', '/healthz');
    await fx.call('GET', '/agents'); // 401
    const res = await fx.call('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.text).toContain('# TYPE prism_tasks_started_total counter');
    expect(res.text).toContain('# TYPE prism_http_request_duration_seconds histogram');
    expect(res.text).toMatch(
      /prism_http_requests_total\{method="GET",route="\/healthz",status_code="200",component="api"\} \d+/,
    );
    expect(res.text).toMatch(
      /prism_http_requests_total\{method="GET",route="\/agents",status_code="401",component="api"\} \d+/,
    );
    expect(res.text).toMatch(/process_cpu_user_seconds_total\{component="api"\}/);
  });

  it('describes every route in a valid OpenAPI 3 document at /docs/json, with the UI at /docs', async () => {
    const res = await fx.call<OpenApi>('GET', '/docs/json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toMatch(/^3\.0\.\d+$/);
    expect(doc.info).toMatchObject({ title: 'PRISM Orchestration API', version: '1' });
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKeyHeader', 'bearerAuth']);
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'POST /tasks',
        'GET /tasks',
        'GET /tasks/{id}',
        'GET /tasks/{id}/events',
        'POST /tasks/{id}/cancel',
        'POST /tasks/{id}/feedback',
        'POST /tasks/{id}/retry',
        'POST /tasks/{id}/steps/{step}/approve',
        'POST /tasks/{id}/steps/{step}/reject',
        'POST /agents',
        'GET /agents',
        'POST /knowledge',
        'GET /knowledge/search',
        'POST /agents/{id}/memory',
        'GET /agents/{id}/memory',
        'GET /alerts',
        'POST /alerts/alertmanager',
        'POST /alerts/{fingerprint}/ack',
        'POST /alerts/{fingerprint}/resolve',
      ].sort(),
    );
    // Every body and parameter schema is a JSON Schema that a validator compiles (Ajv, the one Fastify uses,
    // knows OpenAPI 3.0's `nullable`; not strict, as OpenAPI adds annotations such as `example`).
    const ajv = new Ajv({ strict: false, validateFormats: false });
    const permissions = new Set(rolePermissions.admin!.permissions);
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(op.summary, `${method} ${path}`).toBeTruthy();
        expect(Object.keys(op.responses).length, `${method} ${path}`).toBeGreaterThan(0);
        const permission = /Requires the permission `([a-z]+:[a-z]+)`/.exec(op.description ?? '')?.[1];
        if (permission) {
          expect(permissions.has(permission), permission).toBe(true);
          expect(op.security).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
          expect(op.responses).toHaveProperty('401');
        }
        for (const schema of [
          ...Object.values(op.requestBody?.content ?? {}).map((c) => c.schema),
          ...(op.parameters ?? []).map((p) => p.schema),
        ]) {
          expect(() => ajv.compile(schema), `${method} ${path}`).not.toThrow();
        }
      }
    }
    const submit = doc.paths['/tasks']!.post!;
    expect(submit.requestBody!.content['application/json']!.schema).toMatchObject({
      type: 'object',
      required: ['query'],
      additionalProperties: false,
      properties: { priority: { enum: ['HIGH', 'NORMAL', 'LOW'] } },
    });
    expect(submit.responses).toHaveProperty('202');

    const ui = await fx.call('GET', '/docs/static/index.html');
    expect(ui.status).toBe(200);
    expect(ui.text).toMatch(/swagger-ui/i);
  });
});
