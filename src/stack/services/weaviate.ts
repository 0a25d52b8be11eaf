// Weaviate, natively: one node (Raft, gossip and data ports next to its cluster port), or in the cluster
// topology node n of three on machine n (docs/scaling.md); API-key auth when WEAVIATE_API_KEY is set,
// backups with the filesystem module (single node) or the backup-s3 one (cluster: WEAVIATE_BACKUP_BACKEND),
// Prometheus metrics.
//
// Weaviate 1.36 binds some of its listeners to one address and some to every address, and only the first
// can share a port across the machines of one box:
//   REST (--host), gossip (CLUSTER_BIND_ADDR), Raft and Raft RPC (they follow CLUSTER_BIND_ADDR): the
//     node's address, the same ports on every node (Raft and its RPC must be: a node reaches its peers on
//     its own Raft ports);
//   gRPC (GRPC_PORT), the cluster data API (CLUSTER_DATA_BIND_PORT: REST and internal gRPC) and the
//     metrics (PROMETHEUS_MONITORING_PORT): `:port`, every address, with no setting to change it. On one
//     box the nodes of the cluster therefore take ports of their own (weaviateNodePorts), distinct from
//     the single node's and from each other's; on real machines each would keep the single node's.
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Env } from '../../config.ts';
import { createS3, ensureBucket, weaviateBackupBucket } from '../../clients/s3.ts';
import { weaviateAuthHeaders, weaviateClusterGrpcPort } from '../../clients/weaviate.ts';
import { joinCgroup, machineCgroup } from '../cgroups.ts';
import { binaries } from '../install.ts';
import { isAlive, ownedPid, spawnDetached, stopProcess } from '../process.ts';
import type { NativeService, ServiceContext } from '../services.ts';
import { nodesOf, type Machine } from '../topology.ts';

type PortEnv = Pick<
  Env,
  'WEAVIATE_CLUSTER_PORT' | 'WEAVIATE_HTTP_PORT' | 'WEAVIATE_GRPC_PORT' | 'WEAVIATE_METRICS_PORT'
>;

export interface WeaviatePorts {
  http: number;
  grpc: number;
  gossip: number;
  /** The cluster data API (node-to-node reads and writes of objects), advertised to the others by gossip. */
  data: number;
  raft: number;
  raftRpc: number;
  metrics: number;
}

/** Weaviate's internal ports: gossip, data, Raft, Raft RPC (7946, 7947, 8300, 8301 by default). */
export function weaviateInternalPorts(env: Pick<Env, 'WEAVIATE_CLUSTER_PORT'>): number[] {
  const base = env.WEAVIATE_CLUSTER_PORT;
  return [base, base + 1, base + 354, base + 355];
}

/**
 * The ports of the single node (no `index`) or of node `index` (1-based) of the cluster topology. A node's
 * gRPC, data and metrics listeners take every address (see the top of this file), so node n moves them by n
 * (gRPC, metrics) or 10·n (gossip and data, a pair); gossip binds to the node's address, but moves with its
 * data port so that a single node of an earlier version, which took *:7946, cannot stop a cluster node.
 */
export function weaviateNodePorts(env: PortEnv, index?: number): WeaviatePorts {
  const [gossip, data, raft, raftRpc] = weaviateInternalPorts(env) as [number, number, number, number];
  if (index === undefined) {
    return {
      http: env.WEAVIATE_HTTP_PORT,
      grpc: env.WEAVIATE_GRPC_PORT,
      gossip,
      data,
      raft,
      raftRpc,
      metrics: env.WEAVIATE_METRICS_PORT,
    };
  }
  return {
    http: env.WEAVIATE_HTTP_PORT,
    grpc: weaviateClusterGrpcPort(env, index),
    gossip: gossip + 10 * index,
    data: data + 10 * index,
    raft,
    raftRpc,
    metrics: env.WEAVIATE_METRICS_PORT + index,
  };
}

/** The node's name in its cluster (CLUSTER_HOSTNAME): Raft state is tied to it, so it never changes. */
export function weaviateNodeName(machine?: Machine): string {
  return machine ? `weaviate-${machine.index}` : 'node1';
}

/**
 * How a node of the cluster finds a collection's definition for each data request: in its own copy of the
 * schema (Raft keeps every voter's copy; a change returns once the node it went through has applied it),
 * not by asking the Raft leader, Weaviate's default (`LeaderOnly`). That question waits for a lost leader's
 * RPC port to answer (`waitForReady`) until the request's deadline: every write and read that came to a
 * surviving node while the leader was down stalled for the client's whole timeout (60 s for an import,
 * docs/scaling.md#weaviate), where with the node's own copy the survivors go on at once.
 */
