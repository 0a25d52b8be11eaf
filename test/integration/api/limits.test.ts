// What one client may send: a rate limit per API key (and per address without a valid key) counted in the
// real Redis, so two API processes share it; bodies, headers and path parameters of a bounded size; each
// refusal in the API's error shape, documented in the OpenAPI description. And API keys are stored hashed.
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpLimits } from '../../../src/api/limits.ts';
import { testId } from '../../helpers.ts';
import { apiFixture, type ApiFixture } from './fixture.ts';

const max = 5;

/** A raw HTTP/1.1 request (fetch refuses oversized headers itself): status and body. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('API limits', () => {
  const namespace = `prism:${testId('limits')}:`;
  // Two API processes on one Redis: the same counts.
  let one: ApiFixture;
  let two: ApiFixture;
  beforeAll(async () => {
    const overrides = { API_RATE_LIMIT_MAX: max, API_RATE_LIMIT_WINDOW: '30s' };
    [one, two] = await Promise.all([
      apiFixture(overrides, { rateLimitNamespace: namespace }),
      apiFixture(overrides, { rateLimitNamespace: namespace }),
    ]);
  });
  afterAll(async () => {
    const redis = one?.deps.redis;
    const counts = redis ? await redis.keys(`${namespace}*`) : [];
    if (counts.length > 0) await redis!.del(...counts);
    await Promise.all([one?.close(), two?.close()]);
  });

  it('counts each API key across API processes, and answers 429 with Retry-After in the usual error shape', async () => {
    const { key } = await one.keyFor('viewer');
    const statuses: number[] = [];
    for (let i = 0; i < max; i++) {
      const res = await (i % 2 ? two : one).call('GET', '/agents', { key });
      statuses.push(res.status);
      expect(res.headers.get('x-ratelimit-limit')).toBe(String(max));
      expect(res.headers.get('x-ratelimit-remaining')).toBe(String(max - i - 1));
    }
    expect(statuses).toEqual(Array(max).fill(200));
    const limited = await two.call('GET', '/agents', { key });
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(limited.body).toEqual({
      error: 'Too Many Requests',
      code: 'RATE_LIMITED',
      message: expect.stringMatching(
        /^rate limit exceeded: at most 5 requests per 30 s for this API key; retry after \d+ s/,
      ),
    });
    // Another key has a count of its own.
    expect((await one.call('GET', '/agents', { key: (await one.keyFor('viewer')).key })).status).toBe(200);
  });

  it('counts requests without a valid key by address, bad keys included, before answering 401', async () => {
    const fx = await apiFixture({ API_RATE_LIMIT_MAX: max, API_RATE_LIMIT_WINDOW: '30s' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < max + 2; i++) {
        statuses.push(
          (await fx.call('GET', '/agents', i % 2 ? { key: 'prism_000000000000_guess' } : {})).status,
        );
      }
      expect(statuses).toEqual([...Array(max).fill(401), 429, 429]);
      // Public routes count too, by address: the docs, a 404.
      expect((await fx.call('GET', '/no-such-route')).status).toBe(429);
      // A valid key is the key's own count, wherever it comes from.
      expect((await fx.call('GET', '/agents', { key: (await fx.keyFor('viewer')).key })).status).toBe(200);
      // Liveness and metrics are never limited; readiness has a count of its own.
      for (let i = 0; i < max + 2; i++) {
        expect((await fx.call('GET', '/healthz')).status).toBe(200);
        expect((await fx.call('GET', '/metrics')).status).toBe(200);
      }
      const ready = await fx.call('GET', '/readyz');
      expect(ready.status).not.toBe(429);
      expect(ready.headers.get('x-ratelimit-remaining')).toBe(String(max - 1));
    } finally {
      await fx.close();
    }
  });

  it('documents 429 with Retry-After on every limited route, and not on liveness and metrics', async () => {
    const doc = (
      await one.call<{
        paths: Record<string, Record<string, { responses: Record<string, { headers?: object }> }>>;
      }>('GET', '/docs/json')
    ).body;
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const exempt = path === '/healthz' || path === '/metrics';
        expect(Boolean(operation.responses['429']), `${method} ${path}`).toBe(!exempt);
        if (!exempt) expect(operation.responses['429']!.headers).toHaveProperty('retry-after');
      }
    }
  });

  it('refuses a body over the limit with 413, headers over the limit with 431, a long path parameter with 400', async () => {
    const { key } = await two.keyFor('admin');
    const big = await two.call('POST', '/knowledge', {
      key,
      body: { title: 't', content: 'x'.repeat(httpLimits.bodyBytes), documentType: 'FAQ' },
    });
    expect(big.status).toBe(413);
    expect(big.body).toEqual({
      error: 'Payload Too Large',
      code: 'BODY_TOO_LARGE',
      message: expect.stringMatching(/^the request body is larger than 4194304 bytes: send less/),
    });
    const headers = await rawGet(`${two.baseUrl}/healthz`, {
      'x-padding': 'x'.repeat(httpLimits.headerBytes),
    });
    expect(headers.status).toBe(431);
    expect(JSON.parse(headers.body)).toEqual({
      error: 'Request Header Fields Too Large',
      code: 'HEADERS_TOO_LARGE',
      message: expect.stringMatching(/headers are larger than 16384 bytes/),
    });
    const long = await two.call('GET', `/tasks/${'a'.repeat(httpLimits.paramChars + 1)}`, { key });
    expect(long.status).toBe(400);
    expect(long.body).toMatchObject({ code: 'INVALID_INPUT', fields: [{ field: 'path' }] });
    // The longest id a route takes (255 characters, percent-encoded) is within the limit.
    const longest = await two.call('GET', `/tasks/${encodeURIComponent('漢'.repeat(255))}`, { key });
    expect(longest.status).toBe(404);
    const media = await fetch(`${two.baseUrl}/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' },
      body: '<task/>',
    });
    expect(media.status).toBe(415);
    expect(await media.json()).toEqual({
      error: 'Unsupported Media Type',
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: expect.stringMatching(/send the body as JSON, with `Content-Type: application\/json`/),
    });
  });

  it('stores API keys hashed (SHA-256), never in clear', async () => {
    const issued = await one.keyFor('operator');
    const row = await one.deps.prisma.apiKey.findUniqueOrThrow({ where: { id: issued.keyId } });
    expect(row.keyHash).toBe(createHash('sha256').update(issued.key).digest('hex'));
    // The secret part, after `prism_<prefix>_` (base64url: it may itself contain '_').
    const secret = issued.key.slice(`prism_${row.prefix}_`.length);
    expect(JSON.stringify(row)).not.toContain(secret);
    const columns = await one.deps.prisma.$queryRaw<{ column_name: string }[]>`
      SELECT column_name FROM information_schema.columns WHERE table_name = 'api_keys'`;
    for (const { column_name } of columns) {
      const rows = await one.deps.prisma.$queryRawUnsafe<{ v: string | null }[]>(
        `SELECT "${column_name}"::text AS v FROM api_keys WHERE id = $1::uuid`,
        issued.keyId,
      );
      expect(rows[0]!.v ?? '').not.toContain(secret);
    }
  });
});
