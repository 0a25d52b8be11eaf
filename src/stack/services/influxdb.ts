// InfluxDB 1.x, natively: influxd with auth on, its RPC port (backup and restore) beside the HTTP port, and
// the first admin and the product's database created once it is ready.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from '../../config.ts';
import { serviceHost } from '../health.ts';
import { binaries } from '../install.ts';
import { spawnDetached } from '../process.ts';
import type { NativeService } from '../services.ts';

/** InfluxDB's RPC port (backup and restore), two above its HTTP port: 18088 by default, as 8088 is to 8086. */
export const influxRpcPort = (env: Env) => env.INFLUX_PORT + 2;

export const influxdb: NativeService = {
  name: 'influxdb',
  serves: ['influxdb'],
  marker: 'influxd',
  ports: (env) => [env.INFLUX_PORT, influxRpcPort(env)],
  async start({ env, paths, dataDir, logFile, pidFile }) {
    mkdirSync(dataDir, { recursive: true });
    const port = env.INFLUX_PORT;
    const serviceEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      INFLUXDB_META_DIR: join(dataDir, 'meta'),
      INFLUXDB_DATA_DIR: join(dataDir, 'data'),
      INFLUXDB_DATA_WAL_DIR: join(dataDir, 'wal'),
      INFLUXDB_HTTP_BIND_ADDRESS: `${env.PRISM_BIND_ADDRESS}:${port}`,
      // The RPC port of backup and restore: next to the HTTP port, so a second instance can run beside.
      INFLUXDB_BIND_ADDRESS: `${serviceHost(env)}:${influxRpcPort(env)}`,
      INFLUXDB_HTTP_FLUX_ENABLED: 'true',
      INFLUXDB_HTTP_AUTH_ENABLED: 'true',
      INFLUXDB_HTTP_LOG_ENABLED: 'false',
      INFLUXDB_DATA_QUERY_LOG_ENABLED: 'false',
      INFLUXDB_REPORTING_DISABLED: 'true',
      INFLUXDB_MONITOR_STORE_ENABLED: 'false',
    };
    return spawnDetached({
      command: binaries(paths).influxd,
      args: ['run'],
      env: serviceEnv,
      cwd: dataDir,
      logFile,
      pidFile,
    });
  },
  // InfluxDB 1.x with auth on lets the first admin be created without credentials (as the official image's
  // INFLUXDB_ADMIN_USER does under Compose); after that, the admin creates the product's database.
  async afterReady({ env }) {
    const { INFLUX_USER: user, INFLUX_PASSWORD: password } = env;
    const query = async (q: string, auth: boolean) => {
      const body = new URLSearchParams({ q });
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      if (auth) headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      const res = await fetch(`${env.INFLUX_URL}/query`, { method: 'POST', body, headers });
      return { status: res.status, text: await res.text() };
    };
    const users = await query('SHOW USERS', true);
    if (users.status === 401 || users.text.includes('create admin user first')) {
      const created = await query(
        `CREATE USER "${user}" WITH PASSWORD '${password.replaceAll("'", "\\'")}' WITH ALL PRIVILEGES`,
        false,
      );
      if (created.status !== 200 || created.text.includes('"error"')) {
        throw new Error(`could not create the InfluxDB admin INFLUX_USER: ${created.text}`);
      }
    }
    const db = await query(`CREATE DATABASE "${env.INFLUX_BUCKET}"`, true);
    if (db.status !== 200 || db.text.includes('"error"')) {
      throw new Error(
        `could not create the InfluxDB database ${env.INFLUX_BUCKET}: HTTP ${db.status} ${db.text}`,
      );
    }
  },
};
