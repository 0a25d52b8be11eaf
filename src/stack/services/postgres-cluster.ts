// PostgreSQL in the cluster topology (docs/scaling.md#postgresql): on each machine a Patroni that runs that
// machine's PostgreSQL 15 (the single node's binaries). The first to take the initialize key in etcd runs
// initdb and becomes the primary; the others clone it (pg_basebackup) and stream from it as hot standbys.
// When the primary's leader key in etcd expires (its Patroni is gone, or cut off), the standby that is
// synchronous takes the key and is promoted; the old primary comes back as a standby (pg_rewind).
import { createHmac } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Env } from '../../config.ts';
import {
  provisionRoles,
  provisionTemporalRole,
  rolesUpToDate,
  temporalRoleUpToDate,
} from '../../db/roles.ts';
import { binaries } from '../install.ts';
import type { StackPaths } from '../paths.ts';
import { spawnDetached } from '../process.ts';
import type { NativeService, ServiceContext } from '../services.ts';
import { issueCertificate, stackCaCertificate } from '../tls.ts';
import { nodesOf, type Machine } from '../topology.ts';
import { etcdEndpoints } from './etcd.ts';
import { postgresUser } from './postgres.ts';

/** Patroni's REST API (its health, role and switchover endpoints), on each machine. */
export const patroniRestPort = 18008;
/** The Patroni cluster's name (its `scope`): etcd keys live under /prism-stack/<scope>/. */
export const patroniScope = 'prism';
/** The role the standbys stream the primary's WAL as (created by Patroni at bootstrap). */
export const replicationRole = 'prism_replicator';

/**
 * The replication role's password, derived from the bootstrap superuser's (POSTGRES_PASSWORD, a secret of
 * the secrets file): one more secret that nobody has to keep, and that changes when that one is rotated.
 */
function replicationPassword(env: Env): string {
  if (!env.POSTGRES_PASSWORD) throw new Error('POSTGRES_PASSWORD (the bootstrap superuser) is not set');
  return createHmac('sha256', env.POSTGRES_PASSWORD).update('prism patroni replication').digest('base64url');
}

/** A member of the Patroni cluster as its REST API lists them (GET /cluster). */
export interface PatroniMember {
  name: string;
  host: string;
  /** `leader`, `sync_standby` (commits wait for it; the one a failover promotes) or `replica`. */
  role: string;
  /** `running` (the primary), `streaming` (a standby), `starting`, `stopped`, ... */
  state: string;
  timeline?: number;
  lag?: number | string;
}

/** The members of the cluster as the node at `address` sees them; null when its Patroni does not answer. */
export async function patroniMembers(address: string, timeoutMs = 2_000): Promise<PatroniMember[] | null> {
  try {
    const res = await fetch(`http://${address}:${patroniRestPort}/cluster`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) return null;
    return ((await res.json()) as { members?: PatroniMember[] }).members ?? [];
  } catch {
    return null;
  }
}

/**
 * The node's part: `primary` (it holds the leader key and runs), `standby` (it streams from the primary),
 * or null while it does not answer, starts, is being cloned or rewound, or has no primary to stream from.
 */
export async function postgresNodeRole(address: string): Promise<'primary' | 'standby' | null> {
  const me = (await patroniMembers(address))?.find((m) => m.host === address);
  if (me?.role === 'leader' && me.state === 'running') return 'primary';
  // A standby only once it streams: one that starts, rewinds or waits for WAL could not take over yet.
  if (me && me.role !== 'leader' && me.state === 'streaming') return 'standby';
  return null;
}

/**
 * Waits until the cluster has a running primary (a new cluster's first node runs before its bootstrap has
 * finished and it takes the leader key) and says whether it is the node at `address`.
 */
