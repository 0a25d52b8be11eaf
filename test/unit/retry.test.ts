// Which errors mean "the service could not be reached" (retried) and which mean anything else (thrown at
// once), and how calls are retried within a deadline and fail naming the component.
import { describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  certificateProblem,
  retryTransient,
  ServiceUnavailableError,
  transientReason,
  withRetries,
} from '../../src/retry.ts';
import { retryDeadlineMs, storeTarget } from '../../src/agents/resilient.ts';
import { parseConfig } from '../../src/config.ts';

const refused = (address = '127.0.0.1:18086') =>
  Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });

describe('transientReason', () => {
  it('knows the ways each client says it could not reach its service', () => {
    const cases: [string, unknown][] = [
      ['node', refused()],
      ['undici fetch', Object.assign(new TypeError('fetch failed'), { cause: refused() })],
      [
        'prisma model query',
        Object.assign(new Error('Invalid `prisma.agent.findMany()` invocation'), {
          name: 'PrismaClientKnownRequestError',
          code: 'P1001',
        }),
      ],
      [
        'prisma raw query',
        Object.assign(new Error("Raw query failed. Message: `Can't reach database server at 127.0.0.1:1`"), {
          code: 'P2010',
          meta: {
            driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'DatabaseNotReachable' } },
          },
        }),
      ],
      [
        'postgres restarting',
        Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      ],
      [
        'ioredis',
        Object.assign(new Error('Reached the max retries per request limit'), {
          name: 'MaxRetriesPerRequestError',
        }),
      ],
      [
        'kafkajs',
        Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:19092'), {
          name: 'KafkaJSNumberOfRetriesExceeded',
          cause: Object.assign(new Error('Connection error'), { name: 'KafkaJSConnectionError' }),
        }),
      ],
      [
        'temporal client',
        Object.assign(new Error('Failed to start Workflow'), {
          name: 'ServiceError',
          cause: Object.assign(new Error('14 UNAVAILABLE: No connection established'), {
            code: 14,
            details: 'No connection established',
          }),
        }),
      ],
      ['temporal connect', new Error('Failed to connect before the deadline')],
      [
        'weaviate',
        Object.assign(new Error('Weaviate startup failed: fetch failed'), { name: 'WeaviateStartUpError' }),
      ],
      ['http 503', Object.assign(new Error('Service Unavailable'), { statusCode: 503 })],
      [
        // Weaviate just restarted, its shards not loaded yet (seen by `prism chaos --scratch`, run dcec2b67, 2026-12-07).
        'weaviate loading',
        new Error(
          'Query call with protocol gRPC failed with message: /weaviate.v1.Weaviate/Search UNKNOWN: explorer: get class: vector search: tried to browse non-existing index for AgentMemory',
        ),
      ],
    ];
    for (const [what, err] of cases) expect(transientReason(err), what).toBeDefined();
  });

  it('leaves every other error alone: retrying would not cure it', () => {
    const cases: unknown[] = [
      new Error('no spindle_temperature_c readings of machine cnc-09'),
      Object.assign(new Error('Unique constraint failed'), { code: 'P2002' }),
      Object.assign(new Error('duplicate key value'), { code: '23505' }),
      Object.assign(new Error('Workflow execution already started'), {
        cause: Object.assign(new Error('6 ALREADY_EXISTS'), { code: 6, details: 'already started' }),
      }),
      Object.assign(new Error('Unauthorized'), { statusCode: 401 }),
      'a string',
      undefined,
    ];
    for (const err of cases) expect(transientReason(err)).toBeUndefined();
  });

  it('names a refused certificate in its own words', () => {
    expect(
      certificateProblem(
        Object.assign(new TypeError('fetch failed'), {
          cause: Object.assign(new Error("Hostname/IP does not match certificate's altnames: IP: 10.0.0.1"), {
            code: 'ERR_TLS_CERT_ALTNAME_INVALID',
          }),
        }),
      ),
    ).toBe("ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match certificate's altnames: IP: 10.0.0.1");
    expect(
      certificateProblem(
        new Error(
          '14 UNAVAILABLE: No connection established. Last error: Error: self-signed certificate in certificate chain',
        ),
      ),
    ).toBe('self-signed certificate in certificate chain');
    expect(certificateProblem(refused())).toBeUndefined();
  });

  it('says why in a few words, from the innermost error that knows', () => {
    expect(transientReason(Object.assign(new TypeError('fetch failed'), { cause: refused() }))).toBe(
      'fetch failed',
    );
    expect(transientReason(refused('127.0.0.1:5'))).toBe('connect ECONNREFUSED 127.0.0.1:5');
  });
});