export const weaviateClusterSchemaReads = { COLLECTION_RETRIEVAL_STRATEGY: 'LocalOnly' } as const;

/**
 * The environment that makes a node of the cluster: its name, where it listens, the peers it joins (gossip)
 * and the Raft voters it bootstraps with. Pure: unit-tested (test/unit/weaviate-cluster.test.ts).
 */
export function weaviateClusterEnv(
  env: PortEnv & Pick<Env, 'PRISM_BIND_ADDRESS'>,
  cluster?: { machine: Machine; machines: Machine[] },
): NodeJS.ProcessEnv {
  const ports = weaviateNodePorts(env, cluster?.machine.index);
  const own = {
    CLUSTER_HOSTNAME: weaviateNodeName(cluster?.machine),
    GRPC_PORT: String(ports.grpc),
    CLUSTER_GOSSIP_BIND_PORT: String(ports.gossip),
    CLUSTER_DATA_BIND_PORT: String(ports.data),
    RAFT_PORT: String(ports.raft),
    RAFT_INTERNAL_RPC_PORT: String(ports.raftRpc),
    PROMETHEUS_MONITORING_PORT: String(ports.metrics),
    // Gossip and Raft on the bind address (Weaviate takes an IP only, and leaves them on every address and
    // its first private address without one).
    ...(isIP(env.PRISM_BIND_ADDRESS) ? { CLUSTER_BIND_ADDR: env.PRISM_BIND_ADDRESS } : {}),
  };
  if (!cluster) return { ...own, CLUSTER_IN_LOCALHOST: 'true', RAFT_BOOTSTRAP_EXPECT: '1' };
  const peers = cluster.machines.map((m) => ({ m, ports: weaviateNodePorts(env, m.index) }));
  return {
    ...own,
    // Each node a machine of its own, as on real hosts: LAN gossip, one Raft port for all.
    CLUSTER_IN_LOCALHOST: 'false',
    CLUSTER_JOIN: peers.map(({ m, ports: p }) => `${m.address}:${p.gossip}`).join(','),
    // Every node a voter: the schema (Raft) outlives one lost node of three.
    RAFT_JOIN: peers.map(({ m, ports: p }) => `${weaviateNodeName(m)}:${p.raft}`).join(','),
    RAFT_BOOTSTRAP_EXPECT: String(cluster.machines.length),
    ...weaviateClusterSchemaReads,
  };
}

function backupPath(ctx: ServiceContext): string {
  // With the filesystem backend on the cluster topology (WEAVIATE_BACKUP_BACKEND=filesystem), one directory
  // every node reaches; Weaviate refuses it for a backup of several nodes, hence backup-s3 by default there.
  return ctx.cluster ? ctx.env.WEAVIATE_BACKUP_PATH : join(ctx.dataDir, 'backups');
}

type BackupEnv = Pick<
  Env,
  | 'WEAVIATE_BACKUP_BACKEND'
  | 'PRISM_BACKUP_S3_ENDPOINT'
  | 'PRISM_BACKUP_S3_REGION'
  | 'S3_ACCESS_KEY'
  | 'S3_SECRET_KEY'
>;

/**
 * The environment of a node's backup module: the filesystem one writing to `backupsDir`, or backup-s3 writing
 * to the bucket weaviateBackupBucket of the store of PRISM_BACKUP_S3_ENDPOINT (addressed path-style: minio-go
 * does so for any endpoint that is not AWS's), the credentials in the environment, never on its command line.
 * Pure: unit-tested (test/unit/weaviate-backup.test.ts).
 */
export function weaviateBackupEnv(env: BackupEnv, backupsDir: string): Record<string, string> {
  if (env.WEAVIATE_BACKUP_BACKEND !== 's3') {
    return { ENABLE_MODULES: 'backup-filesystem', BACKUP_FILESYSTEM_PATH: backupsDir };
  }
  const { S3_ACCESS_KEY: accessKey, S3_SECRET_KEY: secretKey } = env;
  if (!accessKey || !secretKey) {
    throw new Error(
      'WEAVIATE_BACKUP_BACKEND=s3 needs S3_ACCESS_KEY and S3_SECRET_KEY (`prism stack up` generates them)',
    );
  }
  const endpoint = new URL(env.PRISM_BACKUP_S3_ENDPOINT);
  return {
    ENABLE_MODULES: 'backup-s3',
    BACKUP_S3_BUCKET: weaviateBackupBucket,
    // host:port, without the scheme: the module takes TLS from BACKUP_S3_USE_SSL.
    BACKUP_S3_ENDPOINT: endpoint.host,
    BACKUP_S3_USE_SSL: String(endpoint.protocol === 'https:'),
    AWS_REGION: env.PRISM_BACKUP_S3_REGION,
    AWS_ACCESS_KEY_ID: accessKey,
    AWS_SECRET_ACCESS_KEY: secretKey,
  };
}

