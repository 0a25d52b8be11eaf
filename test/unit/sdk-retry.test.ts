// The SDK rides out an API that restarts (connections refused) or answers 503 while a service it needs
// restarts: it retries where repeating the request changes nothing, and only there.
import { describe, expect, it } from 'vitest';
import { PrismApiError, PrismClient } from '../../src/sdk/index.ts';

const refused = () =>
  new TypeError('fetch failed', {
    cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3000'), { code: 'ECONNREFUSED' }),
  });
const reset = () =>
  new TypeError('fetch failed', {
    cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
  });
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** A fetch that plays the given answers in order and records the requests. */
function scripted(...answers: (() => Response | Error)[]) {
  const requests: { method: string; url: string; body: unknown }[] = [];
  const fetch = (async (url: URL, init: RequestInit) => {
    requests.push({
      method: init.method ?? 'GET',
      url: String(url),
      body: init.body ? JSON.parse(String(init.body)) : undefined,
    });
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    const answer = next();
    if (answer instanceof Error) throw answer;
    return answer;
  }) as unknown as typeof globalThis.fetch;
  return { fetch, requests };
}

const submitted = { taskId: 't', requestId: 'r', workflowId: 'w', statusUrl: '/tasks/w', temporalUrl: 'u' };

describe('the SDK while the API restarts', () => {
  it('submits once the API is back, the same request id every time (one task)', async () => {
    const { fetch, requests } = scripted(refused, refused, reset, () => json(202, submitted));
    const client = new PrismClient({ baseUrl: 'http://api', apiKey: 'k', fetch, retryForMs: 10_000 });
    await expect(client.submitTask({ query: 'check', agentType: 'MONITORING' })).resolves.toEqual(submitted);
    expect(requests).toHaveLength(4);
    const ids = new Set(requests.map((r) => (r.body as { requestId: string }).requestId));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('retries a read answered 503 (a service the API needs is restarting), after its Retry-After', async () => {
    const { fetch, requests } = scripted(
      () => json(503, { message: 'Temporal is unavailable at the moment' }, { 'retry-after': '1' }),
      () => json(200, { status: 'COMPLETED' }),
    );
    const client = new PrismClient({ baseUrl: 'http://api', apiKey: 'k', fetch, retryForMs: 10_000 });
    const t0 = Date.now();
    await expect(client.getTask('r')).resolves.toEqual({ status: 'COMPLETED' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(requests).toHaveLength(2);
  });

  it('waits out its rate limit (429) after Retry-After, for any request, within retryForMs', async () => {
    const { fetch, requests } = scripted(
      () => json(429, { message: 'Rate limit exceeded, retry in 1 second' }, { 'retry-after': '1' }),
      () => json(200, { ok: true }),
    );
    const client = new PrismClient({ baseUrl: 'http://api', apiKey: 'k', fetch, retryForMs: 10_000 });
    const t0 = Date.now();
    await expect(client.cancelTask('r')).resolves.toEqual({ ok: true });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(requests.map((r) => r.method)).toEqual(['POST', 'POST']);
    // Past retryForMs the 429 is the caller's.
    const limited = scripted(() => json(429, { message: 'Rate limit exceeded' }, { 'retry-after': '5' }));
    const hurried = new PrismClient({
      baseUrl: 'http://api',
      apiKey: 'k',
      fetch: limited.fetch,
      retryForMs: 0,
    });
    await expect(hurried.cancelTask('r')).rejects.toMatchObject({ status: 429 });
  });

  it('does not repeat a request that may have reached the server and is not safe to repeat', async () => {
    const { fetch, requests } = scripted(reset, () => json(201, {}));
    const client = new PrismClient({ baseUrl: 'http://api', apiKey: 'k', fetch, retryForMs: 10_000 });
    await expect(client.sendFeedback('r', { feedbackType: 'APPROVAL', content: 'ok' })).rejects.toThrow(
      /cannot reach the PRISM API at http:\/\/api \(fetch failed: read ECONNRESET\)/,
    );
    expect(requests).toHaveLength(1);
  });

  it('but does repeat one the server never received (connection refused)', async () => {
    const { fetch, requests } = scripted(refused, () => json(201, { feedbackId: 'f' }));
    const client = new PrismClient({ baseUrl: 'http://api', apiKey: 'k', fetch, retryForMs: 10_000 });
    await expect(client.sendFeedback('r', { feedbackType: 'APPROVAL', content: 'ok' })).resolves.toEqual({
      feedbackId: 'f',
    });
    expect(requests).toHaveLength(2);
  });

  it('gives up after retryForMs with the last error, and not at all when told so', async () => {
    const always = scripted(...Array.from({ length: 100 }, () => refused));
    const client = new PrismClient({
      baseUrl: 'http://api',
      apiKey: 'k',
      fetch: always.fetch,
      retryForMs: 300,
    });
    const t0 = Date.now();
    const err = await client.getTask('r').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrismApiError);
    expect((err as PrismApiError).status).toBe(0);
    expect(Date.now() - t0).toBeLessThan(2_000);
    const once = scripted(refused);
    const noRetry = new PrismClient({ baseUrl: 'http://api', apiKey: 'k', fetch: once.fetch, retryForMs: 0 });
    await expect(noRetry.getTask('r')).rejects.toThrow(/ECONNREFUSED/);
    expect(once.requests).toHaveLength(1);
  });
});
