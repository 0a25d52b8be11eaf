import { InfluxDB } from '@influxdata/influxdb-client';
import type { Env } from '../config.ts';

export type InfluxEnv = Pick<Env, 'INFLUX_URL' | 'INFLUX_TOKEN' | 'INFLUX_ORG' | 'INFLUX_BUCKET'>;

/**
 * The InfluxDB v2 API client. It works against InfluxDB 2.x (Docker Compose) and against the 1.x server of
 * the native stack, which serves the same `/api/v2/write` and Flux `/api/v2/query` endpoints (there the
 * bucket is the database name and the org is ignored).
 */
export function createInflux(env: InfluxEnv): InfluxDB {
  return new InfluxDB({ url: env.INFLUX_URL, token: env.INFLUX_TOKEN, timeout: 10_000 });
}
