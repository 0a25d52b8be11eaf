// Talking to InfluxDB 1.x's management API (InfluxQL on /query, basic auth). Data is written and queried
// through the v2-compatible API, so only provisioning and InfluxQL reads need this.
import type { InfluxEnv } from '../../clients/influx.ts';

export type InfluxServer = { major: 1; version: string };

const timeoutMs = 10_000;

async function request(env: InfluxEnv, path: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(`${env.INFLUX_URL}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new Error(
      `InfluxDB at ${env.INFLUX_URL} is unreachable (${cause}): is it running? (prism stack status)`,
    );
  }
}

async function failure(response: Response, what: string): Promise<Error> {
  const body = (await response.text()).slice(0, 300);
  if (response.status === 401 || response.status === 403) {
    return new Error(
      `InfluxDB refused ${what} (${response.status}): INFLUX_USER and INFLUX_PASSWORD must name an admin`,
    );
  }
  return new Error(`InfluxDB could not ${what} (${response.status}): ${body}`);
}

/** Asks the server which major version it runs (header `X-Influxdb-Version` of `/ping`). */
export async function detectInfluxServer(env: InfluxEnv): Promise<InfluxServer> {
  const response = await request(env, '/ping');
  const version = response.headers.get('x-influxdb-version') ?? '';
  if (!version.startsWith('1.')) {
    throw new Error(
      `${env.INFLUX_URL}/ping did not report an InfluxDB 1.x version (got "${version}"): check INFLUX_URL`,
    );
  }
  return { major: 1, version };
}

/** InfluxDB 1.x's answer to one InfluxQL statement on /query. */
export type InfluxQLResult = {
  results?: { error?: string; series?: { columns: string[]; values?: unknown[][] }[] }[];
  error?: string;
};

/** The rows of an InfluxQL answer as objects; InfluxDB's error, if it has one, thrown as "could not <what>". */
export function influxQLRows(body: InfluxQLResult, what: string): Record<string, unknown>[] {
  const error = body.error ?? body.results?.[0]?.error;
  if (error) throw new Error(`InfluxDB could not ${what}: ${error}`);
  const series = body.results?.[0]?.series ?? [];
  return series.flatMap((s) =>
    (s.values ?? []).map((row) => Object.fromEntries(s.columns.map((c, i) => [c, row[i]]))),
  );
}

/**
 * Runs one InfluxQL statement on a 1.x server; returns its rows as objects. `db` is the database that
 * statements without one (`SELECT ... FROM "measurement"`) read.
 */
export async function influxQL(
  env: InfluxEnv,
  statement: string,
  db?: string,
): Promise<Record<string, unknown>[]> {
  const response = await request(env, '/query', {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(env.INFLUX_TOKEN).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ q: statement, ...(db ? { db } : {}) }),
  });
  if (!response.ok) throw await failure(response, `run "${statement}"`);
  return influxQLRows((await response.json()) as InfluxQLResult, `run "${statement}"`);
}
