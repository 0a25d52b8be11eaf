// The cluster topology's machines, and how a service of the single-node stack becomes one node of a cluster:
// the same module, started with its machine's address as its bind address, its own data, log and pid file
// (named `<service>-<n>`), and its machine and peers in its context (src/stack/cluster.ts lists the nodes).
import type { Env } from '../config.ts';
import type { NativeService } from './services.ts';

export interface Machine {
  /** 1-based: node n of each clustered service runs on machine n. */
  index: number;
  address: string;
}

export function isCluster(env: Pick<Env, 'PRISM_TOPOLOGY'>): boolean {
  return env.PRISM_TOPOLOGY === 'cluster';
}

export function clusterMachines(env: Pick<Env, 'PRISM_CLUSTER_MACHINES'>): Machine[] {
  return env.PRISM_CLUSTER_MACHINES.split(',').map((address, i) => ({ index: i + 1, address }));
}

/**
 * The configuration as a process on `machine` sees its own services: every connection setting at that
 * machine's address (a node's readiness is its own, asked of it alone), and its bind address.
 */
export function machineEnv(env: Env, machine: Machine): Env {
  const a = machine.address;
  return {
    ...env,
    PRISM_BIND_ADDRESS: a,
    POSTGRES_HOST: a,
    REDIS_HOST: a,
    REDIS_SENTINELS: undefined,
    KAFKA_BROKERS: `${a}:${env.KAFKA_PORT}`,
    WEAVIATE_HOST: a,
    TEMPORAL_ADDRESS: `${a}:${env.TEMPORAL_PORT}`,
    TEMPORAL_UI_URL: `http://${a}:${env.TEMPORAL_UI_PORT}`,
    INFLUX_URL: `http://${a}:${env.INFLUX_PORT}`,
    INFLUX_RPC_ADDRESS: `${a}:${env.INFLUX_PORT + 2}`,
    PROMETHEUS_URL: `http://${a}:${env.PROMETHEUS_PORT}`,
    PRISM_BACKUP_S3_ENDPOINT: `http://${a}:${env.S3_PORT}`,
  };
}

/**
 * `service` as node `machine.index` of its cluster (or, with `{ name: service.name }`, the one instance of a
 * service that has no clustering, placed on `machine`).
 */
export function nodeOf(
  service: NativeService,
  machine: Machine,
  options: { name?: string } = {},
): NativeService {
  return {
    ...service,
    name: options.name ?? `${service.name}-${machine.index}`,
    group: service.group ?? service.name,
    machine,
  };
}

/** One node of `service` on each machine. */
export function nodesOf(service: NativeService, machines: Machine[]): NativeService[] {
  return machines.map((m) => nodeOf(service, m));
}
