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

/** The native broker's server.properties (it holds the admin's password: written 0600). */
function kafkaServerProperties(env: Env, dataDir: string): string {
  const host = env.PRISM_BIND_ADDRESS;
  const logDir = join(dataDir, 'logs');
  const brokerPort = env.KAFKA_PORT;
  const advertised = host === '0.0.0.0' ? '127.0.0.1' : host;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${env.KAFKA_CONTROLLER_PORT}`,
    `listeners=BROKER://${host}:${brokerPort},BROKER_TLS://${host}:${env.KAFKA_TLS_PORT},CONTROLLER://${host}:${env.KAFKA_CONTROLLER_PORT}`,
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

function kafkaConfigCurrent({ env, dataDir }: ServiceContext): boolean {
  const props = join(dataDir, 'server.properties');
  return existsSync(props) && readFileSync(props, 'utf8') === kafkaServerProperties(env, dataDir);
}

/** The cluster topology's kafka: one node on each machine (src/stack/cluster.ts). */
export function kafkaNodes(machines: Machine[]): NativeService[] {
  return nodesOf(kafka, machines);
}
