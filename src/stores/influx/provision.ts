// Makes sure PRISM's bucket exists with its retention: on InfluxDB 1.x, a database with a DEFAULT
// retention policy. Idempotent, and it never deletes data: it will
// lengthen a retention but refuses to shorten one, since InfluxDB would drop the older points at once.
import type { InfluxEnv } from '../../clients/influx.ts';
import type { Progress } from '../../progress.ts';
import { describeRetention, parseGoDuration, parseRetention } from './retention.ts';
import { detectInfluxServer, influxQL, type InfluxServer } from './server.ts';

export type InfluxProvisionReport = {
  server: InfluxServer;
  bucket: string;
  /** The retention policy that holds the bucket's data. */
  retentionPolicy: string;
  retention: string;
  action: 'created' | 'updated' | 'unchanged';
  changes: string[];
};

export type InfluxProvisionOptions = {
  /** Default INFLUX_BUCKET: "database" or "database/retention-policy". */
  bucket?: string;
  /** "30d" (default), "12h", "2w", ... or "infinite". */
  retention?: string;
};

/** The retention policy PRISM creates when the bucket names only a database. */
export const defaultRetentionPolicy = 'prism_default';

const identifier = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

function checkName(kind: string, name: string): string {
  if (!identifier.test(name)) {
    throw new Error(`InfluxDB ${kind} "${name}" is invalid: use letters, digits, _, . and - (at most 128)`);
  }
  return name;
}

function refuseShortening(where: string, current: number, wanted: number): never {
  throw new Error(
    `${where} keeps data for ${describeRetention(current)}; shortening it to ${describeRetention(wanted)} would ` +
      'delete the older points at once, so provisioning will not do it. Shorten it by hand if you mean to.',
  );
}

const isLonger = (wanted: number, current: number) => current !== 0 && (wanted === 0 || wanted > current);

async function provisionV1(env: InfluxEnv, bucket: string, seconds: number, changes: string[]) {
  const [database, policy = defaultRetentionPolicy, ...rest] = bucket.split('/');
  if (rest.length > 0)
    throw new Error(`InfluxDB 1.x bucket "${bucket}" must be "database" or "database/policy"`);
  const db = `"${checkName('database', database!)}"`;
  const rp = `"${checkName('retention policy', policy)}"`;
  // InfluxQL wants a duration literal; INF keeps data forever.
  const duration = seconds === 0 ? 'INF' : `${seconds}s`;

  const databases = await influxQL(env, 'SHOW DATABASES');
  if (!databases.some((d) => d.name === database)) {
    await influxQL(env, `CREATE DATABASE ${db}`);
    changes.push(`created database ${database}`);
  }
  const policies = await influxQL(env, `SHOW RETENTION POLICIES ON ${db}`);
  const existing = policies.find((p) => p.name === policy);
  if (!existing) {
    await influxQL(env, `CREATE RETENTION POLICY ${rp} ON ${db} DURATION ${duration} REPLICATION 1 DEFAULT`);
    changes.push(`created retention policy ${policy} (${describeRetention(seconds)}, default)`);
    return policy;
  }
  const current = parseGoDuration(String(existing.duration));
  if (current !== seconds) {
    if (!isLonger(seconds, current))
      refuseShortening(`Retention policy ${database}.${policy}`, current, seconds);
    await influxQL(env, `ALTER RETENTION POLICY ${rp} ON ${db} DURATION ${duration}`);
    changes.push(`lengthened retention policy ${policy} to ${describeRetention(seconds)}`);
  }
  if (existing.default !== true) {
    await influxQL(env, `ALTER RETENTION POLICY ${rp} ON ${db} DEFAULT`);
    changes.push(`made retention policy ${policy} the default of ${database}`);
  }
  return policy;
}

export async function provisionInflux(
  env: InfluxEnv,
  progress: Progress,
  options: InfluxProvisionOptions = {},
): Promise<InfluxProvisionReport> {
  const bucket = options.bucket ?? env.INFLUX_BUCKET;
  const seconds = parseRetention(options.retention ?? '30d');
  const server = await detectInfluxServer(env);
  const changes: string[] = [];
  const retentionPolicy = await provisionV1(env, bucket, seconds, changes);
  const action =
    changes.length === 0 ? 'unchanged' : changes.some((c) => c.startsWith('created')) ? 'created' : 'updated';
  for (const change of changes) progress.step(`InfluxDB ${server.version}: ${change}`);
  if (changes.length === 0) progress.step(`InfluxDB ${server.version}: bucket ${bucket} unchanged`);
  return { server, bucket, retentionPolicy, retention: describeRetention(seconds), action, changes };
}
