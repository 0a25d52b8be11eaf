// etcd, natively, in the cluster topology only: a three-member cluster, one member on each machine, where
// Patroni keeps the PostgreSQL cluster's leader key and configuration (src/stack/services/postgres-cluster.ts).
// It listens on its machine's address only and has no users: nothing but the stack's Patroni talks to it.
import { mkdirSync } from 'node:fs';
import { binaries } from '../install.ts';
import { spawnDetached, stillRunning } from '../process.ts';
import type { NativeService, ServiceContext } from '../services.ts';
import { nodesOf, type Machine } from '../topology.ts';

/** etcd's client port (Patroni's connections) and its peer port (raft between the members), on each machine. */
export const etcdClientPort = 12379;
export const etcdPeerPort = 12380;

const readyTimeoutMs = 60_000;

const memberName = (machine: Machine) => `etcd-${machine.index}`;

/** The client endpoints of every member, `host:port`: what Patroni is given. */
export function etcdEndpoints(machines: Machine[]): string[] {
  return machines.map((m) => `${m.address}:${etcdClientPort}`);
}

/** Whether the member at `address` is healthy: it answers and its cluster has a leader (a quorum). */
export async function etcdHealthy(address: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const res = await fetch(`http://${address}:${etcdClientPort}/health`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    return res.ok && ((await res.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

/** The member's part in the raft: `leader` or `follower` (null when it does not answer). */
async function etcdRole(ctx: ServiceContext): Promise<string | null> {
  const address = ctx.env.PRISM_BIND_ADDRESS;
  const post = async (path: string): Promise<Record<string, unknown>> => {
    const res = await fetch(`http://${address}:${etcdClientPort}${path}`, {
      method: 'POST',
      body: '{}',
      signal: AbortSignal.timeout(2_000),
    });
    if (!res.ok) throw new Error(`etcd answered HTTP ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const status = (await post('/v3/maintenance/status')) as {
    leader?: string;
    header?: { member_id?: string };
  };
  if (!status.leader || !status.header?.member_id) return null;
  return status.leader === status.header.member_id ? 'leader' : 'follower';
}

const etcd: NativeService = {
  name: 'etcd',
  // Ready when the member answers and knows a leader (its probe in src/stack/health.ts).
  serves: ['etcd'],
  marker: 'etcd',
  ports: () => [etcdClientPort, etcdPeerPort],
  async start(ctx) {
    const { paths, dataDir, logFile, pidFile, cluster } = ctx;
    if (!cluster) throw new Error('etcd runs in the cluster topology only (PRISM_TOPOLOGY=cluster)');
    const address = cluster.machine.address;
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const peerUrl = (a: string) => `http://${a}:${etcdPeerPort}`;
    const clientUrl = `http://${address}:${etcdClientPort}`;
    const pid = spawnDetached({
      command: binaries(paths).etcd,
      args: [
        '--name',
        memberName(cluster.machine),
        '--data-dir',
        dataDir,
        '--listen-client-urls',
        clientUrl,
        '--advertise-client-urls',
        clientUrl,
        '--listen-peer-urls',
        peerUrl(address),
        '--initial-advertise-peer-urls',
        peerUrl(address),
        // Read only when the data directory is new: a member that restarts finds its cluster in its data.
        '--initial-cluster',
        cluster.machines.map((m) => `${memberName(m)}=${peerUrl(m.address)}`).join(','),
        '--initial-cluster-token',
        'prism-stack-etcd',
        '--initial-cluster-state',
        'new',
        // Patroni writes a few keys a second: a small backend, compacted hourly.
        '--quota-backend-bytes',
        String(256 * 1024 * 1024),
        '--auto-compaction-retention',
        '1',
      ],
      logFile,
      pidFile,
    });
    // Ready once its cluster has a leader. The members start together (none is `after` another): the
    // first to start waits for a second to make a quorum.
    const deadline = Date.now() + readyTimeoutMs;
    while (!(await etcdHealthy(address))) {
      if (!stillRunning(pid)) throw new Error(`etcd (pid ${pid}) exited while starting`);
      if (Date.now() > deadline)
        throw new Error(`etcd at ${clientUrl} has no healthy cluster after ${readyTimeoutMs / 1000}s`);
      await new Promise((r) => setTimeout(r, 500));
    }
    return pid;
  },
  role: etcdRole,
};

/** The cluster topology's etcd: one member on each machine (src/stack/cluster.ts). */
export function etcdNodes(machines: Machine[]): NativeService[] {
  return nodesOf(etcd, machines);
}
