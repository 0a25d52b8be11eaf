// How each service runs natively: its data directory, configuration, command line and one-time setup.
// Ports and credentials come from the same variables docker-compose.yml uses.
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { provisionRoles, rolesUpToDate } from '../db/roles.ts';
import { applyRedisAcl, redisAclCurrent, writeRedisAcl } from './redis-acl.ts';
import {
  ensureKafkaUsers,
  formatScramArguments,
  kafkaSecurityProperties,
  kafkaUsersCurrent,
} from './kafka-users.ts';
import type { Env } from '../config.ts';
import { binaries } from './install.ts';
import type { StackPaths } from './paths.ts';
import {
  commandLine,
  isAlive,
  readPidFile,
  run,
  spawnDetached,
  stopProcess,
  type SpawnSpec,
} from './process.ts';
import type { ServiceName } from './versions.ts';
import {
  attachKafkaJmxAgent,
  kafkaJmxAgentFlag,
  monitoringServices,
  writePrometheusConfig,
} from './monitoring.ts';
import { seaweedfs } from './seaweedfs.ts';
import { temporalServer, temporalUi } from './temporal.ts';
import { ensureServerTls, stackCaCertificate, stackCaDir } from './tls.ts';

export { nativePrometheusConfig } from './monitoring.ts';

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

function host(env: Env): string {
  return env.PRISM_BIND_ADDRESS;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line)
    throw new Error('PostgreSQL refuses to run as root and there is no `postgres` user to run it as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

const postgres: NativeService = {
  name: 'postgres',
  serves: ['postgres'],
  marker: 'postgres',
  ports: (env) => [env.POSTGRES_PORT],
  stopSignal: 'SIGINT', // "fast" shutdown: SIGTERM would wait for every client to disconnect
  async start({ env, paths, dataDir, logFile, pidFile }) {
    const bin = binaries(paths).postgresBin;
    const owner = postgresUser();
    const chown = (path: string) => owner && chownSync(path, owner.uid, owner.gid);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chown(dataDir);
    if (!existsSync(logFile)) writeFileSync(logFile, '');
    chown(logFile);
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      if (!env.POSTGRES_PASSWORD) throw new Error('POSTGRES_PASSWORD (the bootstrap superuser) is not set');
      const pwfile = join(dataDir, '..', `.pg-pw-${process.pid}`);
      writeFileSync(pwfile, `${env.POSTGRES_PASSWORD}\n`, { mode: 0o600 });
      chown(pwfile);
      try {
        await run(
          join(bin, 'initdb'),
          [
            '-D',
            dataDir,
            '-U',
            env.POSTGRES_USER,
            `--pwfile=${pwfile}`,
            '--auth=scram-sha-256',
            '-E',
            'UTF8',
            '--locale=C.UTF-8',
          ],
          owner ?? {},
        );
      } finally {
        rmSync(pwfile, { force: true });
      }
    }
    // A postmaster.pid left by a killed server blocks a new one only when its pid is alive again as
    // something else; remove it when it does not name a running postgres.
    const lock = join(dataDir, 'postmaster.pid');
    const stale = readPidFile(lock);
    if (stale !== null && !(isAlive(stale) && commandLine(stale)?.includes('postgres')))
      rmSync(lock, { force: true });
    // PostgreSQL offers TLS to every client that asks for it (POSTGRES_SSL_MODE); the local default does not.
    const tls = await ensureServerTls(paths, stackCaDir(paths), owner);
    const options = [
      `-p ${env.POSTGRES_PORT}`,
      `-k ${dataDir}`,
      `-c listen_addresses=${host(env)}`,
      // TLS for the clients that ask for it (POSTGRES_SSL_MODE; docs/security.md), TLS 1.2 at least.
      '-c ssl=on',
      `-c ssl_cert_file=${tls.cert}`,
      `-c ssl_key_file=${tls.key}`,
      '-c ssl_min_protocol_version=TLSv1.2',
      // spec section 7 tuning, sized for a 24 GiB machine shared with every other service
      '-c shared_buffers=256MB',
      '-c effective_cache_size=1GB',
      '-c work_mem=8MB',
      '-c maintenance_work_mem=64MB',
      '-c max_connections=200',
    ].join(' ');
    await run(
      join(bin, 'pg_ctl'),
      ['-D', dataDir, '-l', logFile, '-o', options, '-w', '-t', '120', 'start'],
      owner ?? {},
    );
    const pid = readPidFile(lock);
    if (pid === null) throw new Error(`PostgreSQL started but wrote no ${lock}`);
    writeFileSync(pidFile, `${pid}\n`);
    return pid;
  },
  // The product's roles and database (stack/postgres/roles.sql), as the bootstrap superuser.
  async afterReady({ env }) {
    await provisionRoles(env);
  },
  current: ({ env }) => rolesUpToDate(env),
};