async function isPrimaryOnceElected(address: string, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leader = (await patroniMembers(address))?.find((m) => m.role === 'leader' && m.state === 'running');
    if (leader) return leader.host === address;
    if (Date.now() > deadline)
      throw new Error(`the PostgreSQL cluster has no running primary after ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Patroni's configuration of the node on `machine` (YAML; written as JSON, which YAML reads). No secret in
 * it: the logins' passwords reach Patroni through its environment (patroniEnv).
 */
export function patroniConfig(
  env: Env,
  paths: StackPaths,
  node: { name: string; dataDir: string; machine: Machine; machines: Machine[]; tls: string },
): Record<string, unknown> {
  const address = node.machine.address;
  return {
    scope: patroniScope,
    namespace: '/prism-stack/',
    name: node.name,
    restapi: { listen: `${address}:${patroniRestPort}`, connect_address: `${address}:${patroniRestPort}` },
    etcd3: { hosts: etcdEndpoints(node.machines), protocol: 'http' },
    // No /dev/watchdog here: a Patroni that hangs is fenced by its leader key's expiry alone.
    watchdog: { mode: 'off' },
    log: { level: 'INFO', format: '%(asctime)s patroni %(levelname)s: %(message)s' },
    bootstrap: {
      // The cluster-wide settings, written to etcd once, by the node that initialises the cluster; later
      // changes go through `patronictl edit-config`.
      dcs: {
        // ttl 20 s is the least Patroni accepts: the primary's key outlives a dead primary by up to 20 s,
        // which is most of a failover's time. loop_wait + 2 × retry_timeout must stay within it.
        ttl: 20,
        loop_wait: 2,
        retry_timeout: 5,
        // Commits wait until one standby has the WAL, and only that standby may be promoted: a failover
        // loses no acknowledged write. On loopback the wait is a fraction of a millisecond; with no standby
        // left Patroni lets the primary commit alone (synchronous_mode_strict would stop writes instead).
        synchronous_mode: true,
        maximum_lag_on_failover: 16 * 1024 * 1024,
        postgresql: {
          use_pg_rewind: true,
          use_slots: true,
          parameters: {
            // the single node's spec-section-7 tuning (services/postgres.ts), shared buffers halved: three
            // nodes share one machine here
            max_connections: 200,
            shared_buffers: '128MB',
            effective_cache_size: '1GB',
            work_mem: '8MB',
            maintenance_work_mem: '64MB',
            wal_level: 'replica',
            hot_standby: 'on',
            wal_log_hints: 'on', // pg_rewind needs it
            max_wal_senders: 10,
            max_replication_slots: 10,
            wal_keep_size: '256MB',
          },
        },
      },
      initdb: [{ encoding: 'UTF8' }, { locale: 'C.UTF-8' }, { auth: 'scram-sha-256' }],
    },
    postgresql: {
      listen: `${address}:${env.POSTGRES_PORT}`,
      connect_address: `${address}:${env.POSTGRES_PORT}`,
      data_dir: join(node.dataDir, 'data'),
      bin_dir: binaries(paths).postgresBin,
      pgpass: join(node.dataDir, 'pgpass'),
      // A new standby's clone: its backup starts at once (a spread checkpoint, pg_basebackup's default,
      // kept a standby cloning for minutes here).
      basebackup: [{ checkpoint: 'fast' }],
      parameters: {
        unix_socket_directories: node.dataDir,
        password_encryption: 'scram-sha-256',
        // TLS for the clients that ask for it (POSTGRES_SSL_MODE), with a certificate for this machine's
        // address signed by the stack's CA.
        ssl: 'on',
        ssl_cert_file: join(node.tls, 'server.crt'),
        ssl_key_file: join(node.tls, 'server.key'),
        ssl_min_protocol_version: 'TLSv1.2',
      },
      // The machines are loopback addresses: every login from them, with its password.
      pg_hba: [
        'local all all scram-sha-256',
        `host replication ${replicationRole} 127.0.0.0/8 scram-sha-256`,
        'host all all 127.0.0.0/8 scram-sha-256',
        'host all all ::1/128 scram-sha-256',
      ],
    },
  };
}

/** Patroni's logins, by its environment variables: the superuser's, and the replication role's. */
function patroniEnv(env: Env): NodeJS.ProcessEnv {
  if (!env.POSTGRES_PASSWORD) throw new Error('POSTGRES_PASSWORD (the bootstrap superuser) is not set');
  return {
    PATRONI_SUPERUSER_USERNAME: env.POSTGRES_USER,
    PATRONI_SUPERUSER_PASSWORD: env.POSTGRES_PASSWORD,
    PATRONI_REPLICATION_USERNAME: replicationRole,
    PATRONI_REPLICATION_PASSWORD: replicationPassword(env),
  };
}

/** A server certificate for this machine's address (the single node's names only 127.0.0.1), made once. */
async function ensureNodeTls(
  paths: StackPaths,
  dir: string,
  address: string,
  owner?: { uid: number; gid: number },
): Promise<void> {
  const files = { cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
  if (existsSync(files.cert) && existsSync(files.key)) return;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await issueCertificate(paths, files, {
    commonName: address,
    extensions: `subjectAltName=IP:${address}\nextendedKeyUsage=serverAuth`,
    days: 825,
  });
  if (owner) for (const path of [files.key, files.cert, dir]) chownSync(path, owner.uid, owner.gid);
}

async function startNode(ctx: ServiceContext): Promise<number> {
  const { env, paths, dataDir, logFile, pidFile, cluster } = ctx;
  if (!cluster) throw new Error('Patroni runs in the cluster topology only (PRISM_TOPOLOGY=cluster)');
  const owner = postgresUser();
  const chown = (path: string) => owner && chownSync(path, owner.uid, owner.gid);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chown(dataDir);
  const tls = join(dataDir, 'tls');
  await ensureNodeTls(paths, tls, cluster.machine.address, owner);
  const configFile = join(dataDir, 'patroni.yml');
  const config = patroniConfig(env, paths, { name: basename(dataDir), dataDir, tls, ...cluster });
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chown(configFile);
  const patroni = join(binaries(paths).patroniVenv, 'bin', 'patroni');
  const childEnv = {
    PATH: `${join(binaries(paths).patroniVenv, 'bin')}:/usr/bin:/bin`,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    HOME: dataDir,
    // The stack's CA: a client of this node that verifies it (Patroni's own connections do not ask for TLS).
    PGSSLROOTCERT: stackCaCertificate(paths),
    ...patroniEnv(env),
  };
  // PostgreSQL refuses root, so Patroni and the PostgreSQL it starts run as `postgres`. Patroni's venv is in
  // the stack's cache under root's home, which only root may enter: the one capability to read and search
  // directories (CAP_DAC_READ_SEARCH, ambient so it survives exec) lets it load its own code, nothing more.
  const [command, args] = owner
    ? [
        'setpriv',
        [
          `--reuid=${owner.uid}`,
          `--regid=${owner.gid}`,
          '--init-groups',
          '--inh-caps=+dac_read_search',
          '--ambient-caps=+dac_read_search',
          patroni,
          configFile,
        ],
      ]
    : [patroni, [configFile]];
  return spawnDetached({ command, args, env: childEnv, cwd: dataDir, logFile, pidFile });
}

const postgresNode: NativeService = {
  name: 'postgres',
  serves: ['postgres'],
  // Patroni's command line (python .../bin/patroni <data>/postgres-<n>/patroni.yml)
  marker: 'patroni.yml',
  ports: (env) => [env.POSTGRES_PORT, patroniRestPort],
  after: ['etcd'],
  // Patroni stops its PostgreSQL (fast shutdown) and gives up the leader key: a standby takes over at once.
  stopSignal: 'SIGTERM',
  start: startNode,
  // Ready (`serves`) is the single node's check, asked of this node alone: it accepts the superuser's
  // connections, read-only ones on a standby. The product's and the Temporal server's roles and databases
  // are written on the primary (idempotently); the standbys receive them by replication.
  async afterReady(ctx) {
    if (!(await isPrimaryOnceElected(ctx.env.PRISM_BIND_ADDRESS))) return;
    await provisionRoles(ctx.env);
    await provisionTemporalRole(ctx.env);
  },
  current: async ({ env }) => (await rolesUpToDate(env)) && (await temporalRoleUpToDate(env)),
  role: (ctx) => postgresNodeRole(ctx.env.PRISM_BIND_ADDRESS),
};

/** The cluster topology's PostgreSQL: a Patroni-managed node on each machine (src/stack/cluster.ts). */
export function postgresClusterNodes(machines: Machine[]): NativeService[] {
  return nodesOf(postgresNode, machines);
}
