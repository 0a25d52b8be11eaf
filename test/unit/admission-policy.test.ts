// The pure rules of priority and fairness (src/admission/policy.ts): the priority keys Temporal gets, whose
// turn a task is, and PRISM_AGENT_LIMITS as start-up reads it.
import { describe, expect, it } from 'vitest';
import {
  agentLimitsOf,
  fairnessKeyOf,
  parseAgentLimits,
  priorityKeys,
  priorityOfKey,
  priorityRanks,
  temporalPriorityOf,
} from '../../src/admission/policy.ts';
import { ConfigError, envSchema, parseConfig } from '../../src/config.ts';

describe('priority', () => {
  it('gives HIGH the smallest Temporal key and NORMAL the server default (3 of 1–5)', () => {
    expect(priorityKeys).toEqual({ HIGH: 1, NORMAL: 3, LOW: 5 });
    expect(priorityRanks.HIGH).toBeLessThan(priorityRanks.NORMAL);
    expect(priorityRanks.NORMAL).toBeLessThan(priorityRanks.LOW);
  });

  it('reads any key another SDK set back as a priority', () => {
    expect([undefined, 0, 1, 2, 3, 4, 5].map(priorityOfKey)).toEqual([
      'NORMAL',
      'NORMAL',
      'HIGH',
      'HIGH',
      'NORMAL',
      'LOW',
      'LOW',
    ]);
  });
});

describe('fairness key', () => {
  const userId = '0b7c5e8e-6a39-4b8e-9e69-2f3cf6a1d001';
  it('is the plant line when the request names one, else the user, else anonymous', () => {
    expect(fairnessKeyOf({ userId, parameters: { line: ' line-3 ', machine: 'cnc-02' } })).toBe(
      'line:line-3',
    );
    expect(fairnessKeyOf({ userId, parameters: { machine: 'cnc-02' } })).toBe(`user:${userId}`);
    expect(fairnessKeyOf({ parameters: { line: '' } })).toBe('anonymous');
    expect(fairnessKeyOf({ parameters: { line: 7 } })).toBe('anonymous');
  });

  it('fits Temporal’s 64 bytes, cutting whole characters only', () => {
    const key = fairnessKeyOf({ parameters: { line: 'é'.repeat(100) } });
    expect(Buffer.byteLength(key)).toBeLessThanOrEqual(64);
    expect(key).toBe(`line:${'é'.repeat(29)}`);
    expect(temporalPriorityOf({ priority: 'LOW', userId })).toEqual({
      priorityKey: 5,
      fairnessKey: `user:${userId}`,
    });
  });
});

describe('PRISM_AGENT_LIMITS', () => {
  it('reads TYPE=N pairs, any case and spacing; types not named have no limit', () => {
    expect(parseAgentLimits('CONTROL=2, monitoring = 8')).toEqual({ limits: { CONTROL: 2, MONITORING: 8 } });
    expect(parseAgentLimits('')).toEqual({ limits: {} });
    expect(agentLimitsOf(undefined)).toEqual({});
  });

  it('names every bad entry', () => {
    expect(parseAgentLimits('CONTROL=0,WELDING=3,ANALYSIS,CONTROL=2,PREDICTION=2,PREDICTION=4')).toEqual({
      problems: [
        'CONTROL=0: the limit must be a whole number from 1 to 10000',
        '"WELDING" is not an agent type: use MONITORING, PREDICTION, CONTROL, ANALYSIS',
        '"ANALYSIS" is not TYPE=N (for example CONTROL=2)',
        'PREDICTION is named twice',
      ],
    });
  });

  it('stops the worker’s start-up naming the variable', () => {
    const secrets = {
      POSTGRES_PASSWORD: 'pg-secret-1',
      POSTGRES_APP_PASSWORD: 'pg-app-secret-1',
      REDIS_PASSWORD: 'redis-secret-1',
      REDIS_WORKER_PASSWORD: 'redis-worker-1',
      KAFKA_WORKER_PASSWORD: 'kafka-worker-1',
      INFLUX_PASSWORD: 'influx-secret-1',
    };
    const err = (() => {
      try {
        parseConfig({ ...secrets, PRISM_AGENT_LIMITS: 'CONTROL=0' }, 'worker');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toContainEqual(
      expect.objectContaining({ field: 'PRISM_AGENT_LIMITS' }),
    );
    expect((err as ConfigError).message).toContain('PRISM_AGENT_LIMITS');
    expect(parseConfig({ ...secrets, PRISM_AGENT_LIMITS: 'CONTROL=2' }, 'worker').PRISM_AGENT_LIMITS).toBe(
      'CONTROL=2',
    );
    const parsed = envSchema.shape.PRISM_AGENT_LIMITS.safeParse('CONTROL=-1');
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toBe('"CONTROL=-1" is not TYPE=N (for example CONTROL=2)');
    expect(envSchema.shape.PRISM_AGENT_LIMITS.parse(undefined)).toBe('');
  });
});