const redis: NativeService = {
  name: 'redis',
  serves: ['redis'],
  marker: 'redis-server',
  ports: (env) => [env.REDIS_PORT, env.REDIS_TLS_PORT],
  async start({ env, paths, dataDir, logFile, pidFile }) {
    mkdirSync(dataDir, { recursive: true });
    await ensureServerTls(paths, join(dataDir, 'tls'));
    writeRedisAcl(env, join(dataDir, 'users.acl'));
    writeRedisConf(env, dataDir, stackCaCertificate(paths));
    return spawnDetached(spec(binaries(paths).redis, [join(dataDir, 'redis.conf')], { logFile, pidFile }));
  },
  // A server started by an earlier version (one password for everybody) gets the users without a restart;
  // its next start reads them from the file. One started with another redis.conf (before its TLS port) is
  // restarted with this one: its append-only file keeps every write.
  async refresh(ctx, pid) {
    const { env, paths, dataDir } = ctx;
    await ensureServerTls(paths, join(dataDir, 'tls'));
    if (!redisConfCurrent(ctx)) {
      await stopProcess(pid, 30_000);
      return this.start(ctx);
    }
    const changed = writeRedisAcl(env, join(dataDir, 'users.acl'));
    await applyRedisAcl(env, join(dataDir, 'users.acl'), changed);
  },
  // Its configuration, and its users as stack/redis/users.acl and the passwords of this configuration say.
  current: async (ctx) => redisConfCurrent(ctx) && redisAclCurrent(ctx.env, join(ctx.dataDir, 'users.acl')),
};

function redisConfCurrent({ env, paths, dataDir }: ServiceContext): boolean {
  const file = join(dataDir, 'redis.conf');
  return (
    existsSync(file) && readFileSync(file, 'utf8') === redisConf(env, dataDir, stackCaCertificate(paths))
  );
}

/** redis.conf: a file, not arguments; its users (and their password hashes) in the ACL file beside it. */
function writeRedisConf(env: Env, dataDir: string, ca: string): void {
  writeFileSync(join(dataDir, 'redis.conf'), redisConf(env, dataDir, ca), { mode: 0o600 });
}

function redisConf(env: Env, dataDir: string, ca: string): string {
  return [
    `port ${env.REDIS_PORT}`,
    `bind ${host(env)}`,
    `dir ${dataDir}`,
    `aclfile ${join(dataDir, 'users.acl')}`,
    // TLS beside the plain port, for clients with REDIS_TLS (its certificate: the stack's CA).
    `tls-port ${env.REDIS_TLS_PORT}`,
    `tls-cert-file ${join(dataDir, 'tls', 'server.crt')}`,
    `tls-key-file ${join(dataDir, 'tls', 'server.key')}`,
    `tls-ca-cert-file ${ca}`,
    'tls-auth-clients no',
    'tls-protocols "TLSv1.2 TLSv1.3"',
    `maxmemory ${env.REDIS_MAXMEMORY}`,
    // The spec's LRU eviction, limited to keys that carry a TTL (sessions, temporary state, metric
    // counters): locks, queues and shared memory have none, so they are never evicted.
    'maxmemory-policy volatile-lru',
    'save 900 1',
    'save 300 10',
    'save 60 10000',
    // RDB snapshots (the spec) plus an append-only file, so a killed server loses at most a second.
    'appendonly yes',
    'appendfsync everysec',
    'notify-keyspace-events Ex',
    'daemonize no',
    '',
  ].join('\n');
}

