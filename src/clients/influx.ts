import { InfluxDB } from '@influxdata/influxdb-client';
import type { Env } from '../config.ts';

export type InfluxEnv = Pick<Env, 'INFLUX_URL' | 'INFLUX_TOKEN' | 'INFLUX_BUCKET'>;

/** InfluxDB 1.x ignores the organization of the v2 API; the client still wants one. */
export const influxOrg = '-';

/**
 * The InfluxDB v2 API client against InfluxDB 1.x (both stacks run 1.12), which serves `/api/v2/write` and
 * Flux `/api/v2/query`: the bucket is `database[/retention-policy]`, the token `user:password`.
 */
export function createInflux(env: InfluxEnv): InfluxDB {
  return new InfluxDB({ url: env.INFLUX_URL, token: env.INFLUX_TOKEN, timeout: 10_000 });
}
