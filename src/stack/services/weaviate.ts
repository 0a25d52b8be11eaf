// Weaviate, natively: one node (Raft, gossip and data ports next to its cluster port), API-key auth when
// WEAVIATE_API_KEY is set, filesystem backups, Prometheus metrics.
import { nodesOf, type Machine } from '../topology.ts';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from '../../config.ts';
import { binaries } from '../install.ts';
import { spawnDetached } from '../process.ts';
import type { NativeService } from '../services.ts';

/** Weaviate's internal ports: gossip, data, Raft, Raft RPC (7946, 7947, 8300, 8301 by default). */
export function weaviateInternalPorts(env: Pick<Env, 'WEAVIATE_CLUSTER_PORT'>): number[] {
  const base = env.WEAVIATE_CLUSTER_PORT;
  return [base, base + 1, base + 354, base + 355];
}

export const weaviate: NativeService = {
  name: 'weaviate',
  serves: ['weaviate'],
  marker: 'weaviate-server',
  ports: (env) => [env.WEAVIATE_HTTP_PORT, env.WEAVIATE_GRPC_PORT, ...weaviateInternalPorts(env)],
  async start({ env, paths, dataDir, logFile, pidFile }) {
    const [gossip, data, raft, raftRpc] = weaviateInternalPorts(env);
    mkdirSync(dataDir, { recursive: true });
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
      BACKUP_FILESYSTEM_PATH: join(dataDir, 'backups'),
      DEFAULT_VECTORIZER_MODULE: 'none',
      ENABLE_MODULES: 'backup-filesystem',
      // Raft state is tied to the node name: it must never change between starts.
      CLUSTER_HOSTNAME: 'node1',
      CLUSTER_IN_LOCALHOST: 'true',
      RAFT_BOOTSTRAP_EXPECT: '1',
      GRPC_PORT: String(env.WEAVIATE_GRPC_PORT),
      QUERY_DEFAULTS_LIMIT: '25',
      DISABLE_TELEMETRY: 'true',
      PROMETHEUS_MONITORING_ENABLED: 'true',
      PROMETHEUS_MONITORING_PORT: String(env.WEAVIATE_METRICS_PORT),
      CLUSTER_GOSSIP_BIND_PORT: String(gossip),
      CLUSTER_DATA_BIND_PORT: String(data),
      RAFT_PORT: String(raft),
      RAFT_INTERNAL_RPC_PORT: String(raftRpc),
      // Its pprof server would take the fixed port 6060 (a second instance could not start); nothing uses it.
      GO_PROFILING_DISABLE: 'true',
      LIMIT_RESOURCES: 'true',
      GOMEMLIMIT: '1GiB',
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
  },
};

/** The cluster topology's weaviate: one node on each machine (src/stack/cluster.ts). */
export function weaviateNodes(machines: Machine[]): NativeService[] {
  return nodesOf(weaviate, machines);
}
