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
import { kafka } from './services/kafka.ts';
import { postgres } from './services/postgres.ts';
import { prometheus } from './services/prometheus.ts';
import { redis } from './services/redis.ts';
import { weaviate } from './services/weaviate.ts';
import { temporalServer, temporalUi } from './temporal.ts';

export { nativePrometheusConfig } from './monitoring.ts';
export { influxRpcPort } from './services/influxdb.ts';
export { kafkaClusterId } from './services/kafka.ts';
export { weaviateInternalPorts } from './services/weaviate.ts';

export interface NativeService {
  /** The process name, which is also the pid and log file name. */
  name: string;
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
  /** Services that must be ready before this one starts (natively, where Compose has `depends_on`). */
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
  env: Env;
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
  ...monitoringServices,
];
