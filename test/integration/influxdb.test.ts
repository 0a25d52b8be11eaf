import { describe, expect, it } from 'vitest';
import { Point } from '@influxdata/influxdb-client';
import { createInflux, influxOrg } from '../../src/clients/influx.ts';
import { env, testId } from '../helpers.ts';

describe('InfluxDB', () => {
  const influx = createInflux(env);

  it('writes points and reads them back with Flux', async () => {
    const sensor = testId('sensor');
    const write = influx.getWriteApi(influxOrg, env.INFLUX_BUCKET, 'ms');
    const now = Date.now();
    const values = [20.5, 21.25, 22];
    values.forEach((v, i) =>
      write.writePoint(
        new Point('test_sensor')
          .tag('sensor', sensor)
          .floatField('temperature_c', v)
          .timestamp(now - (values.length - i) * 1000),
      ),
    );
    await write.close();

    const rows = await influx.getQueryApi(influxOrg).collectRows<{ _value: number; sensor: string }>(`
      from(bucket: "${env.INFLUX_BUCKET}")
        |> range(start: -5m)
        |> filter(fn: (r) => r._measurement == "test_sensor" and r.sensor == "${sensor}")
        |> filter(fn: (r) => r._field == "temperature_c")
        |> sort(columns: ["_time"])`);
    expect(rows.map((r) => r._value)).toEqual(values);
    expect(new Set(rows.map((r) => r.sensor))).toEqual(new Set([sensor]));
  });

  it('rejects writes with a wrong token', async () => {
    const bad = createInflux({ ...env, INFLUX_TOKEN: 'prism:wrong-password' });
    const write = bad.getWriteApi(influxOrg, env.INFLUX_BUCKET, 'ms', { maxRetries: 0 });
    write.writePoint(new Point('test_sensor').floatField('v', 1));
    await expect(write.close()).rejects.toThrow(/unauthorized|authorization|401/i);
  });
});
