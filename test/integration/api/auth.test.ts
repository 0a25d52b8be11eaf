// API keys: no key, a wrong key, a revoked key → 401; a key without the route's permission → 403 naming it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeApiKey } from '../../../src/stores/postgres/auth.ts';
import { apiFixture, type ApiFixture } from './fixture.ts';

describe('API authentication and permissions', () => {
  let fx: ApiFixture;
  let viewer: Awaited<ReturnType<ApiFixture['keyFor']>>;
  beforeAll(async () => {
    fx = await apiFixture();
    viewer = await fx.keyFor('viewer');
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('answers 401 without a key, saying how to send one', async () => {
    const res = await fx.call('GET', '/agents');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(res.body).toMatchObject({
      error: 'Unauthorized',
      message: expect.stringMatching(/missing API key.*Authorization: Bearer/),
    });
  });

  it('answers 401 for a wrong key, a malformed key and a revoked key', async () => {
    const tampered = viewer.key.slice(0, -1) + (viewer.key.endsWith('A') ? 'B' : 'A');
    for (const key of [tampered, 'not-a-key']) {
      const res = await fx.call('GET', '/agents', { key });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ message: expect.stringMatching(/invalid API key/) });
    }
    const other = await fx.keyFor('viewer');
    expect((await fx.call('GET', '/agents', { key: other.key })).status).toBe(200);
    await revokeApiKey(fx.deps.prisma, other.keyId);
    expect((await fx.call('GET', '/agents', { key: other.key })).status).toBe(401);
  });

  it('accepts the key as a bearer token or in x-api-key', async () => {
    expect((await fx.call('GET', '/agents', { key: viewer.key })).status).toBe(200);
    const res = await fx.call('GET', '/agents', { headers: { 'x-api-key': viewer.key } });
    expect(res.status).toBe(200);
    const row = await fx.deps.prisma.apiKey.findUniqueOrThrow({ where: { id: viewer.keyId } });
    expect(row.lastUsedAt).toBeInstanceOf(Date);
  });

  it('answers 403 naming the permission when the role lacks it, before looking at the body', async () => {
    const res = await fx.call('POST', '/tasks', { key: viewer.key, body: { query: '' } });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({
      error: 'Forbidden',
      message: expect.stringContaining('lacks the permission "tasks:submit"'),
    });
    expect((res.body as { message: string }).message).toContain('roles: viewer');
    for (const [method, path] of [
      ['POST', '/knowledge'],
      ['POST', '/agents'],
      ['POST', '/tasks/x/cancel'],
      ['GET', '/agents/x/memory'],
    ] as const) {
      const body = method === 'POST' ? {} : undefined;
      expect((await fx.call(method, path, { key: viewer.key, body })).status).toBe(403);
    }
  });

  it('lets an operator submit but not register agents', async () => {
    const operator = await fx.keyFor('operator');
    const res = await fx.call('POST', '/agents', {
      key: operator.key,
      body: { id: 'x', name: 'x', type: 'MONITORING', transport: 'KAFKA' },
    });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ message: expect.stringContaining('"agents:register"') });
  });
});
