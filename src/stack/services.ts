// How each service runs natively: what a service is to the stack (NativeService), what it is given to start
// (ServiceContext), and every service in the order `stack up` starts them. Each service's data directory,
// configuration, command line and one-time setup live in its own module (src/stack/services/<name>.ts,
// temporal.ts, seaweedfs.ts, monitoring.ts). Ports and credentials come from the same variables
// docker-compose.yml uses.
import type { Env } from '../config.ts';
import type { StackPaths } from './paths.ts';
import type { ServiceName } from './versions.ts';
import { monitoringServices } from './monitoring.ts';
import { seaweedfs } from './seaweedfs.ts';
import { influxdb } from './services/influxdb.ts';
import { jaeger } from './services/jaeger.ts';
import { kafka } from './services/kafka.ts';
import { postgres } from './services/postgres.ts';
import { prometheus } from './services/prometheus.ts';
import { redis } from './services/redis.ts';
import { weaviate } from './services/weaviate.ts';
import { temporalServer, temporalUi } from './temporal.ts';
import { clusterServices } from './cluster.ts';
import { isCluster, type Machine } from './topology.ts';

export { nativePrometheusConfig } from './monitoring.ts';
export { influxRpcPort } from './services/influxdb.ts';
export { kafkaClusterId } from './services/kafka.ts';
export { weaviateInternalPorts } from './services/weaviate.ts';

export interface NativeService {
  /** The process name, which is also the pid and log file name (`<service>-<n>` for node n of a cluster). */
  name: string;
  /** The service a cluster's node belongs to (`kafka` for `kafka-2`): what `after` of another may name. */
  group?: string;
  /** The machine a node of the cluster topology runs on (src/stack/topology.ts); none in the single one. */
  machine?: Machine;
  /**
   * The node's part in its cluster as the service itself reports it (leader, follower, primary, standby),
   * for `stack status` and `prism chaos`; null when it cannot tell (the node does not answer).
   */
  role?: (ctx: ServiceContext) => Promise<string | null>;
  /** Names reported by `stack status` that this one process serves. */
  serves: ServiceName[];
  /** TCP ports it listens on (checked for conflicts before it starts). */
  ports: (env: Env) => number[];
  /** A string its command line contains: a pid file is only trusted when the process still matches it. */
  marker: string;
  /** Start it (detached). Returns its pid. */
  start: (ctx: ServiceContext) => Promise<number>;
  /**
   * What an earlier version's process of this service had on its command line (the CLI's development server
   * for `temporal`): `up` stops such a process before it starts this one on the same ports.
   */
  previousMarker?: string;
  /**
   * Services that must be ready before this one starts (natively, where Compose has `depends_on`): names, or
   * a cluster's service (`postgres`: every node of it).
   */
  after?: string[];
  /** Signal for a quick, clean shutdown. */
  stopSignal?: NodeJS.Signals;
  /** One-time work after the first successful start (users, databases); must be idempotent. */
  afterReady?: (ctx: ServiceContext) => Promise<void>;
  /**
   * Brings a process that already runs up to date with this version of the stack (a new scrape job, an
   * agent to load, new users), without restarting it where it can; returns the new pid when it had to
   * restart it. Must be idempotent.
   */
  refresh?: (ctx: ServiceContext, pid: number) => Promise<number | void>;
  /**
   * Whether a running process is up to date (its users, roles, the credentials it started with): when one is
   * not, `stack up` on a running, healthy stack brings it up to date instead of returning at once.
   */
  current?: (ctx: ServiceContext) => Promise<boolean>;
}

export interface ServiceContext {
  /** The configuration, as seen on the node's own machine in the cluster topology (topology.ts machineEnv). */
  env: Env;
  /**
   * The node's machine, every machine of the cluster, and the configuration as the cluster's clients see it
   * (every node: what a node that is itself a client, such as a Temporal server of PostgreSQL, connects with).
   * The cluster topology only.
   */
  cluster?: { machine: Machine; machines: Machine[]; env: Env };
  paths: StackPaths;
  dataDir: string;
  logFile: string;
  pidFile: string;
}

export const nativeServices: NativeService[] = [
  postgres,
  redis,
  kafka,
  weaviate,
  influxdb,
  prometheus,
  temporalServer,
  temporalUi,
  seaweedfs,
  jaeger,
  ...monitoringServices,
];

/** The services of the topology `env` asks for: the single-node stack, or every node of the cluster one. */
export function servicesOf(env: Env): NativeService[] {
  return isCluster(env) ? clusterServices(env) : nativeServices;
}
