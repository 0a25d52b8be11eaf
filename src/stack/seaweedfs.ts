// SeaweedFS natively: the S3-compatible store that backups go to (PRISM_BACKUP_DESTINATION=s3), as
// `weed server` — one master, one volume server, a filer and its S3 gateway in one process, every port on
// PRISM_BIND_ADDRESS. docker-compose.yml runs the same release from the chrislusf/seaweedfs image.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createS3 } from '../clients/s3.ts';
import type { Env } from '../config.ts';
import { seaweedfsS3Url, serviceHost } from './health.ts';
import { binaries } from './install.ts';
import { spawnDetached } from './process.ts';
import type { NativeService } from './services.ts';
import { isCluster } from './topology.ts';

/**
 * S3_PORT and the eight after it: the S3 API, the internal HTTP and gRPC ports, and /metrics. On the cluster
 * topology the gRPC ports are 100 higher: `weed` reaches its own components over a Unix socket named by the
 * gRPC port alone (`/tmp/seaweedfs-master-grpc-18338.sock`, pb.RegisterLocalGrpcSocket), which a real
 * machine keeps to itself but the machines of this one share — with the same ports, the cluster's S3
 * gateway once asked the single stack's master for its volumes.
 */
export function seaweedfsPorts(env: Pick<Env, 'S3_PORT' | 'PRISM_TOPOLOGY'>) {
  const s3 = env.S3_PORT;
  const grpc = s3 + (isCluster(env) ? 100 : 0);
  return {
    s3,
    master: s3 + 1,
    volume: s3 + 2,
    filer: s3 + 3,
    s3Grpc: grpc + 4,
    masterGrpc: grpc + 5,
    volumeGrpc: grpc + 6,
    filerGrpc: grpc + 7,
    metrics: s3 + 8,
  };
}

/** `weed server`'s arguments: where its data lives and every port it opens (nothing on SeaweedFS' defaults). */
export function seaweedfsArgs(env: Env, dataDir: string): string[] {
  const p = seaweedfsPorts(env);
  return [
    // glog to stderr (the service's log file), not to files of its own in /tmp
    '-logtostderr=true',
    'server',
    `-ip=${serviceHost(env)}`,
    `-ip.bind=${env.PRISM_BIND_ADDRESS}`,
    `-dir=${join(dataDir, 'volumes')}`,
    // the master's Raft state and the filer's embedded store (leveldb)
    `-master.dir=${join(dataDir, 'master')}`,
    `-master.port=${p.master}`,
    `-master.port.grpc=${p.masterGrpc}`,
    // Small volumes (the default is 30 GB): a volume is the unit of compaction, and backups are few
    // large files cut into the filer's 4 MB chunks. `volume.max=0`: as many as the disk has room for.
    '-master.volumeSizeLimitMB=64',
    '-master.telemetry=false',
    // A lone master waits this long after a restart before it elects itself (the default, 10 s, is for
    // clusters); until then nothing can be written.
    '-master.electionTimeout=2s',
    `-volume.port=${p.volume}`,
    `-volume.port.grpc=${p.volumeGrpc}`,
    '-volume.max=0',
    // One server: nobody to hand traffic to before stopping (the default waits 10 s).
    '-volume.preStopSeconds=0',
    `-filer.port=${p.filer}`,
    // Its HTTP API would list and serve every object to anyone on the machine, without S3's credentials;
    // the S3 gateway uses the filer's gRPC only.
    '-filer.disableHttp=true',
    `-filer.port.grpc=${p.filerGrpc}`,
    // The filer's and the S3 gateway's Unix sockets (the gateway reaches the filer over the first) in the
    // data directory, not /tmp/seaweedfs-filer-<port>.sock: named by the port alone there, a second stack
    // on the same ports (the cluster's, on another address) took over the first one's.
    `-filer.localSocket=${join(dataDir, 'filer.sock')}`,
    `-s3.localSocket=${join(dataDir, 's3.sock')}`,
    '-s3',
    `-s3.port=${p.s3}`,
    `-s3.port.grpc=${p.s3Grpc}`,
    // Its Iceberg and Lance catalogue servers would take ports 8181 and 9101.
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    // Buckets exist because `stack up` made them, not because someone wrote to a misspelt name.
    '-s3.autoCreateBucket=false',
    // Every component's metrics on one /metrics (Prometheus job `seaweedfs`).
    `-metricsPort=${p.metrics}`,
  ];
}

/**
 * Waits until the master leads and the volume server has joined it: /healthz and the filer answer before
 * that, but a write has nowhere to go.
 */
async function waitWritable(env: Env, timeoutMs = 60_000): Promise<void> {
  const master = `http://${serviceHost(env)}:${seaweedfsPorts(env).master}`;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const cluster = (await (await fetch(`${master}/cluster/status`)).json()) as { IsLeader?: boolean };
      const dir = (await (await fetch(`${master}/dir/status`)).json()) as {
        Topology?: { DataCenters?: { Racks?: { DataNodes?: unknown[] }[] }[] };
      };
      const nodes = dir.Topology?.DataCenters?.flatMap((dc) => dc.Racks ?? []).flatMap(
        (r) => r.DataNodes ?? [],
      );
      if (cluster.IsLeader && (nodes?.length ?? 0) > 0) return;
      last = cluster.IsLeader ? 'no volume server has joined the master' : 'the master has no leader yet';
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(`SeaweedFS cannot take writes after ${timeoutMs / 1000}s: ${last}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Creates the backups' bucket unless it exists. */
export async function ensureBackupBucket(env: Env): Promise<void> {
  const s3 = createS3(env, seaweedfsS3Url(env));
  try {
    await s3.send(new CreateBucketCommand({ Bucket: env.PRISM_BACKUP_S3_BUCKET })).catch((err: unknown) => {
      const name = (err as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
    });
  } finally {
    s3.destroy();
  }
}

export const seaweedfs: NativeService = {
  name: 'seaweedfs',
  serves: ['seaweedfs'],
  marker: '/weed-',
  ports: (env) => Object.values(seaweedfsPorts(env)),
  async start({ env, paths, dataDir, logFile, pidFile }) {
    const { S3_ACCESS_KEY: accessKey, S3_SECRET_KEY: secretKey } = env;
    if (!accessKey || !secretKey) {
      throw new Error('S3_ACCESS_KEY and S3_SECRET_KEY are not set (`prism stack up` generates them)');
    }
    for (const dir of ['volumes', 'master']) mkdirSync(join(dataDir, dir), { recursive: true });
    return spawnDetached({
      command: binaries(paths).weed,
      args: seaweedfsArgs(env, dataDir),
      env: {
        PATH: process.env.PATH,
        // The S3 admin identity, from its environment (never on its command line), as under Compose.
        AWS_ACCESS_KEY_ID: accessKey,
        AWS_SECRET_ACCESS_KEY: secretKey,
        GOMEMLIMIT: '512MiB',
      },
      cwd: dataDir,
      logFile,
      pidFile,
    });
  },
  async afterReady({ env }) {
    await waitWritable(env);
    await ensureBackupBucket(env);
  },
};
