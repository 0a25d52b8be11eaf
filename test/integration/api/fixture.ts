// The real API server on an ephemeral port with real deps, and API keys of test users (deleted after).
import type { AddressInfo } from 'node:net';
import type { RouteOptions } from 'fastify';
import { closeApiDeps, createApiDeps, type ApiDeps } from '../../../src/api/deps.ts';
import { buildServer } from '../../../src/api/server.ts';
import { createApiKey, provisionAccessControl } from '../../../src/stores/postgres/auth.ts';
import { silentProgress } from '../../../src/progress.ts';
import { provisionWeaviate } from '../../../src/stores/weaviate/provision.ts';
import type { Env } from '../../../src/config.ts';
import { env, testId } from '../../helpers.ts';

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function apiFixture(
  overrides: Partial<Env> = {},
  options: {
    /** Where its rate-limit counts live; fixtures given the same one share them (like API processes). */
    rateLimitNamespace?: string;
  } = {},
) {
  const deps: ApiDeps = { ...(await createApiDeps({ ...env, ...overrides })), progressQueryTimeoutMs: 1_000 };
  // Idempotent: the tests' collections and roles, created if this machine has not provisioned them yet.
  await provisionWeaviate(deps.weaviate, silentProgress, { prefix: env.WEAVIATE_COLLECTION_PREFIX });
  await provisionAccessControl(deps.prisma);
  // Counts of its own: requests of other tests from the same address never use up this fixture's limit.
  const namespace = options.rateLimitNamespace ?? `prism:${testId('ratelimit')}:`;
  const app = buildServer(deps, { rateLimit: { namespace } });
  // Every route the server declares, as Fastify registers it (the authorization matrix walks them all).
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => void routes.push(route));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const userIds: string[] = [];

  return {
    deps,
    app,
    baseUrl,
    routes,
    /** A new user with this role and an API key for it. */
    async keyFor(role: 'admin' | 'operator' | 'agent' | 'viewer') {
      const roleRow = await deps.prisma.role.findUniqueOrThrow({ where: { name: role } });
      const user = await deps.prisma.user.create({
        data: { username: testId(`api_${role}`), roles: { create: { roleId: roleRow.id } } },
      });
      userIds.push(user.id);
      const { key, id } = await createApiKey(deps.prisma, { userId: user.id, name: 'api test' });
      return { key, keyId: id, userId: user.id, username: user.username };
    },
    async call<T = Record<string, unknown>>(
      method: string,
      path: string,
      options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
    ): Promise<ApiResponse<T>> {
      const headers: Record<string, string> = { ...options.headers };
      if (options.key) headers.authorization = `Bearer ${options.key}`;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
      const text = await response.text();
      let body: unknown = text;
      if (response.headers.get('content-type')?.includes('json')) body = JSON.parse(text);
      return { status: response.status, headers: response.headers, body: body as T, text };
    },
    async close() {
      await app.close();
      if (userIds.length > 0) await deps.prisma.user.deleteMany({ where: { id: { in: userIds } } }); // keys cascade
      await closeApiDeps(deps);
    },
  };
}

export type ApiFixture = Awaited<ReturnType<typeof apiFixture>>;
