// InfluxDB 1.x (both stacks run 1.12): `influxd backup -portable` of the deployment's database over the
// server's RPC port (INFLUX_RPC_ADDRESS), packed into one tarball. Its contents are read back by restoring it
// into a scratch database on the same server (`influxd restore -portable -newdb`): points per measurement and
// a digest of every point (measurement, tags, time, fields), in time order per series.
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Env } from '../../config.ts';
import { influxQL } from '../../stores/influx/server.ts';
import { digestOf, resolveTool, runTool, tarDirectory, untar } from '../tools.ts';
import type { ScratchRestore, StoreContext, StoreModule, TakenStore } from './types.ts';

const tarName = 'influxdb.tar.gz';

const quoted = (name: string) => `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

type Series = { name: string; tags?: Record<string, string>; columns: string[]; values?: unknown[][] };

/** Runs a query with chunked answers (one JSON object per line), calling `onSeries` for each chunk. */
async function streamQuery(
  env: Env,
  database: string,
  statement: string,
  onSeries: (s: Series) => void,
): Promise<void> {
  const url = new URL(`${env.INFLUX_URL}/query`);
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(env.INFLUX_TOKEN).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      q: statement,
      db: database,
      chunked: 'true',
      chunk_size: '10000',
      epoch: 'ns',
    }),
    signal: AbortSignal.timeout(10 * 60_000),
  });
  if (!res.ok || !res.body) throw new Error(`InfluxDB could not run "${statement}": HTTP ${res.status}`);
  const lines = createInterface({ input: Readable.fromWeb(res.body as never) });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const chunk = JSON.parse(line) as { error?: string; results?: { error?: string; series?: Series[] }[] };
    const error = chunk.error ?? chunk.results?.find((r) => r.error)?.error;
    if (error) throw new Error(`InfluxDB could not run "${statement}": ${error}`);
    for (const r of chunk.results ?? []) for (const s of r.series ?? []) onSeries(s);
  }
}

/** Points per measurement and a digest of each measurement's points. */
async function contentsOf(env: Env, database: string, ctx: StoreContext) {
  const measurements = (await influxQL(env, `SHOW MEASUREMENTS ON ${quoted(database)}`)).map((r) =>
    String(r.name),
  );
  const counts: Record<string, number> = {};
  const digests: Record<string, string> = {};
  for (const m of measurements.sort()) {
    const lines: string[] = [];
    await streamQuery(env, database, `SELECT * FROM ${quoted(m)} GROUP BY *`, (s) => {
      const tags = JSON.stringify(Object.entries(s.tags ?? {}).sort());
      for (const row of s.values ?? []) lines.push(JSON.stringify([tags, s.columns, row]));
      ctx.progress(`influxdb: read ${lines.length} points of ${m}`);
    });
    lines.sort();
    counts[m] = lines.length;
    digests[m] = digestOf(lines);
  }
  return { counts, digests };
}

async function serverVersion(env: Env): Promise<string> {
  const res = await fetch(`${env.INFLUX_URL}/ping`, { signal: AbortSignal.timeout(10_000) });
  return res.headers.get('x-influxdb-version') ?? 'unknown';
}

function scratchDatabase(env: Env, suffix: string): string {
  return `${env.INFLUX_BUCKET}_restore_${suffix}`;
}

async function dropDatabase(env: Env, database: string): Promise<void> {
  await influxQL(env, `DROP DATABASE ${quoted(database)}`);
}

/** Unpacks the tarball and restores it into `newdb` (dropped first if a failed run left it). */
async function restoreInto(ctx: StoreContext, newdb: string): Promise<void> {
  const { env } = ctx;
  const dir = join(ctx.workDir, `unpacked-${ctx.scratchSuffix}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    await untar(join(ctx.workDir, tarName), dir);
    await dropDatabase(env, newdb);
    ctx.progress(`influxdb: restoring into database ${newdb}`);
    const args = ['restore', '-portable', '-host', env.INFLUX_RPC_ADDRESS, '-db', env.INFLUX_BUCKET];
    if (newdb !== env.INFLUX_BUCKET) args.push('-newdb', newdb);
    await runTool(resolveTool('influxd', env), [...args, dir], {
      onTick: () => ctx.progress(`influxdb: restoring into database ${newdb}`),
      label: 'influxd restore',
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function restoreInfluxToScratch(ctx: StoreContext): Promise<ScratchRestore> {
  const { env } = ctx;
  const scratch = scratchDatabase(env, ctx.scratchSuffix);
  try {
    await restoreInto(ctx, scratch);
    const contents = await contentsOf(env, scratch, ctx);
    return {
      description: `database ${scratch}`,
      ...contents,
      async promote() {
        await dropDatabase(env, env.INFLUX_BUCKET);
        await restoreInto(ctx, env.INFLUX_BUCKET);
        return `InfluxDB database ${env.INFLUX_BUCKET} restored`;
      },
      drop: () => dropDatabase(env, scratch),
    };
  } catch (err) {
    await dropDatabase(env, scratch).catch(() => undefined);
    throw err;
  }
}

export const influxStore: StoreModule = {
  store: 'influxdb',
  async take(ctx): Promise<TakenStore> {
    const { env } = ctx;
    const version = await serverVersion(env);
    const dir = join(ctx.workDir, 'portable');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    ctx.progress(`influxdb: backing up database ${env.INFLUX_BUCKET}`);
    await runTool(
      resolveTool('influxd', env),
      ['backup', '-portable', '-host', env.INFLUX_RPC_ADDRESS, '-db', env.INFLUX_BUCKET, dir],
      {
        onTick: () => ctx.progress(`influxdb: backing up database ${env.INFLUX_BUCKET}`),
        label: 'influxd backup',
      },
    );
    if ((await readdir(dir)).length === 0) throw new Error('influxd backup wrote no files');
    const file = join(ctx.workDir, tarName);
    await tarDirectory(dir, file);
    await rm(dir, { recursive: true, force: true });
    const scratch = await restoreInfluxToScratch(ctx);
    try {
      return {
        method: 'influxd backup -portable, restored in a scratch database to count and digest',
        serverVersion: version,
        files: [file],
        counts: scratch.counts,
        digests: scratch.digests,
        scope: { database: env.INFLUX_BUCKET },
      };
    } finally {
      await scratch.drop();
    }
  },
  restoreToScratch: (ctx) => restoreInfluxToScratch(ctx),
};
