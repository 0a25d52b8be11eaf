// Every route the running server declares × every role × every kind of key: no key, a malformed key, an
// unknown (well-formed) key, a revoked key, a valid key. The routes come from the server itself (its onRoute
// events), not from a list kept by hand, so a new route is in the matrix the day it is added — and a route
// that declares no permission (neither one nor `null` for public) fails here.
import { randomBytes } from 'node:crypto';
import type { RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey, revokeApiKey, rolePermissions } from '../../../src/stores/postgres/auth.ts';
import { testId } from '../../helpers.ts';
import { apiFixture, type ApiFixture } from './fixture.ts';

type Role = 'admin' | 'operator' | 'agent' | 'viewer';
const roles = Object.keys(rolePermissions) as Role[];
const keyKinds = ['no key', 'malformed key', 'unknown key', 'revoked key', 'valid key'] as const;
type KeyKind = (typeof keyKinds)[number];

interface Cell {
  route: string;
  role: Role;
  kind: KeyKind;
  status: number;
}

/** A request that cannot change anything: unknown ids in the path, an empty object as the body. */
function harmlessRequest(route: RouteOptions, method: string) {
  const marker = testId('matrix');
  const path = route.url.replace(/:[A-Za-z]+/g, marker).replace(/\*$/, 'x');
  const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method) ? {} : undefined;
  return { path, body };
}

describe('the authorization matrix: every route × every role × every kind of key', () => {
  let fx: ApiFixture;
  const keys = {} as Record<Role, { valid: string; revoked: string }>;
  let routes: { route: RouteOptions; method: string; name: string }[];
  const cells: Cell[] = [];

  beforeAll(async () => {
    // Hundreds of requests in a few seconds, most without a valid key: a limit none of them reaches.
    fx = await apiFixture({
      API_RATE_LIMIT_MAX: 1_000_000,
      ALERTMANAGER_WEBHOOK_TOKEN: randomBytes(24).toString('hex'),
    });
    for (const role of roles) {
      const valid = await fx.keyFor(role);
      const revoked = await fx.keyFor(role);
      await revokeApiKey(fx.deps.prisma, revoked.keyId);
      keys[role] = { valid: valid.key, revoked: revoked.key };
    }
    routes = fx.routes.flatMap((route) =>
      [route.method].flat().map((method) => ({ route, method, name: `${method} ${route.url}` })),
    );
    const unknownKey = generateApiKey().key;
    const keyOf = (role: Role, kind: KeyKind): Record<string, string> => {
      switch (kind) {
        case 'no key':
          return {};
        case 'malformed key':
          return { authorization: 'Bearer not-a-key' };
        case 'unknown key':
          return { authorization: `Bearer ${unknownKey}` };
        case 'revoked key':
          return { 'x-api-key': keys[role].revoked };
        case 'valid key':
          return { authorization: `Bearer ${keys[role].valid}` };
      }
    };
    const work = routes.flatMap(({ route, method, name }) =>
      roles.flatMap((role) => keyKinds.map((kind) => ({ route, method, name, role, kind }))),
    );
    // A few at a time: the server's store round trips (PostgreSQL for each key) are the cost.
    for (let i = 0; i < work.length; i += 16) {
      await Promise.all(
        work.slice(i, i + 16).map(async ({ route, method, name, role, kind }) => {
          const { path, body } = harmlessRequest(route, method);
          const res = await fetch(`${fx.baseUrl}${path}`, {
            method,
            headers: { ...keyOf(role, kind), ...(body ? { 'content-type': 'application/json' } : {}) },
            ...(body ? { body: JSON.stringify(body) } : {}),
          });
          await res.arrayBuffer();
          cells.push({ route: name, role, kind, status: res.status });
        }),
      );
    }
  }, 180_000);

  afterAll(async () => {
    await fx?.close();
  });

  it('finds the routes on the running server, the API and its description among them', () => {
    const names = routes.map((r) => r.name);
    for (const expected of [
      'POST /tasks',
      'GET /tasks/:id',
      'GET /agents',
      'GET /healthz',
      'GET /docs/json',
    ]) {
      expect(names).toContain(expected);
    }
    expect(routes.length).toBeGreaterThan(20);
  });

  it('has a declared permission on every route (a permission, or null for a public one)', () => {
    const undeclared = routes
      .filter(({ route }) => route.config?.permission === undefined)
      .map((r) => r.name);
    expect(undeclared).toEqual([]);
    for (const { route, name } of routes) {
      const permission = route.config?.permission;
      if (permission === null) continue;
      // A permission no role grants would be a route no key can call.
      const grantedBy = roles.filter((role) => rolePermissions[role]!.permissions.includes(permission!));
      expect(grantedBy, `${name} needs ${permission}`).not.toEqual([]);
    }
  });

  it('answers every cell as the permission table says', () => {
    const wrong: string[] = [];
    for (const cell of cells) {
      const { route } = routes.find((r) => r.name === cell.route)!;
      const permission = route.config!.permission;
      const allowed = permission === null || rolePermissions[cell.role]!.permissions.includes(permission!);
      const ok = (() => {
        if (cell.status >= 500) return false;
        // Public: the API key does not matter (the Alertmanager webhook has a token of its own: 401 without).
        if (permission === null) return cell.status !== 403;
        if (cell.kind !== 'valid key') return cell.status === 401;
        return allowed ? cell.status !== 401 && cell.status !== 403 : cell.status === 403;
      })();
      if (!ok)
        wrong.push(`${cell.route} as ${cell.role} with ${cell.kind}: ${cell.status} (needs ${permission})`);
    }
    expect(wrong).toEqual([]);
    expect(cells.length).toBe(routes.length * roles.length * keyKinds.length);
  });

  it('answers a public route the same whatever key is sent', () => {
    const publicRoutes = routes.filter(({ route }) => route.config?.permission === null).map((r) => r.name);
    expect(publicRoutes).toEqual(expect.arrayContaining(['GET /healthz', 'GET /readyz', 'GET /metrics']));
    for (const name of publicRoutes) {
      const statuses = new Set(cells.filter((c) => c.route === name).map((c) => c.status));
      // /readyz may flip between 200 and 503 while the stores are busy; any other public route is stable.
      if (name.endsWith('/readyz')) expect([...statuses].every((s) => s === 200 || s === 503)).toBe(true);
      else expect([...statuses], name).toHaveLength(1);
    }
  });
});
