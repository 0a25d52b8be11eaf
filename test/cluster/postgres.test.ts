// PostgreSQL as the cluster topology runs it (Patroni with etcd on 127.0.1.1-3,
// src/stack/services/postgres-cluster.ts), against a running cluster (`prism stack up --topology cluster`):
// one primary and two streaming standbys; the product's pool (createPgPool, given every host) writes to the
// primary; a numbered stream of inserts goes on through a kill -9 of the primary's Patroni and PostgreSQL,
// on the new primary, with no acknowledged row lost; the old primary then comes back as a standby and
// catches up. docs/scaling.md#postgresql reports the failover time measured here.
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool } from '../../src/clients/postgres.ts';
import { loadConfig, type Env } from '../../src/config.ts';
import { asPostgresRole } from '../../src/identity.ts';
import { silentProgress } from '../../src/progress.ts';
import { clusterServices } from '../../src/stack/cluster.ts';
import { context, startService } from '../../src/stack/native.ts';
import { stackPaths } from '../../src/stack/paths.ts';
import { isAlive, ownedPid, readPidFile } from '../../src/stack/process.ts';
import type { NativeService } from '../../src/stack/services.ts';
import { testId, waitFor } from '../helpers.ts';

process.env.PRISM_TOPOLOGY = 'cluster';
const env: Env = loadConfig();
const nodes: NativeService[] = clusterServices(env).filter((s) => s.group === 'postgres');
const paths = stackPaths(env);
const admin = { ...asPostgresRole(env, 'admin'), POSTGRES_DB: 'postgres' };

const ctxOf = (node: NativeService) => context(node, env, paths);
const addressOf = (node: NativeService) => node.machine!.address;
const patroniPid = (node: NativeService) => ownedPid(ctxOf(node).pidFile, node.marker);
const postmasterPid = (node: NativeService) =>
  readPidFile(join(ctxOf(node).dataDir, 'data', 'postmaster.pid'));
const roleOf = (node: NativeService) => node.role!(ctxOf(node)).catch(() => null);

async function restartStopped(): Promise<void> {
  for (const node of nodes) {
    if (patroniPid(node) === null) await startService(node, env, paths, silentProgress);
  }
}