describe('retryTransient', () => {
  const policy = {
    component: 'InfluxDB',
    target: 'http://127.0.0.1:18086',
    initialDelayMs: 5,
    maxDelayMs: 20,
  };

  it('retries while the service is unreachable and returns what the call returns once it is back', async () => {
    const attempts: number[] = [];
    const retried: string[] = [];
    const result = await retryTransient(
      async (attempt) => {
        attempts.push(attempt);
        if (attempt < 4) throw refused();
        return 'rows';
      },
      { ...policy, maxWaitMs: 5_000, onRetry: ({ reason }) => retried.push(reason) },
    );
    expect(result).toBe('rows');
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(retried).toEqual(Array(3).fill('connect ECONNREFUSED 127.0.0.1:18086'));
  });

  it('throws any other error at once', async () => {
    let attempts = 0;
    await expect(
      retryTransient(
        async () => {
          attempts++;
          throw new Error('bad Flux: unexpected token');
        },
        { ...policy, maxWaitMs: 5_000 },
      ),
    ).rejects.toThrow('bad Flux: unexpected token');
    expect(attempts).toBe(1);
  });

  it('throws a refused certificate at once: every attempt would meet the same certificate', async () => {
    const refusals = [
      Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('self-signed certificate in certificate chain'), {
          code: 'SELF_SIGNED_CERT_IN_CHAIN',
        }),
      }),
      Object.assign(
        new Error(
          '14 UNAVAILABLE: No connection established. Last error: Error: unable to verify the first certificate',
        ),
        {
          code: 14,
          details: 'No connection established. Last error: Error: unable to verify the first certificate',
        },
      ),
    ];
    for (const refusal of refusals) {
      // Unreachable as far as a consumer is concerned (it holds its message), but not worth a retry here.
      expect(transientReason(refusal)).toBeDefined();
      let attempts = 0;
      await expect(
        retryTransient(
          async () => {
            attempts++;
            throw refusal;
          },
          { ...policy, maxWaitMs: 5_000 },
        ),
      ).rejects.toBe(refusal);
      expect(attempts).toBe(1);
    }
  });

  it('gives up at the deadline, naming the component, where it was and why', async () => {
    const started = Date.now();
    const err = await retryTransient(
      async () => {
        throw refused();
      },
      { ...policy, deadlineMs: Date.now() + 200 },
    ).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect((err as ServiceUnavailableError).component).toBe('InfluxDB');
    expect((err as Error).message).toMatch(
      /^InfluxDB unreachable at http:\/\/127\.0\.0\.1:18086: connect ECONNREFUSED 127\.0\.0\.1:18086/,
    );
    expect((err as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('backs off doubling, capped, with jitter', () => {
    for (let i = 0; i < 50; i++) {
      expect(backoffDelayMs(1, 200, 2_000)).toBeGreaterThanOrEqual(160);
      expect(backoffDelayMs(1, 200, 2_000)).toBeLessThanOrEqual(240);
      expect(backoffDelayMs(3, 200, 2_000)).toBeGreaterThanOrEqual(640);
      expect(backoffDelayMs(30, 200, 2_000)).toBeLessThanOrEqual(2_400);
    }
  });
});

describe('withRetries', () => {
  class FakeQueryApi {
    #calls = 0; // a private field: methods must run on the real object, not the proxy
    failures: number;
    nested = { count: async () => this.#calls };
    constructor(failures: number) {
      this.failures = failures;
    }
    async collectRows(query: string): Promise<string[]> {
      this.#calls++;
      if (this.#calls <= this.failures) throw refused();
      return [query];
    }
    builder() {
      this.#calls++;
      return { then: undefined, query: 'q' };
    }
  }

  it('retries the methods that return promises, on the real object, nested ones too', async () => {
    const api = new FakeQueryApi(2);
    const wrapped = withRetries(api, () => ({
      component: 'InfluxDB',
      target: 'x',
      maxWaitMs: 5_000,
      initialDelayMs: 1,
      maxDelayMs: 5,
    }));
    await expect(wrapped.collectRows('from(bucket: "prism")')).resolves.toEqual(['from(bucket: "prism")']);
    await expect(wrapped.nested.count()).resolves.toBe(3);
    expect(wrapped.builder()).toEqual({ then: undefined, query: 'q' });
    expect(wrapped.failures).toBe(2);
  });

  it('fails naming the component when the service stays away', async () => {
    const wrapped = withRetries(new FakeQueryApi(1_000), () => ({
      component: 'InfluxDB',
      target: 'http://127.0.0.1:18086',
      deadlineMs: Date.now() + 50,
      initialDelayMs: 5,
    }));
    await expect(wrapped.collectRows('q')).rejects.toThrow(
      /^InfluxDB unreachable at http:\/\/127\.0\.0\.1:18086/,
    );
  });
});

describe("an agent's store calls", () => {
  it("are retried until shortly before the command's deadline", () => {
    const now = Date.parse('2026-11-30T10:00:00Z');
    expect(retryDeadlineMs('2026-11-30T10:01:00Z', now)).toBe(now + 58_000);
    // A deadline already (almost) past still gets one short round.
    expect(retryDeadlineMs('2026-11-30T10:00:00.500Z', now)).toBe(now + 1_000);
  });

  it('name each store by where the agent looks for it', () => {
    const env = parseConfig({
      POSTGRES_PASSWORD: 'secret-secret',
      REDIS_PASSWORD: 'secret-secret',
      INFLUX_PASSWORD: 'secret-secret',
    });
    expect(storeTarget(env, 'InfluxDB')).toBe('http://127.0.0.1:18086');
    expect(storeTarget(env, 'PostgreSQL')).toBe('127.0.0.1:15432');
    expect(storeTarget(env, 'Redis')).toBe('127.0.0.1:16379');
    expect(storeTarget(env, 'Weaviate')).toBe('http://127.0.0.1:18080');
    expect(storeTarget(env, 'Kafka')).toBe('127.0.0.1:19092');
  });
});