function spec(command: string, args: string[], rest: Omit<SpawnSpec, 'command' | 'args'>): SpawnSpec {
  return { command, args, ...rest };
}

/**
 * A new KRaft cluster id: 16 random bytes in base64url, as Kafka's own `Uuid.randomUuid()` makes them —
 * and, as Kafka does, never one that starts with '-', which its command line would read as an option.
 */
export function kafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** The native broker's server.properties (it holds the admin's password: written 0600). */
function kafkaServerProperties(env: Env, dataDir: string): string {
  const logDir = join(dataDir, 'logs');
  const brokerPort = env.KAFKA_PORT;
  const advertised = host(env) === '0.0.0.0' ? '127.0.0.1' : host(env);
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host(env)}:${env.KAFKA_CONTROLLER_PORT}`,
    `listeners=BROKER://${host(env)}:${brokerPort},BROKER_TLS://${host(env)}:${env.KAFKA_TLS_PORT},CONTROLLER://${host(env)}:${env.KAFKA_CONTROLLER_PORT}`,
    `advertised.listeners=BROKER://${advertised}:${brokerPort},BROKER_TLS://${advertised}:${env.KAFKA_TLS_PORT}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=BROKER',
    // Every client logs in; ACLs say what each may do (src/stack/kafka-users.ts, src/stores/kafka/acl.ts).
    // BROKER_TLS: the same over TLS (SASL_SSL), for clients with KAFKA_TLS (its certificate: the stack's CA).
    ...kafkaSecurityProperties(env, {
      broker: 'BROKER',
      controller: 'CONTROLLER',
      tls: { listener: 'BROKER_TLS', keystore: kafkaKeystore(dataDir) },
    }),
    `log.dirs=${logDir}`,
    'num.partitions=3',
    'default.replication.factor=1',
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    // Topics are created by `prism provision` with their partitions and retention, never by accident.
    'auto.create.topics.enable=false',
    'group.initial.rebalance.delay.ms=0',
    'log.retention.hours=168',
    // One broker on a small machine shared with every other service: Kafka's defaults (3 network,
    // 8 I/O and 10 background threads) are sized for a dedicated server and only add contention here.
    'num.network.threads=2',
    'num.io.threads=2',
    'background.threads=4',
    '',
  ].join('\n');
}

const kafka: NativeService = {
  name: 'kafka',
  // The broker's metrics come from the JMX exporter's Java agent inside its JVM.
  serves: ['kafka', 'kafka-jmx-exporter'],
  marker: 'kafka.Kafka',
  ports: (env) => [
    env.KAFKA_PORT,
    env.KAFKA_TLS_PORT,
    env.KAFKA_CONTROLLER_PORT,
    env.KAFKA_JMX_EXPORTER_PORT,
  ],
  async start({ env, paths, dataDir, logFile, pidFile }) {
    const lib = binaries(paths).kafkaLib;
    const logDir = join(dataDir, 'logs');
    mkdirSync(logDir, { recursive: true });
    const props = join(dataDir, 'server.properties');
    await ensureKafkaKeystore(paths, dataDir);
    writeFileSync(props, kafkaServerProperties(env, dataDir), { mode: 0o600 });
    chmodSync(props, 0o600);
    const log4j = join(dataDir, 'log4j.properties');
    writeFileSync(
      log4j,
      [
        'log4j.rootLogger=WARN, stdout',
        'log4j.logger.kafka=INFO',
        'log4j.logger.org.apache.kafka=WARN',
        'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
        'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
        '',
      ].join('\n'),
    );
    const classpath = `${lib}/*`;
    const jvm = [
      `-Xms${env.KAFKA_HEAP}`,
      `-Xmx${env.KAFKA_HEAP}`,
      // A 512 MB heap needs no concurrent collector: the serial one costs the least CPU on two cores.
      '-XX:+UseSerialGC',
      `-Dlog4j.configuration=file:${log4j}`,
    ];
    if (!existsSync(join(logDir, 'meta.properties'))) {
      const clusterId = kafkaClusterId();
      await run('java', [
        ...jvm,
        '-cp',
        classpath,
        'kafka.tools.StorageTool',
        'format',
        `--cluster-id=${clusterId}`,
        '-c',
        props,
        '--ignore-formatted',
        // The components' SCRAM users, with the cluster: ready as soon as the broker is.
        ...formatScramArguments(env),
      ]);
    }
    // The JMX exporter's agent only in the broker's JVM (not the storage tool's): it adds no JVM of its own.
    const agent = kafkaJmxAgentFlag(env, paths);
    return spawnDetached(
      spec('java', [...jvm, agent, `-Dkafka.logs.dir=${dataDir}`, '-cp', classpath, 'kafka.Kafka', props], {
        logFile,
        pidFile,
      }),
    );
  },
  // Users whose password does not log in (a cluster formatted before they existed, a rotated password).
  async afterReady({ env, paths }) {
    await ensureKafkaUsers(env, binaries(paths).kafkaLib);
  },
  // A broker started with another configuration (an earlier version's listeners without SASL, another admin
  // password) is restarted with this one; otherwise it keeps running and gets the JMX agent if it lacks it.
  async refresh(ctx, pid) {
    if (!kafkaConfigCurrent(ctx)) {
      await stopProcess(pid, 60_000);
      return this.start(ctx);
    }
    await attachKafkaJmxAgent(ctx, pid);
  },
  current: async (ctx) => kafkaConfigCurrent(ctx) && (await kafkaUsersCurrent(ctx.env)),
};

/** The PEM file of the broker's TLS listener: its private key (PKCS#8) and certificate. */
function kafkaKeystore(dataDir: string): string {
  return join(dataDir, 'tls', 'keystore.pem');
}

