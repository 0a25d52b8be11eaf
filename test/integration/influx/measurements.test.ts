// Each measurement written through the batching writer and read back with the Flux helpers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentProgress } from '../../../src/progress.ts';
import {
  createInfluxWriter,
  meanPerWindow,
  provisionInflux,
  recentEvents,
  recentSensorReadings,
  resourceUsage,
  sensorReading,
  taskPerformance,
  taskPerformanceSummary,
  timelineEvent,
} from '../../../src/stores/influx/index.ts';
import { influxTestDatabase } from './fixtures.ts';

const db = influxTestDatabase('meas');
// Whole minutes in the recent past, so that 1-minute windows are predictable.
const minute = Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000;

describe('InfluxDB measurements', () => {
  beforeAll(async () => {
    await provisionInflux(db.env, silentProgress);
    const writer = createInfluxWriter(db.env);
    writer.write(
      sensorReading({
        line: 'L1',
        machine: 'cnc-7',
        sensorType: 'temperature',
        value: 61.5,
        unit: 'C',
        quality: 'GOOD',
        time: minute + 10_000,
      }),
      sensorReading({
        line: 'L1',
        machine: 'cnc-7',
        sensorType: 'temperature',
        value: 63.5,
        unit: 'C',
        quality: 'GOOD',
        time: minute + 40_000,
      }),
      sensorReading({
        line: 'L1',
        machine: 'cnc-7',
        sensorType: 'temperature',
        value: 70,
        unit: 'C',
        quality: 'UNCERTAIN',
        time: minute + 70_000,
      }),
      sensorReading({
        line: 'L1',
        machine: 'cnc-7',
        sensorType: 'vibration',
        value: 0.4,
        quality: 'GOOD',
        time: minute + 20_000,
      }),
      sensorReading({
        line: 'L2',
        machine: 'cnc-8',
        sensorType: 'temperature',
        value: 99,
        unit: 'C',
        quality: 'BAD',
        time: minute + 20_000,
      }),
      resourceUsage({ service: 'worker', resource: 'cpu_percent', value: 20, time: minute + 5_000 }),
      resourceUsage({ service: 'worker', resource: 'cpu_percent', value: 40, time: minute + 50_000 }),
      resourceUsage({ service: 'api', resource: 'cpu_percent', value: 90, time: minute + 50_000 }),
      // Two tasks finishing the same step in the same millisecond: both must be kept.
      taskPerformance({
        agentType: 'MONITORING',
        step: 'searchKnowledge',
        outcome: 'SUCCESS',
        durationMs: 120,
        taskId: 'task-1',
        attempts: 1,
        time: minute + 30_000,
      }),
      taskPerformance({
        agentType: 'MONITORING',
        step: 'searchKnowledge',
        outcome: 'SUCCESS',
        durationMs: 80,
        taskId: 'task-2',
        attempts: 1,
        time: minute + 30_000,
      }),
      taskPerformance({
        agentType: 'MONITORING',
        step: 'searchKnowledge',
        outcome: 'FAILURE',
        durationMs: 3000,
        taskId: 'task-3',
        attempts: 3,
        time: minute + 31_000,
      }),
      taskPerformance({
        agentType: 'CONTROL',
        step: 'dispatchCommand',
        outcome: 'SUCCESS',
        durationMs: 15,
        taskId: 'task-4',
        attempts: 1,
        time: minute + 32_000,
      }),
      timelineEvent({
        eventType: 'task_started',
        severity: 'INFO',
        source: 'orchestrator',
        message: 'Task task-1 started',
        taskId: 'task-1',
        time: minute + 1_000,
      }),
      timelineEvent({
        eventType: 'alert',
        severity: 'CRITICAL',
        source: 'monitoring',
        message: 'cnc-8 "over temperature"',
        time: minute + 21_000,
      }),
    );
    await writer.close();
    expect(writer.stats()).toMatchObject({ written: 14, pending: 0, failed: 0 });
  });
  afterAll(async () => {
    await db.drop();
  });

  it('reads back the sensor readings of one machine and sensor, oldest first', async () => {
    const rows = await recentSensorReadings(db.target, { machine: 'cnc-7', sensorType: 'temperature' });
    expect(rows).toEqual([
      {
        time: new Date(minute + 10_000),
        line: 'L1',
        machine: 'cnc-7',
        sensorType: 'temperature',
        value: 61.5,
        unit: 'C',
        quality: 'GOOD',
      },
      {
        time: new Date(minute + 40_000),
        line: 'L1',
        machine: 'cnc-7',
        sensorType: 'temperature',
        value: 63.5,
        unit: 'C',
        quality: 'GOOD',
      },
      {
        time: new Date(minute + 70_000),
        line: 'L1',
        machine: 'cnc-7',
        sensorType: 'temperature',
        value: 70,
        unit: 'C',
        quality: 'UNCERTAIN',
      },
    ]);
    const vibration = await recentSensorReadings(db.target, { machine: 'cnc-7', sensorType: 'vibration' });
    expect(vibration).toEqual([
      {
        time: new Date(minute + 20_000),
        line: 'L1',
        machine: 'cnc-7',
        sensorType: 'vibration',
        value: 0.4,
        quality: 'GOOD',
      },
    ]);
    expect(
      await recentSensorReadings(db.target, { machine: 'cnc-7', sensorType: 'temperature', since: '-1m' }),
    ).toEqual([]);
  });

  it('averages a field per window, for the tags asked', async () => {
    const temperature = await meanPerWindow(db.target, {
      measurement: 'sensor_reading',
      field: 'value',
      every: '1m',
      tags: { machine: 'cnc-7', sensor_type: 'temperature' },
    });
    // aggregateWindow stamps each window with its end.
    expect(temperature).toEqual([
      { time: new Date(minute + 60_000), mean: 62.5 },
      { time: new Date(minute + 120_000), mean: 70 },
    ]);
    const cpu = await meanPerWindow(db.target, {
      measurement: 'resource_usage',
      field: 'value',
      every: '1m',
      tags: { service: 'worker', resource: 'cpu_percent' },
    });
    expect(cpu).toEqual([{ time: new Date(minute + 60_000), mean: 30 }]);
  });

  it('summarises task performance per agent type, step and outcome', async () => {
    expect(await taskPerformanceSummary(db.target, { since: '-1h' })).toEqual([
      {
        agentType: 'CONTROL',
        step: 'dispatchCommand',
        outcome: 'SUCCESS',
        count: 1,
        meanDurationMs: 15,
        maxDurationMs: 15,
      },
      {
        agentType: 'MONITORING',
        step: 'searchKnowledge',
        outcome: 'FAILURE',
        count: 1,
        meanDurationMs: 3000,
        maxDurationMs: 3000,
      },
      {
        agentType: 'MONITORING',
        step: 'searchKnowledge',
        outcome: 'SUCCESS',
        count: 2,
        meanDurationMs: 100,
        maxDurationMs: 120,
      },
    ]);
    const control = await taskPerformanceSummary(db.target, { agentType: 'CONTROL' });
    expect(control.map((s) => s.step)).toEqual(['dispatchCommand']);
  });

  it('reads back timeline events, filtered by severity', async () => {
    const all = await recentEvents(db.target);
    expect(all.map((e) => e.eventType)).toEqual(['task_started', 'alert']);
    expect(all[0]).toEqual({
      time: expect.any(Date),
      eventType: 'task_started',
      severity: 'INFO',
      source: 'orchestrator',
      message: 'Task task-1 started',
      taskId: 'task-1',
    });
    // Within the millisecond given: the offset that keeps same-millisecond events apart is below 1 ms.
    expect(Math.floor(all[0]!.time.getTime())).toBe(minute + 1_000);
    const critical = await recentEvents(db.target, { severity: 'CRITICAL' });
    expect(critical.map((e) => e.message)).toEqual(['cnc-8 "over temperature"']);
  });

  it('escapes values and refuses malformed durations (no Flux injection)', async () => {
    const sneaky = await recentSensorReadings(db.target, {
      machine: 'cnc-7" or r.machine != "',
      sensorType: 'temperature',
    });
    expect(sneaky).toEqual([]);
    await expect(
      recentSensorReadings(db.target, {
        machine: 'cnc-7',
        sensorType: 'temperature',
        since: '-15m) |> drop(columns: ["x"]',
      }),
    ).rejects.toThrow(/since .* is invalid/);
    await expect(
      meanPerWindow(db.target, {
        measurement: 'sensor_reading',
        field: 'value',
        every: '1m',
        tags: { ['machine") or true or ("' as 'machine']: 'x' },
      }),
    ).rejects.toThrow(/unknown tag/);
  });

  it('builds only points with bounded tags and valid values', () => {
    expect(() =>
      taskPerformance({
        agentType: 'CONTROL',
        step: 'step with spaces',
        outcome: 'SUCCESS',
        durationMs: 1,
        taskId: 't',
        attempts: 1,
      }),
    ).toThrow(/tag step="step with spaces" is invalid/);
    expect(() =>
      timelineEvent({ eventType: 'x', severity: 'LOUD' as 'INFO', source: 's', message: 'm' }),
    ).toThrow(/severity "LOUD" is invalid/);
    const line = taskPerformance({
      agentType: 'CONTROL',
      step: 's',
      outcome: 'SUCCESS',
      durationMs: 5,
      taskId: 'task-9',
      attempts: 2,
      time: 1000,
    }).toLineProtocol();
    expect(line).toMatch(
      /^task_performance,agent_type=CONTROL,outcome=SUCCESS,step=s attempts=2i,duration_ms=5i,task_id="task-9" 1\d{9}$/,
    );
  });
});
