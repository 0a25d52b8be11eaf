import { afterAll, describe, expect, it } from 'vitest';
import { createInflux, influxOrg } from '../../../src/clients/influx.ts';
import { silentProgress } from '../../../src/progress.ts';
import {
  defaultRetentionPolicy,
  detectInfluxServer,
  influxQL,
  provisionInflux,
  sensorReading,
} from '../../../src/stores/influx/index.ts';
import { env } from '../../helpers.ts';
import { influxTestDatabase } from './fixtures.ts';

const policies = async (database: string) =>
  (await influxQL(env, `SHOW RETENTION POLICIES ON "${database}"`)).map((p) => ({
    name: p.name,
    duration: p.duration,
    default: p.default,
  }));

describe('provisionInflux on InfluxDB 1.x', () => {
  const dbs = [influxTestDatabase('prov'), influxTestDatabase('prov'), influxTestDatabase('prov')];
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  it('detects the server version', async () => {
    expect(await detectInfluxServer(env)).toEqual({ major: 1, version: expect.stringMatching(/^1\.\d+/) });
  });

  it('creates the database with a 30-day default retention policy, and changes nothing the second time', async () => {
    const { database } = dbs[0]!;
    const first = await provisionInflux(env, silentProgress, { bucket: database });
    expect(first).toMatchObject({
      bucket: database,
      retentionPolicy: defaultRetentionPolicy,
      retention: '30d',
    });
    expect(first.action).toBe('created');
    expect(first.changes).toEqual([
      `created database ${database}`,
      `created retention policy ${defaultRetentionPolicy} (30d, default)`,
    ]);
    const after = await policies(database);
    expect(after).toContainEqual({ name: defaultRetentionPolicy, duration: '720h0m0s', default: true });

    const steps: string[] = [];
    const second = await provisionInflux(
      env,
      { step: (m) => steps.push(m), track: (_m, work) => work() },
      { bucket: database },
    );
    expect(second).toMatchObject({ action: 'unchanged', changes: [] });
    expect(steps).toEqual([expect.stringMatching(`bucket ${database} unchanged`)]);
    expect(await policies(database)).toEqual(after);
  });

  it('keeps existing data, lengthens a retention, and refuses to shorten one', async () => {
    const { database, target } = dbs[1]!;
    await influxQL(env, `CREATE DATABASE "${database}"`);
    // Data in the stock autogen policy, written before PRISM provisions.
    const write = createInflux(env).getWriteApi(influxOrg, database, 'ns');
    write.writePoint(
      sensorReading({ line: 'L1', machine: 'press-1', sensorType: 'force', value: 42, quality: 'GOOD' }),
    );
    await write.close();

    await provisionInflux(env, silentProgress, { bucket: database, retention: '30d' });
    const longer = await provisionInflux(env, silentProgress, { bucket: database, retention: '60d' });
    expect(longer.action).toBe('updated');
    expect(longer.changes).toEqual([`lengthened retention policy ${defaultRetentionPolicy} to 60d`]);
    await expect(provisionInflux(env, silentProgress, { bucket: database, retention: '7d' })).rejects.toThrow(
      /keeps data for 60d; shortening it to 7d would delete the older points/,
    );
    expect(await policies(database)).toEqual([
      { name: 'autogen', duration: '0s', default: false },
      { name: defaultRetentionPolicy, duration: '1440h0m0s', default: true },
    ]);
    const rows = await target.queryApi.collectRows<{ _value: number }>(
      `from(bucket: "${database}/autogen") |> range(start: -1h) |> filter(fn: (r) => r._field == "value")`,
    );
    expect(rows.map((r) => r._value)).toEqual([42]);
  });

  it('accepts database/policy and makes that policy the default', async () => {
    const { database } = dbs[2]!;
    const report = await provisionInflux(env, silentProgress, { bucket: `${database}/hot`, retention: '2d' });
    expect(report).toMatchObject({ retentionPolicy: 'hot', retention: '2d', action: 'created' });
    expect(await policies(database)).toContainEqual({ name: 'hot', duration: '48h0m0s', default: true });
  });

  it('rejects names and retentions it cannot use safely', async () => {
    await expect(provisionInflux(env, silentProgress, { bucket: 'x"; DROP DATABASE prism' })).rejects.toThrow(
      /database "x"; DROP DATABASE prism" is invalid/,
    );
    await expect(provisionInflux(env, silentProgress, { bucket: 'x', retention: '10m' })).rejects.toThrow(
      /at least 1h/,
    );
  });
});