async function ensureKafkaKeystore(paths: StackPaths, dataDir: string): Promise<void> {
  const tls = await ensureServerTls(paths, join(dataDir, 'tls'));
  const pem = readFileSync(tls.key, 'utf8') + readFileSync(tls.cert, 'utf8');
  const file = kafkaKeystore(dataDir);
  if (!existsSync(file) || readFileSync(file, 'utf8') !== pem) writeFileSync(file, pem, { mode: 0o600 });
}

function kafkaConfigCurrent({ env, dataDir }: ServiceContext): boolean {
  const props = join(dataDir, 'server.properties');
  return existsSync(props) && readFileSync(props, 'utf8') === kafkaServerProperties(env, dataDir);
}

/** Weaviate's internal ports: gossip, data, Raft, Raft RPC (7946, 7947, 8300, 8301 by default). */
export function weaviateInternalPorts(env: Pick<Env, 'WEAVIATE_CLUSTER_PORT'>): number[] {
  const base = env.WEAVIATE_CLUSTER_PORT;
  return [base, base + 1, base + 354, base + 355];
}

const weaviate: NativeService = {
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
    return spawnDetached(
      spec(
        binaries(paths).weaviate,
        ['--scheme', 'http', '--host', host(env), '--port', String(env.WEAVIATE_HTTP_PORT)],
        {
          env: serviceEnv,
          cwd: dataDir,
          logFile,
          pidFile,
        },
      ),
    );
  },
};

/** InfluxDB's RPC port (backup and restore), two above its HTTP port: 18088 by default, as 8088 is to 8086. */
export const influxRpcPort = (env: Env) => env.INFLUX_PORT + 2;

