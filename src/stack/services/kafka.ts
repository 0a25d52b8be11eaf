// Kafka, natively: one KRaft broker and controller in a JVM, its storage formatted once with the components'
// SCRAM users, SASL on every listener (plain and TLS), and the JMX exporter's agent inside it.
import { nodesOf, type Machine } from '../topology.ts';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from '../../config.ts';
import { binaries } from '../install.ts';
import {
  ensureKafkaUsers,
  formatScramArguments,
  kafkaSecurityProperties,
  kafkaUsersCurrent,
} from '../kafka-users.ts';
import { attachKafkaJmxAgent, kafkaJmxAgentFlag } from '../monitoring.ts';
import type { StackPaths } from '../paths.ts';
import { run, spawnDetached, stopProcess } from '../process.ts';
import type { NativeService, ServiceContext } from '../services.ts';
import { ensureServerTls } from '../tls.ts';

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

/** A node of the cluster topology: its machine and every machine of the cluster (each a voter). */
export interface KafkaClusterNode {
  machine: Machine;
  machines: Machine[];
}

/**
 * The replication of a cluster of `brokers` nodes: three copies where there are three brokers, and a write
 * acknowledged once two have it (acks=all), so one lost broker stops nothing; one copy on a single broker.
 * src/config.ts defaults KAFKA_REPLICATION_FACTOR and KAFKA_MIN_INSYNC_REPLICAS the same way for the topics.
 */
export function kafkaReplication(brokers: number): { factor: number; minInsync: number } {
  const factor = Math.min(3, brokers);
  return { factor, minInsync: factor > 1 ? 2 : 1 };
}

/**
 * The machines whose node is also a voter of the controller quorum: the first three. A quorum of three
 * outlives one lost voter; KRaft's voters are fixed when the cluster is formatted (Kafka 3.9, static
 * quorum), so a machine added later runs a broker only and changes no other node's configuration.
 */
export function kafkaVoterMachines(machines: readonly Machine[]): Machine[] {
  return machines.slice(0, 3);
}

/** The KRaft voters of the cluster topology: node n, a broker and controller, on machine n's address. */
export function kafkaQuorumVoters(machines: readonly Machine[], controllerPort: number): string {
  return kafkaVoterMachines(machines)
    .map((m) => `${m.index}@${m.address}:${controllerPort}`)
    .join(',');
}

/**
 * The native broker's server.properties (it holds the admin's password: written 0600): the single node's,
 * or node `cluster.machine.index` of the cluster topology's KRaft cluster (src/stack/cluster.ts).
 */