async function primary(timeoutMs = 60_000): Promise<NativeService> {
  return waitFor(
    'a primary',
    async () => {
      const roles = await Promise.all(nodes.map(roleOf));
      return nodes[roles.indexOf('primary')];
    },
    timeoutMs,
    200,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PostgreSQL in the cluster topology', () => {
  let pool: pg.Pool;
  const table = testId('failover').replace(/\W/g, '_').toLowerCase();

  beforeAll(async () => {
    expect(env.PRISM_TOPOLOGY).toBe('cluster');
    expect(nodes.map((n) => n.name)).toEqual(['postgres-1', 'postgres-2', 'postgres-3']);
    expect(admin.POSTGRES_HOST.split(',')).toHaveLength(3);
    await restartStopped();
    pool = createPgPool(admin, { max: 4, connectionTimeoutMillis: 3_000, onIdleError: () => undefined });
    await waitFor(
      'every node streaming',
      async () => {
        const roles = await Promise.all(nodes.map(roleOf));
        return roles.filter((r) => r === 'standby').length === 2 && roles.includes('primary');
      },
      120_000,
      500,
    );
    await pool.query(`CREATE TABLE ${table} (n integer PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`);
  }, 240_000);

  afterAll(async () => {
    await restartStopped();
    await pool?.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await pool?.end();
  }, 240_000);

  it('has one primary and two hot standbys; the pool given every host writes to the primary', async () => {
    const roles = await Promise.all(nodes.map(roleOf));
    expect([...roles].sort()).toEqual(['primary', 'standby', 'standby']);
    const leader = await primary();
    const { rows } = await pool.query<{ host: string }>('SELECT host(inet_server_addr()) AS host');
    expect(rows[0]!.host).toBe(addressOf(leader));
    // A standby, asked alone, answers reads and refuses writes.
    const standby = nodes.find((n) => n !== leader)!;
    const one = createPgPool({ ...admin, POSTGRES_HOST: addressOf(standby) }, { max: 1 });
    try {
      const { rows: r } = await one.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
      expect(r[0]!.standby).toBe(true);
      await expect(one.query(`INSERT INTO ${table} (n) VALUES (-1)`)).rejects.toMatchObject({
        code: '25006',
      });
    } finally {
      await one.end();
    }
  });

  it('writes on through a kill -9 of the primary, on the new primary, losing no acknowledged row; the old primary rejoins as a standby', async () => {
    const old = await primary();
    const acknowledged: number[] = [];
    let killedAt = 0;
    let resumedAt = 0;
    let failures = 0;
    let stop = false;
    // One insert at a time, each retried until it is acknowledged (as the product's activities retry): a
    // retry that finds its row already there (the commit went through, its answer was lost) counts too.
    const writer = (async () => {
      for (let n = 1; !stop; n++) {
        let host: string | undefined;
        for (;;) {
          try {
            const { rows } = await pool.query<{ host: string }>(
              `INSERT INTO ${table} (n) VALUES ($1) RETURNING host(inet_server_addr()) AS host`,
              [n],
            );
            host = rows[0]!.host;
            break;
          } catch (err) {
            if ((err as { code?: string }).code === '23505') break;
            failures++;
            if (stop) return;
            await sleep(100);
          }
        }
        acknowledged.push(n);
        // Resumed: the first write the new primary acknowledges. (The killed postmaster's backends live on
        // for a moment, and may still commit what its synchronous standby has: such a write is kept.)
        if (killedAt && host && host !== addressOf(old) && !resumedAt) resumedAt = Date.now();
      }
    })();

    try {
      await waitFor('50 rows before the kill', () => acknowledged.length >= 50, 30_000);
      const pids = [patroniPid(old), postmasterPid(old)];
      expect(pids.every((p) => p !== null)).toBe(true);
      const before = acknowledged.length;
      killedAt = Date.now();
      for (const pid of pids) process.kill(pid!, 'SIGKILL');
      await waitFor('the old primary gone', () => pids.every((p) => !isAlive(p!)), 10_000);
      await waitFor(
        '50 rows after the kill',
        () => acknowledged.length >= before + 50 && resumedAt > 0,
        90_000,
        100,
      );
    } finally {
      stop = true;
      await writer;
    }
    const failoverS = (resumedAt - killedAt) / 1000;
    console.log(
      `postgres failover: kill -9 of ${old.name} → writes resumed after ${failoverS.toFixed(1)} s ` +
        `(${failures} failed attempts retried)`,
    );

    const leader = await primary();
    expect(leader).not.toBe(old);
    const { rows: server } = await pool.query<{ host: string }>('SELECT host(inet_server_addr()) AS host');
    expect(server[0]!.host).toBe(addressOf(leader));
    const { rows } = await pool.query<{ n: number }>(`SELECT n FROM ${table} ORDER BY n`);
    const stored = new Set(rows.map((r) => r.n));
    expect(acknowledged.filter((n) => !stored.has(n))).toEqual([]); // none lost
    expect(rows.length).toBe(acknowledged.length); // each once: n is the key, and none beyond the last

    // The old primary, started again, follows the new one (rewound if it had diverged) and catches up.
    await startService(old, env, paths, silentProgress);
    await waitFor(`${old.name} a standby`, async () => (await roleOf(old)) === 'standby', 120_000, 500);
    const alone = createPgPool({ ...admin, POSTGRES_HOST: addressOf(old) }, { max: 1 });
    try {
      await waitFor(
        `${old.name} to hold every row`,
        async () => {
          // (it may restart once more as it rewinds: a refused connection is a "not yet")
          const r = await alone
            .query<{ count: number }>(`SELECT count(*)::int AS count FROM ${table}`)
            .catch(() => null);
          return r?.rows[0]!.count === acknowledged.length;
        },
        60_000,
        250,
      );
    } finally {
      await alone.end();
    }
  }, 300_000);
});