/**
 * The node's backup environment. A node of the cluster reaches the S3 store as the cluster's clients do (its
 * own machine's view points PRISM_BACKUP_S3_ENDPOINT at its own address; SeaweedFS runs on machine 1 only).
 */
function backupEnvOf(ctx: ServiceContext): Record<string, string> {
  return weaviateBackupEnv(ctx.cluster?.env ?? ctx.env, backupPath(ctx));
}

async function start(ctx: ServiceContext): Promise<number> {
  const { env, paths, dataDir, logFile, pidFile } = ctx;
  mkdirSync(dataDir, { recursive: true });
  const backupEnv = backupEnvOf(ctx);
  const backups = backupEnv.BACKUP_FILESYSTEM_PATH;
  if (backups && !existsSync(backups)) mkdirSync(backups, { recursive: true });
  const auth: NodeJS.ProcessEnv = env.WEAVIATE_API_KEY
    ? {
        AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED: 'false',
        AUTHENTICATION_APIKEY_ENABLED: 'true',
        AUTHENTICATION_APIKEY_ALLOWED_KEYS: env.WEAVIATE_API_KEY,
        AUTHENTICATION_APIKEY_USERS: 'prism',
      }
    : { AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED: 'true' };
  const serviceEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    PERSISTENCE_DATA_PATH: join(dataDir, 'data'),
    ...backupEnv,
    DEFAULT_VECTORIZER_MODULE: 'none',
    QUERY_DEFAULTS_LIMIT: '25',
    DISABLE_TELEMETRY: 'true',
    PROMETHEUS_MONITORING_ENABLED: 'true',
    ...weaviateClusterEnv(env, ctx.cluster),
    // Its pprof server would take the fixed port 6060 (a second instance could not start); nothing uses it.
    GO_PROFILING_DISABLE: 'true',
    LIMIT_RESOURCES: 'true',
    // Three nodes share the box's two cores and memory with every other service.
    ...(ctx.cluster ? { GOMAXPROCS: '1', GOMEMLIMIT: '512MiB' } : { GOMEMLIMIT: '1GiB' }),
    ...auth,
  };
  return spawnDetached({
    command: binaries(paths).weaviate,
    args: ['--scheme', 'http', '--host', env.PRISM_BIND_ADDRESS, '--port', String(env.WEAVIATE_HTTP_PORT)],
    env: serviceEnv,
    cwd: dataDir,
    logFile,
    pidFile,
  });
}

export const weaviate: NativeService = {
  name: 'weaviate',
  serves: ['weaviate'],
  marker: 'weaviate-server',
  ports: (env) => [env.WEAVIATE_HTTP_PORT, env.WEAVIATE_GRPC_PORT, ...weaviateInternalPorts(env)],
  start,
  // A single node started before gossip and Raft were bound to its address holds *:7946 and Raft on the
  // first private address: `stack up` restarts it once (its data stays; Raft takes its new address, tried
  // on a node with a schema and objects).
  // Likewise one started with another backup module (WEAVIATE_BACKUP_BACKEND changed).
  refresh: async (ctx, pid) => {
    if (await isCurrent(ctx)) return;
    await stopProcess(pid, 30_000);
    return start(ctx);
  },
  current: isCurrent,
};

/**
 * Whether the running node has the bind address, backup module and (in a cluster) the schema reads this
 * configuration gives it.
 */
async function isCurrent(ctx: ServiceContext): Promise<boolean> {
  const pid = ownedPid(ctx.pidFile, 'weaviate-server');
  if (pid === null) return true;
  const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => null);
  if (environ === null) return true;
  const has = new Set(environ.split('\0'));
  const bind = ctx.env.PRISM_BIND_ADDRESS;
  const expected = {
    ...backupEnvOf(ctx),
    ...(isIP(bind) ? { CLUSTER_BIND_ADDR: bind } : {}),
    ...(ctx.cluster ? weaviateClusterSchemaReads : {}),
  };
  return Object.entries(expected).every(([name, value]) => has.has(`${name}=${value}`));
}

