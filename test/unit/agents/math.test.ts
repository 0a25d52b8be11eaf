// The pure parts of the agents (no I/O): anomaly detection, forecasts, constraint checks, ranking, parameters.
import { describe, expect, it } from 'vitest';
import { defaultAgentId, responseIdFor } from '../../../src/agents/index.ts';
import { parseParameters } from '../../../src/agents/parameters.ts';
import {
  alertSeverity,
  detectAnomalies,
  median,
  robustScores,
  seriesStats,
} from '../../../src/agents/reference/anomaly.ts';
import { checkConstraints, isApproved, proposeSetpoint } from '../../../src/agents/reference/constraints.ts';
import { expectation, satisfies } from '../../../src/constraints/rule.ts';
import {
  fitError,
  holtForecast,
  linearForecast,
  linearTrend,
  medianStepMs,
} from '../../../src/agents/reference/forecast.ts';
import { monitoringParameters } from '../../../src/agents/reference/monitoring.ts';
import { predictionParameters } from '../../../src/agents/reference/prediction.ts';
import { rankHits } from '../../../src/agents/reference/ranking.ts';
import type { AgentCommand, AgentType } from '../../../src/task/index.ts';

// A command as parseParameters sees it (the integration tests' makeCommand loads the tests' deployment).
function makeCommand(agentType: AgentType, overrides: Partial<AgentCommand> = {}): AgentCommand {
  return {
    commandId: '0b0c6a46-3a1e-4a53-9bd1-6a2f3b1c4d5e',
    taskId: '5d7e1c2a-8f3b-4c6d-9e0a-1b2c3d4e5f60',
    workflowId: 'task-math',
    stepKey: 'main',
    agentType,
    instruction: 'test instruction',
    parameters: {},
    knowledge: [],
    upstream: {},
    deadlineAt: '2030-01-01T00:00:00.000Z',
    ...overrides,
  };
}

describe('anomaly detection', () => {
  it('computes the statistics of a series', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(seriesStats([2, 4, 4, 4, 5, 5, 7, 9])).toEqual({
      count: 8,
      mean: 5,
      median: 4.5,
      stdDev: 2,
      mad: 0.5,
      min: 2,
      max: 9,
    });
  });

  it('flags the outlier by its modified z-score and leaves the normal values alone', () => {
    const values = [50, 51, 49, 50, 52, 48, 50, 51, 95, 50];
    const anomalies = detectAnomalies(values, { threshold: 3.5 });
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]).toMatchObject({ index: 8, value: 95, reasons: ['robust-z'] });
    // median 50, MAD 1: 0.6745 × 45 / 1
    expect(anomalies[0]!.score).toBeCloseTo(30.3525, 4);
    expect(alertSeverity(anomalies, 3.5)).toBe('CRITICAL');
  });

  it('falls back to the mean absolute deviation when the MAD is 0, and scores a flat series 0', () => {
    const scores = robustScores([10, 10, 10, 10, 10, 20]);
    // median 10, MAD 0, mean absolute deviation 10/6
    expect(scores[5]).toBeCloseTo(10 / (1.253314 * (10 / 6)), 6);
    expect(robustScores([7, 7, 7])).toEqual([0, 0, 0]);
    expect(detectAnomalies([7, 7, 7], { threshold: 3.5 })).toEqual([]);
  });

  it('flags values outside absolute limits whatever their score', () => {
    const anomalies = detectAnomalies([10, 11, 12, 13, 14], { threshold: 3.5, max: 13.5, min: 10.5 });
    expect(anomalies.map((a) => [a.index, a.reasons])).toEqual([
      [0, ['below-min']],
      [4, ['above-max']],
    ]);
    expect(alertSeverity(anomalies, 3.5)).toBe('CRITICAL');
    expect(alertSeverity([{ index: 0, value: 1, score: 4, reasons: ['robust-z'] }], 3.5)).toBe('WARNING');
  });
});

describe('forecasts', () => {
  const times = [0, 10_000, 20_000, 30_000, 40_000];

  it('fits an exact line and extends it by the median step', () => {
    const values = times.map((t) => 5 + 0.2 * (t / 1000)); // 5, 7, 9, 11, 13
    expect(linearTrend([0, 1, 2], [1, 3, 5])).toEqual({ slope: 2, intercept: 1 });
    expect(medianStepMs([0, 10_000, 20_000, 35_000])).toBe(10_000);
    const result = linearForecast(times, values, 3, 10_000);
    expect(result.slopePerSecond).toBeCloseTo(0.2, 10);
    expect(result.forecast.map((f) => f.timeMs)).toEqual([50_000, 60_000, 70_000]);
    expect(result.forecast.map((f) => f.value)).toEqual([
      expect.closeTo(15, 9),
      expect.closeTo(17, 9),
      expect.closeTo(19, 9),
    ]);
    expect(result.fit.rmse).toBeCloseTo(0, 9);
  });

  it('reports the fit error of a noisy series', () => {
    const result = linearForecast(times, [0, 2, 0, 2, 0], 1, 10_000);
    expect(result.slopePerSecond).toBe(0);
    expect(result.fit.n).toBe(5);
    expect(result.fit.mae).toBeCloseTo(0.96, 9);
    expect(fitError([3, -4])).toEqual({ rmse: Math.sqrt(12.5), mae: 3.5, n: 2 });
  });

  it("follows a trend with Holt's smoothing", () => {
    const exact = holtForecast([1, 3, 5, 7, 9], 0.5, 0.3, 2);
    expect(exact.values).toEqual([11, 13]);
    expect(exact.fit).toEqual({ rmse: 0, mae: 0, n: 4 });
    const noisy = holtForecast([10, 12, 11, 15, 16, 18], 0.8, 0.2, 1);
    expect(noisy.values[0]).toBeGreaterThan(18);
    expect(noisy.fit.rmse).toBeGreaterThan(0);
    expect(() => holtForecast([1, 2], 0, 0.5, 1)).toThrow(/alpha must be in \(0, 1\]/);
  });
});

