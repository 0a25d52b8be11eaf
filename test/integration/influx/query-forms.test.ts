// The plain reads (a machine's readings, timeline events) go to InfluxDB as InfluxQL when the target has the
// client's transport, as Flux when it has not: both forms must give the same rows, whatever the options.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentProgress } from '../../../src/progress.ts';
import {
  createInfluxWriter,
  influxQL,
  provisionInflux,
  recentEvents,
  recentSensorReadings,
  sensorReading,
  timelineEvent,
  type FluxTarget,
} from '../../../src/stores/influx/index.ts';
import { env } from '../../helpers.ts';
import { influxTestDatabase } from './fixtures.ts';

const db = influxTestDatabase('forms');
const minute = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
const influxql = db.target;
const fluxOnly: FluxTarget = { queryApi: db.target.queryApi, bucket: db.target.bucket };

describe('InfluxDB reads: InfluxQL and Flux agree', () => {
  beforeAll(async () => {
    expect(influxql.transport).toBeDefined();
    await provisionInflux(db.env, silentProgress);
    const writer = createInfluxWriter(db.env);
    const reading = (line: string, offsetS: number, value: number, extra: { unit?: string } = {}) =>
      sensorReading({
        line,
        machine: 'press-1',
        sensorType: 'pressure',
        value,
        quality: value > 9 ? 'BAD' : 'GOOD',
        ...extra,
        time: minute + offsetS * 1000,
      });
    writer.write(
      // Two lines' series of the same machine and sensor, interleaved in time: one list, oldest first.
      reading('L1', 10, 4.5, { unit: 'bar' }),
      reading('L2', 20, 5),
      reading('L1', 30, 9.5, { unit: 'bar' }),
      reading('L2', 40, 6.25, { unit: 'bar' }),
      // Older than the default window of 15 minutes; and one in the future, which neither form reads.
      sensorReading({
        line: 'L1',
        machine: 'press-1',
        sensorType: 'pressure',
        value: 1,
        quality: 'GOOD',
        time: minute - 30 * 60_000,
      }),
      sensorReading({
        line: 'L1',
        machine: 'press-1',
        sensorType: 'pressure',
        value: 2,
        quality: 'GOOD',
        time: Date.now() + 3_600_000,
      }),
      timelineEvent({
        eventType: 'alert',
        severity: 'WARNING',
        source: 'monitoring',
        message: 'first, "quoted"',
        taskId: 't-1',
        time: minute + 5_000,
      }),
      timelineEvent({
        eventType: 'task',
        severity: 'INFO',
        source: 'worker',
        message: 'second',
        taskId: 't-2',
        time: minute + 6_000,
      }),
    );
    await writer.close();
  });
  afterAll(async () => {
    await db.drop();
  });

  const both = async <T>(read: (target: FluxTarget) => Promise<T>) => {
    const [a, b] = await Promise.all([read(influxql), read(fluxOnly)]);
    expect(a).toEqual(b);
    return a;
  };

  it('reads the readings of one machine and sensor over its lines, oldest first, none from the future', async () => {
    const rows = await both((t) => recentSensorReadings(t, { machine: 'press-1', sensorType: 'pressure' }));
    expect(rows.map((r) => [r.line, r.value, r.unit ?? null, r.quality])).toEqual([
      ['L1', 4.5, 'bar', 'GOOD'],
      ['L2', 5, null, 'GOOD'],
      ['L1', 9.5, 'bar', 'BAD'],
      ['L2', 6.25, 'bar', 'GOOD'],
    ]);
    expect(rows[0]!.time).toEqual(new Date(minute + 10_000));
  });

  it('agrees on a line, a longer window, a start as a Date, a limit, and a duration InfluxQL lacks', async () => {
    const pressure = (more: Partial<Parameters<typeof recentSensorReadings>[1]>) =>
      both((t) => recentSensorReadings(t, { machine: 'press-1', sensorType: 'pressure', ...more }));
    expect((await pressure({ line: 'L2' })).map((r) => r.value)).toEqual([5, 6.25]);
    expect(await pressure({ since: '-1h30m' })).toHaveLength(5);
    expect(await pressure({ since: new Date(minute + 30_000) })).toHaveLength(2);
    expect((await pressure({ limit: 2 })).map((r) => r.value)).toEqual([4.5, 5]);
    // Months: Flux's form on both targets.
    expect(await pressure({ since: '-1mo' })).toHaveLength(5);
  });

  it('escapes what a caller asks for: quotes and backslashes match nothing and change nothing', async () => {
    // Tag values PRISM writes are names (no quotes); a caller's parameter may be anything.
    for (const machine of ["x' OR machine =~ /.*/ --", 'press-1\\', "press-1'", 'press-1"']) {
      expect(await both((t) => recentSensorReadings(t, { machine, sensorType: 'pressure' }))).toEqual([]);
    }
  });

  it('refuses a bad duration and an unknown tag in both forms, before any query', async () => {
    for (const target of [influxql, fluxOnly]) {
      await expect(
        recentSensorReadings(target, { machine: 'press-1', sensorType: 'pressure', since: '1h; DROP' }),
      ).rejects.toThrow(/since "1h; DROP" is invalid/);
    }
  });

  it('reads timeline events the same way', async () => {
    const events = await both((t) => recentEvents(t, {}));
    expect(events.map((e) => [e.eventType, e.severity, e.source, e.message, e.taskId])).toEqual([
      ['alert', 'WARNING', 'monitoring', 'first, "quoted"', 't-1'],
      ['task', 'INFO', 'worker', 'second', 't-2'],
    ]);
    expect((await both((t) => recentEvents(t, { severity: 'INFO' }))).map((e) => e.message)).toEqual([
      'second',
    ]);
  });

  it('reads a retention policy named in the bucket, and says why when InfluxDB refuses the query', async () => {
    await influxQL(env, `CREATE RETENTION POLICY "short" ON "${db.database}" DURATION 1h REPLICATION 1`);
    const writer = createInfluxWriter({ ...db.env, INFLUX_BUCKET: `${db.database}/short` });
    writer.write(
      sensorReading({
        line: 'L9',
        machine: 'press-1',
        sensorType: 'pressure',
        value: 7,
        quality: 'GOOD',
        time: minute,
      }),
    );
    await writer.close();
    const inPolicy = { ...influxql, bucket: `${db.database}/short` };
    expect(
      (await recentSensorReadings(inPolicy, { machine: 'press-1', sensorType: 'pressure' })).map(
        (r) => r.line,
      ),
    ).toEqual(['L9']);
    await expect(
      recentSensorReadings(
        { ...influxql, bucket: `${db.database}/nosuchpolicy` },
        { machine: 'press-1', sensorType: 'pressure' },
      ),
    ).rejects.toThrow(/InfluxDB could not read sensor_reading .*nosuchpolicy/);
    // As Flux does, a database that does not exist is an error, not an empty answer.
    await expect(
      recentSensorReadings(
        { ...influxql, bucket: `${db.database}_none` },
        { machine: 'press-1', sensorType: 'pressure' },
      ),
    ).rejects.toThrow(/database not found/);
  });
});