// Restarts of the cluster's nodes, chained: `stack up` brings every node up to date at once, and the cluster
// (and its schema's Raft) would not outlive two of three nodes down.
let restarts: Promise<unknown> = Promise.resolve();

/**
 * Brings a running node of the cluster up to date (a new backup module, say) by restarting it, one node at a
 * time, each back and seen by the others before the next one stops.
 */
async function refreshNode(ctx: ServiceContext, pid: number): Promise<number | void> {
  if (await isCurrent(ctx)) return;
  const restart = restarts.then(async () => {
    await stopProcess(pid, 30_000);
    const started = await start(ctx);
    joinCgroup(started, machineCgroup(ctx.cluster!.machine.index, weaviateNodeName(ctx.cluster!.machine)));
    await untilClusterHealthy(ctx, started);
    return started;
  });
  restarts = restart.catch(() => undefined);
  return restart;
}

/** Waits until the node is ready and reports every node of its cluster healthy. */
async function untilClusterHealthy(ctx: ServiceContext, pid: number, timeoutMs = 180_000): Promise<void> {
  const { env } = ctx;
  const base = `http://${env.PRISM_BIND_ADDRESS}:${env.WEAVIATE_HTTP_PORT}/v1`;
  const headers = weaviateAuthHeaders(env);
  const expected = ctx.cluster?.machines.length ?? 1;
  const deadline = Date.now() + timeoutMs;
  let last = 'not ready';
  for (;;) {
    try {
      const ready = await fetch(`${base}/.well-known/ready`, { signal: AbortSignal.timeout(3_000) });
      if (ready.ok) {
        const res = await fetch(`${base}/nodes`, { headers, signal: AbortSignal.timeout(3_000) });
        const body = (await res.json()) as { nodes?: { name: string; status: string }[] };
        const healthy = (body.nodes ?? []).filter((n) => n.status === 'HEALTHY');
        if (healthy.length >= expected) return;
        last = `${healthy.length} of ${expected} nodes healthy`;
      }
    } catch (err) {
      last = (err as Error).message;
    }
    if (!isAlive(pid)) throw new Error(`it exited after its restart (see ${ctx.logFile})`);
    if (Date.now() > deadline) {
      throw new Error(`not back after its restart within ${timeoutMs / 1000} s: ${last}`);
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/** Raft's view of the node, as the node itself reports it: leader or follower of the schema. */
export async function weaviateRole(ctx: ServiceContext): Promise<string | null> {
  const { env } = ctx;
  const headers = weaviateAuthHeaders(env);
  const res = await fetch(
    `http://${env.PRISM_BIND_ADDRESS}:${env.WEAVIATE_HTTP_PORT}/v1/cluster/statistics`,
    { headers, signal: AbortSignal.timeout(3_000) },
  );
  if (!res.ok) return null;
  const body = (await res.json()) as { statistics?: { name?: string; raft?: { state?: string } }[] };
  const name = weaviateNodeName(ctx.cluster?.machine);
  const state = body.statistics?.find((s) => s.name === name)?.raft?.state;
  return state ? state.toLowerCase() : null;
}

/** The cluster topology's weaviate: one node on each machine (src/stack/cluster.ts). */
export function weaviateNodes(machines: Machine[]): NativeService[] {
  const node: NativeService = {
    ...weaviate,
    current: isCurrent,
    refresh: refreshNode,
    role: weaviateRole,
    // Its backups' bucket is in SeaweedFS (WEAVIATE_BACKUP_BACKEND=s3, the cluster's default).
    after: ['seaweedfs'],
    afterReady: ensureBackupBucket,
  };
  return nodesOf(node, machines).map((n) => ({
    ...n,
    ports: (env: Env) => Object.values(weaviateNodePorts(env, n.machine!.index)),
  }));
}

/** Creates the bucket of the backup-s3 module unless it exists. */
async function ensureBackupBucket(ctx: ServiceContext): Promise<void> {
  const env = ctx.cluster?.env ?? ctx.env;
  if (env.WEAVIATE_BACKUP_BACKEND !== 's3') return;
  const s3 = createS3(env);
  try {
    await ensureBucket(s3, weaviateBackupBucket);
  } finally {
    s3.destroy();
  }
}