export function kafkaServerProperties(env: Env, dataDir: string, cluster?: KafkaClusterNode): string {
  const host = env.PRISM_BIND_ADDRESS;
  const logDir = join(dataDir, 'logs');
  const brokerPort = env.KAFKA_PORT;
  const advertised = host === '0.0.0.0' ? '127.0.0.1' : host;
  const replication = kafkaReplication(cluster ? cluster.machines.length : 1);
  const voter =
    !cluster || kafkaVoterMachines(cluster.machines).some((m) => m.index === cluster.machine.index);
  const controllerListener = voter ? `,CONTROLLER://${host}:${env.KAFKA_CONTROLLER_PORT}` : '';
  return [
    `process.roles=${voter ? 'broker,controller' : 'broker'}`,
    `node.id=${cluster ? cluster.machine.index : 1}`,
    `controller.quorum.voters=${
      cluster
        ? kafkaQuorumVoters(cluster.machines, env.KAFKA_CONTROLLER_PORT)
        : `1@${host}:${env.KAFKA_CONTROLLER_PORT}`
    }`,
    `listeners=BROKER://${host}:${brokerPort},BROKER_TLS://${host}:${env.KAFKA_TLS_PORT}${controllerListener}`,
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
    `default.replication.factor=${replication.factor}`,
    `offsets.topic.replication.factor=${replication.factor}`,
    `transaction.state.log.replication.factor=${replication.factor}`,
    `transaction.state.log.min.isr=${replication.minInsync}`,
    // The cluster's: a write is acknowledged (acks=all) once two replicas have it, and a replica that missed
    // writes never becomes leader (that would drop them). Kafka's defaults otherwise (1, and false already).
    ...(cluster
      ? [
          `min.insync.replicas=${replication.minInsync}`,
          'unclean.leader.election.enable=false',
          // A killed broker keeps leading its partitions (no write to them succeeds) until the controller
          // misses its heartbeats for this long: 6 s instead of 9, four heartbeats, docs/scaling.md#kafka.
          'broker.session.timeout.ms=6000',
          'broker.heartbeat.interval.ms=1500',
        ]
      : []),
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

export const kafka: NativeService = {
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
  async start({ env, paths, dataDir, logFile, pidFile, cluster }) {
    const lib = binaries(paths).kafkaLib;
    const logDir = join(dataDir, 'logs');
    mkdirSync(logDir, { recursive: true });
    const props = join(dataDir, 'server.properties');
    await ensureKafkaKeystore(paths, dataDir);
    writeFileSync(props, kafkaServerProperties(env, dataDir, cluster), { mode: 0o600 });
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
      // Every node of a cluster is formatted with the one id its first node's start made.
      const clusterId = cluster ? sharedKafkaClusterId(paths) : kafkaClusterId();
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
    return spawnDetached({
      command: 'java',
      args: [...jvm, agent, `-Dkafka.logs.dir=${dataDir}`, '-cp', classpath, 'kafka.Kafka', props],
      logFile,
      pidFile,
    });
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

function kafkaConfigCurrent({ env, dataDir, cluster }: ServiceContext): boolean {
  const props = join(dataDir, 'server.properties');
  return existsSync(props) && readFileSync(props, 'utf8') === kafkaServerProperties(env, dataDir, cluster);
}

/**
 * The cluster topology's KRaft cluster id, made once and kept in the cluster's data directory: a node whose
 * storage is formatted later (a new or wiped node) joins the same cluster. Created exclusively ('wx'), so
 * nodes that start at once agree on the first one written.
 */
export function sharedKafkaClusterId(paths: Pick<StackPaths, 'data'>): string {
  const file = join(paths.data, 'kafka-cluster-id');
  mkdirSync(paths.data, { recursive: true });
  try {
    writeFileSync(file, `${kafkaClusterId()}\n`, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const id = readFileSync(file, 'utf8').trim();
  if (!/^[A-Za-z0-9_-]{22}$/.test(id))
    throw new Error(`${file} does not hold a KRaft cluster id (22 base64url characters): "${id}"`);
  return id;
}

/**
 * A node's part in the cluster, from its own broker's metrics (the JMX exporter inside its JVM): whether its
 * controller is the quorum's active one (the leader) or a voter, and the partitions it leads and hosts.
 */
export function kafkaRoleFromMetrics(metrics: string): string | null {
  const value = (name: string): number | undefined => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(metrics);
    return m ? Number(m[1]) : undefined;
  };
  const active = value('kafka_controller_kafkacontroller_activecontrollercount');
  const leaders = value('kafka_server_replicamanager_leadercount');
  const hosted = value('kafka_server_replicamanager_partitioncount');
  if (active === undefined && leaders === undefined) return null;
  const parts = [active === 1 ? 'controller leader' : 'voter'];
  if (leaders !== undefined) parts.push(`leads ${leaders} of ${hosted ?? '?'} partitions`);
  const underReplicated = value('kafka_server_replicamanager_underreplicatedpartitions');
  if (underReplicated) parts.push(`${underReplicated} under-replicated`);
  return parts.join(', ');
}

async function kafkaRole({ env }: ServiceContext): Promise<string | null> {
  const res = await fetch(`http://${env.PRISM_BIND_ADDRESS}:${env.KAFKA_JMX_EXPORTER_PORT}/metrics`, {
    signal: AbortSignal.timeout(3_000),
  });
  return res.ok ? kafkaRoleFromMetrics(await res.text()) : null;
}

/**
 * The cluster topology's kafka: one KRaft node on each machine, each a broker and a voter of the controller
 * quorum (node.id = its machine's index), all on the same ports of their own addresses (src/stack/cluster.ts).
 */
export function kafkaNodes(machines: Machine[]): NativeService[] {
  return nodesOf({ ...kafka, role: kafkaRole }, machines);
}