const influxdb: NativeService = {
  name: 'influxdb',
  serves: ['influxdb'],
  marker: 'influxd',
  ports: (env) => [env.INFLUX_PORT, influxRpcPort(env)],
  async start({ env, paths, dataDir, logFile, pidFile }) {
    mkdirSync(dataDir, { recursive: true });
    const port = env.INFLUX_PORT;
    const serviceEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      INFLUXDB_META_DIR: join(dataDir, 'meta'),
      INFLUXDB_DATA_DIR: join(dataDir, 'data'),
      INFLUXDB_DATA_WAL_DIR: join(dataDir, 'wal'),
      INFLUXDB_HTTP_BIND_ADDRESS: `${host(env)}:${port}`,
      // The RPC port of backup and restore: next to the HTTP port, so a second instance can run beside.
      INFLUXDB_BIND_ADDRESS: `127.0.0.1:${influxRpcPort(env)}`,
      INFLUXDB_HTTP_FLUX_ENABLED: 'true',
      INFLUXDB_HTTP_AUTH_ENABLED: 'true',
      INFLUXDB_HTTP_LOG_ENABLED: 'false',
      INFLUXDB_DATA_QUERY_LOG_ENABLED: 'false',
      INFLUXDB_REPORTING_DISABLED: 'true',
      INFLUXDB_MONITOR_STORE_ENABLED: 'false',
    };
    return spawnDetached(
      spec(binaries(paths).influxd, ['run'], { env: serviceEnv, cwd: dataDir, logFile, pidFile }),
    );
  },
  // InfluxDB 1.x with auth on lets the first admin be created without credentials (as the official image's
  // INFLUXDB_ADMIN_USER does under Compose); after that, the admin creates the product's database.
  async afterReady({ env }) {
    const { INFLUX_USER: user, INFLUX_PASSWORD: password } = env;
    const query = async (q: string, auth: boolean) => {
      const body = new URLSearchParams({ q });
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      if (auth) headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      const res = await fetch(`${env.INFLUX_URL}/query`, { method: 'POST', body, headers });
      return { status: res.status, text: await res.text() };
    };
    const users = await query('SHOW USERS', true);
    if (users.status === 401 || users.text.includes('create admin user first')) {
      const created = await query(
        `CREATE USER "${user}" WITH PASSWORD '${password.replaceAll("'", "\\'")}' WITH ALL PRIVILEGES`,
        false,
      );
      if (created.status !== 200 || created.text.includes('"error"')) {
        throw new Error(`could not create the InfluxDB admin INFLUX_USER: ${created.text}`);
      }
    }
    const db = await query(`CREATE DATABASE "${env.INFLUX_BUCKET}"`, true);
    if (db.status !== 200 || db.text.includes('"error"')) {
      throw new Error(
        `could not create the InfluxDB database ${env.INFLUX_BUCKET}: HTTP ${db.status} ${db.text}`,
      );
    }
  },
};

const prometheus: NativeService = {
  name: 'prometheus',
  serves: ['prometheus'],
  marker: 'prometheus',
  ports: (env) => [env.PROMETHEUS_PORT],
  async start({ env, paths, dataDir, logFile, pidFile }) {
    mkdirSync(join(dataDir, 'tsdb'), { recursive: true });
    const conf = join(dataDir, 'prometheus.yml');
    await writePrometheusConfig(env, conf, false);
    return spawnDetached(
      spec(
        binaries(paths).prometheus,
        [
          `--config.file=${conf}`,
          `--storage.tsdb.path=${join(dataDir, 'tsdb')}`,
          `--web.listen-address=${host(env)}:${env.PROMETHEUS_PORT}`,
          '--storage.tsdb.retention.time=15d',
          '--web.enable-lifecycle',
        ],
        { cwd: dataDir, logFile, pidFile },
      ),
    );
  },
  // A running Prometheus gets the scrape jobs, rules and Alertmanager of this version by a reload.
  async refresh({ env, dataDir }) {
    await writePrometheusConfig(env, join(dataDir, 'prometheus.yml'), true);
  },
};

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