describe('constraint checks', () => {
  const constraint = (name: string, rule: unknown, isBlocking = false) => ({
    id: name,
    name,
    rule,
    isBlocking,
  });

  it('evaluates each operator', () => {
    expect(satisfies({ parameter: 'p', operator: '<=', value: 5 }, 5)).toBe(true);
    expect(satisfies({ parameter: 'p', operator: '<', value: 5 }, 5)).toBe(false);
    expect(satisfies({ parameter: 'p', operator: '>=', value: 5 }, 4)).toBe(false);
    expect(satisfies({ parameter: 'p', operator: '>', value: 5 }, 6)).toBe(true);
    expect(satisfies({ parameter: 'p', operator: '==', value: 5 }, 5)).toBe(true);
    expect(satisfies({ parameter: 'p', operator: '!=', value: 5 }, 5)).toBe(false);
    expect(satisfies({ parameter: 'p', operator: 'between', value: [1, 3] }, 3)).toBe(true);
    expect(expectation({ parameter: 'p', operator: 'between', value: [1, 3] })).toBe('between 1 and 3');
  });

  it('reports violations, skips rules of another shape, and ignores rules about other parameters', () => {
    const check = checkConstraints({ speed: 13_000, feed: 2 }, [
      constraint('max-speed', { parameter: 'speed', operator: '<=', value: 12_000 }, true),
      constraint('min-speed', { parameter: 'speed', operator: '>=', value: 1_000 }),
      constraint('feed-range', { parameter: 'feed', operator: 'between', value: [3, 5] }),
      constraint('temperature', { parameter: 'temperature', operator: '<', value: 80 }),
      constraint('free-text', { text: 'keep it safe' }),
    ]);
    expect(check.violations.map((v) => [v.constraint.name, v.actual])).toEqual([
      ['max-speed', 13_000],
      ['feed-range', 2],
    ]);
    expect(check.satisfied.map((c) => c.name)).toEqual(['min-speed']);
    expect(check.skipped.map((s) => s.constraint.name)).toEqual(['free-text']);
    expect(isApproved(check.violations)).toBe(false);
    expect(isApproved(check.violations.filter((v) => !v.constraint.isBlocking))).toBe(true);
  });

  it('proposes the given setpoint, or corrects the current one towards the target by an upstream expectation', () => {
    expect(proposeSetpoint({ setpoint: 42, gain: 1 }, {})).toEqual({
      setpoint: 42,
      source: 'parameters.setpoint',
    });
    const upstream = { forecast: { forecast: [{ value: 70 }, { value: 72 }] } };
    expect(proposeSetpoint({ target: 65, currentSetpoint: 100, gain: 0.5 }, upstream)).toEqual({
      setpoint: 96.5,
      source: 'upstream:forecast',
      expected: 72,
    });
    expect(
      proposeSetpoint({ target: 65, currentSetpoint: 100, gain: 1 }, { watch: { stats: { median: 60 } } }),
    ).toMatchObject({
      setpoint: 105,
    });
    expect(proposeSetpoint({ gain: 1 }, upstream)).toEqual({
      reason: expect.stringMatching(/^parameters.setpoint: required/),
    });
  });
});

describe('ranking and parameters', () => {
  it('merges hits by score with a stable order', () => {
    const hit = (collection: string, id: string, score: number) => ({
      id,
      collection,
      title: id,
      snippet: '',
      score,
    });
    const ranked = rankHits([hit('B', '2', 1), hit('A', '3', 2), hit('A', '1', 1), hit('B', '0', 0.5)], 3);
    expect(ranked.map((h) => h.id)).toEqual(['3', '1', '2']);
  });

  it('reads parameters with defaults, per-type overrides, and errors naming the parameter', () => {
    const command = makeCommand('PREDICTION', {
      parameters: {
        machine: 'cnc-7',
        horizon: 3,
        prediction: { since: '-2h' },
        monitoring: { since: '-5m' },
      },
    });
    expect(parseParameters(command, predictionParameters)).toMatchObject({
      machine: 'cnc-7',
      sensorType: 'temperature',
      since: '-2h',
      horizon: 3,
      method: 'linear',
    });
    expect(() => parseParameters(makeCommand('MONITORING'), monitoringParameters)).toThrow(
      'parameters.machine: required',
    );
    expect(() =>
      parseParameters(
        makeCommand('MONITORING', { parameters: { machine: 'm', since: '15m', min: 5, max: 1 } }),
        monitoringParameters,
      ),
    ).toThrow(/parameters\.since: use a negative duration/);
  });

  it('derives response ids as docs/agent-protocol.md says (Python: uuid.uuid5(namespace, "response:" + id))', () => {
    expect(responseIdFor('0b0c6a46-3a1e-4a53-9bd1-6a2f3b1c4d5e')).toBe(
      '713ba33b-e2a5-514a-8a87-3c10da7b5f80',
    );
  });

  it('derives a default agent id usable as a Redis key part and a Weaviate tenant', () => {
    expect(defaultAgentId('MONITORING', 'line1.plant.example')).toBe('monitoring-agent-line1-plant-example');
    expect(defaultAgentId('CONTROL', '')).toBe('control-agent-host');
  });
});
