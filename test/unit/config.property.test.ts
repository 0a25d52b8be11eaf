// Bad configuration, generated: whatever a variable holds, parseConfig answers a configuration or a
// ConfigError naming exactly the bad variables — never another exception, never a variable it was not given.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, envSchema, parseConfig, type Env } from '../../src/config.ts';
import type { Component } from '../../src/identity.ts';
import { windowMs } from '../../src/api/limits.ts';
import { anyString } from './arbitraries.ts';

const secrets = {
  POSTGRES_PASSWORD: 'pg-secret-1',
  REDIS_PASSWORD: 'redis-secret-1',
  INFLUX_PASSWORD: 'secret-1',
};
const variables = Object.keys(envSchema.shape);
const runs = { numRuns: 300 };

/** The configuration, or the names of the variables its ConfigError names (anything else fails the test). */
function parse(
  raw: Record<string, string | undefined>,
  component?: Component,
): { ok: true; env: Env } | { ok: false; bad: string[] } {
  try {
    return { ok: true, env: parseConfig(raw, component) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const p of error.problems) expect(p.message).toMatch(/\S/);
    expect(error.message).toMatch(/^Invalid configuration:\n/);
    return { ok: false, bad: [...new Set(error.problems.map((p) => p.field))] };
  }
}

describe('the configuration, on generated input', () => {
  it('is a configuration or a ConfigError naming only the variables that were set wrong', () => {
    const setting = fc.tuple(
      fc.constantFrom(...variables),
      fc.oneof(anyString(), fc.stringMatching(/^\d{1,7}$/)),
    );
    fc.assert(
      fc.property(fc.array(setting, { maxLength: 4 }), (settings) => {
        const raw = { ...secrets, ...Object.fromEntries(settings) };
        const result = parse(raw);
        if (!result.ok) for (const name of result.bad) expect(Object.keys(raw)).toContain(name);
      }),
      runs,
    );
  });

  it('takes every port from 1 to 65535 and names the variable of any other', () => {
    // The ports any value of which is theirs (some leave room for the ports after them).
    const ports = variables.filter(
      (v) =>
        v.endsWith('_PORT') && envSchema.shape[v as keyof typeof envSchema.shape].safeParse('65535').success,
    );
    expect(ports.length).toBeGreaterThan(10);
    fc.assert(
      fc.property(fc.constantFrom(...ports), fc.integer({ min: -70_000, max: 140_000 }), (name, port) => {
        const result = parse({ ...secrets, [name]: String(port) });
        if (port >= 1 && port <= 65535) expect(result.ok && result.env[name as keyof Env]).toBe(port);
        else expect(result).toEqual({ ok: false, bad: [name] });
      }),
      runs,
    );
  });

  it('takes the rate limit as a count and a window, and names a bad one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 999_999 }),
        fc.constantFrom('s', 'm', 'h'),
        (max, n, unit) => {
          const result = parse({
            ...secrets,
            API_RATE_LIMIT_MAX: String(max),
            API_RATE_LIMIT_WINDOW: `${n}${unit}`,
          });
          if (!result.ok) throw new Error(`refused ${result.bad.join(', ')}`);
          expect(result.env.API_RATE_LIMIT_MAX).toBe(max);
          expect(windowMs(result.env.API_RATE_LIMIT_WINDOW)).toBe(
            n * { s: 1_000, m: 60_000, h: 3_600_000 }[unit],
          );
        },
      ),
      runs,
    );
    const badMax = fc.oneof(
      fc.constantFrom('0', '-1', '1.5', '1.', '1e2', '0x10', 'lots', '1e9', 'Infinity'),
      anyString().filter((s) => !/^\s*\d+\s*$/.test(s) && s !== ''),
    );
    fc.assert(
      fc.property(badMax, (value) => {
        expect(parse({ ...secrets, API_RATE_LIMIT_MAX: value })).toEqual({
          ok: false,
          bad: ['API_RATE_LIMIT_MAX'],
        });
      }),
      runs,
    );
    const badWindow = fc.oneof(
      fc.constantFrom('0s', '1d', '10', 'm', '1.5m', '-1m', '1000000s'),
      anyString().filter((s) => !/^[1-9]\d{0,5}[smh]$/.test(s) && s !== ''),
    );
    fc.assert(
      fc.property(badWindow, (value) => {
        expect(parse({ ...secrets, API_RATE_LIMIT_WINDOW: value })).toEqual({
          ok: false,
          bad: ['API_RATE_LIMIT_WINDOW'],
        });
      }),
      runs,
    );
  });

  it('names a missing secret as required', () => {
    // The worker's own: its PostgreSQL role's and Redis user's passwords, and InfluxDB's.
    const own = {
      POSTGRES_APP_PASSWORD: 'pg-app-secret',
      REDIS_WORKER_PASSWORD: 'redis-worker-secret',
      INFLUX_PASSWORD: 'secret-1',
    };
    fc.assert(
      fc.property(fc.subarray(Object.keys(own), { minLength: 1 }), (missing) => {
        const raw: Record<string, string | undefined> = { ...own };
        for (const name of missing) raw[name] = fc.sample(fc.constantFrom(undefined, ''), 1)[0];
        expect(parse(raw, 'worker')).toEqual({ ok: false, bad: expect.arrayContaining(missing) });
      }),
      { numRuns: 30 },
    );
  });
});
