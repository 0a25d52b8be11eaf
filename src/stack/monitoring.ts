// The stack's monitoring, natively: Prometheus' configuration, Alertmanager, and the exporters that measure
// every service — PostgreSQL, Redis, Kafka's broker (the JMX exporter's Java agent in its JVM), the host,
// and each process of the stack and of the application — on the host ports their Docker Compose twins
// publish (docker-compose.yml). Under Compose, cAdvisor measures containers instead of process-exporter
// measuring processes. The cluster topology runs none of the exporters nor Alertmanager: its one Prometheus
// scrapes every machine's nodes and application processes directly (clusterScrapeJobs).
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { Env } from '../config.ts';
import { agentTypes } from '../task/contract.ts';
import { serviceHost } from './health.ts';
import { binaries } from './install.ts';
import { repoRoot, type StackPaths } from './paths.ts';
import { commandLine, portListener, run, spawnDetached, stopProcess } from './process.ts';
import { asPostgresRole, asRedisUser } from '../identity.ts';
import { seaweedfsPorts } from './seaweedfs.ts';
import type { NativeService, ServiceContext } from './services.ts';
import { etcdClientPort } from './services/etcd.ts';
import { patroniRestPort } from './services/postgres-cluster.ts';
import { weaviateNodePorts } from './services/weaviate.ts';
import { clusterMachines, isCluster, type Machine } from './topology.ts';

/** The Alertmanager configuration both stacks share: Compose mounts it, the native stack derives its own. */
export const alertmanagerConfigFile = join(repoRoot, 'stack', 'alertmanager', 'alertmanager.yml');
/** The JMX exporter's rules for Kafka's broker (both stacks). */
export const kafkaJmxExporterConfigFile = join(repoRoot, 'stack', 'kafka', 'jmx-exporter.yml');
/** The Prometheus rules (recording and alerting) both stacks load. */
export const prometheusRulesGlob = join(repoRoot, 'stack', 'prometheus', 'rules', '*.yml');

// --- Prometheus ------------------------------------------------------------------------------------------

export interface ScrapeJob {
  job: string;
  targets: { target: string; labels?: Record<string, string> }[];
}

/**
 * Prometheus' scrape jobs on the native stack; stack/prometheus/prometheus.yml has the same jobs. In the
 * cluster topology, those of every machine (clusterScrapeJobs).
 */
export function nativeScrapeJobs(env: Env): ScrapeJob[] {
  if (isCluster(env)) return clusterScrapeJobs(env);
  const at = (port: number) => `${serviceHost(env)}:${port}`;
  const one = (job: string, port: number): ScrapeJob => ({ job, targets: [{ target: at(port) }] });
  return [
    one('prometheus', env.PROMETHEUS_PORT),
    one('temporal', env.TEMPORAL_METRICS_PORT),
    one('weaviate', env.WEAVIATE_METRICS_PORT),
    one('influxdb', env.INFLUX_PORT),
    one('seaweedfs', seaweedfsPorts(env).metrics),
    // The application (`prism up`): they answer only while it runs.
    one('prism-api', env.API_PORT),
    one('prism-worker', env.WORKER_METRICS_PORT),
    one('prism-maintenance-worker', env.MAINTENANCE_METRICS_PORT),
    {
      job: 'prism-agents',
      targets: agentTypes.map((type, i) => ({
        target: at(env.AGENT_METRICS_PORT + i),
        labels: { agent_type: type },
      })),
    },
    one('postgres', env.POSTGRES_EXPORTER_PORT),
    one('redis', env.REDIS_EXPORTER_PORT),
    one('kafka', env.KAFKA_JMX_EXPORTER_PORT),
    one('node', env.NODE_EXPORTER_PORT),
    // Compose has `cadvisor` in its place.
    one('process', env.PROCESS_EXPORTER_PORT),
    one('alertmanager', env.ALERTMANAGER_PORT),
  ];
}

/**
 * The cluster topology's scrape jobs (src/stack/cluster.ts runs one Prometheus, on the first machine): what
 * runs on every machine, each target labelled with its `machine` (its index, "1", "2", …) and its `node`
 * (the name `prism stack status`, `prism ps` and `prism stack logs` use: `temporal-2`, `worker-2`); the
 * target's `instance` is its address and port, so it names the machine too. The jobs keep the single
 * topology's names, so that rules and dashboards read both:
 * - every machine: Temporal's server, Weaviate's node (its metrics port moves with the node, weaviateNodePorts),
 *   Kafka's broker (the JMX exporter's agent in its JVM), Patroni's REST API (/metrics: its PostgreSQL's role,
 *   whether it runs, its WAL positions), etcd's member (/metrics on its client port), and the application
 *   processes `prism up` starts on each machine (src/app/index.ts appProcessesOf);
 * - once, on the first machine: Prometheus itself, InfluxDB and SeaweedFS.
 * No Alertmanager, exporter of PostgreSQL or Redis, node-exporter or process-exporter runs in this topology
 * (clusterServices), so there are no such jobs; Redis and its sentinels expose no metrics of their own.
 * docker-compose.cluster.yml has its Compose twin.
 */
export function clusterScrapeJobs(env: Env): ScrapeJob[] {
  const machines = clusterMachines(env);
  const first = machines[0]!;
  const on = (m: Machine, port: number, node: string, labels: Record<string, string> = {}) => ({
    target: `${m.address}:${port}`,
    labels: { machine: String(m.index), node, ...labels },
  });
  /** One target on every machine, node `<name>-<n>` on machine n (as nodesOf and appProcessesOf name them). */
  const each = (job: string, name: string, port: (m: Machine) => number): ScrapeJob => ({
    job,
    targets: machines.map((m) => on(m, port(m), `${name}-${m.index}`)),
  });
  const once = (job: string, port: number): ScrapeJob => ({ job, targets: [on(first, port, job)] });
  return [
    once('prometheus', env.PROMETHEUS_PORT),
    each('temporal', 'temporal', () => env.TEMPORAL_METRICS_PORT),
    each('weaviate', 'weaviate', (m) => weaviateNodePorts(env, m.index).metrics),
    once('influxdb', env.INFLUX_PORT),
    once('seaweedfs', seaweedfsPorts(env).metrics),
    // The application (`prism up --topology cluster`, one of each process per machine): they answer only
    // while it runs.
    each('prism-api', 'api', () => env.API_PORT),
    each('prism-worker', 'worker', () => env.WORKER_METRICS_PORT),
    each('prism-maintenance-worker', 'maintenance-worker', () => env.MAINTENANCE_METRICS_PORT),
    {
      job: 'prism-agents',
      targets: machines.flatMap((m) =>
        agentTypes.map((type, i) =>
          on(m, env.AGENT_METRICS_PORT + i, `agent-${type.toLowerCase()}-${m.index}`, { agent_type: type }),
        ),
      ),
    },
    each('kafka', 'kafka', () => env.KAFKA_JMX_EXPORTER_PORT),
    each('patroni', 'postgres', () => patroniRestPort),
    each('etcd', 'etcd', () => etcdClientPort),
  ];
}

const scrapeConfigs = (jobs: ScrapeJob[]) =>
  jobs.map(({ job, targets }) => ({
    job_name: job,
    static_configs: targets.map(({ target, labels }) => ({ targets: [target], ...(labels && { labels }) })),
  }));

/** Native Prometheus configuration; stack/prometheus/prometheus.yml is its Docker Compose twin. */
export function nativePrometheusConfig(env: Env): string {
  if (isCluster(env)) return clusterPrometheusConfig(env);
  const config = {
    global: { scrape_interval: '15s', evaluation_interval: '15s' },
    // The repository's rules, where Compose mounts the same directory.
    rule_files: [prometheusRulesGlob],
    alerting: {
      alertmanagers: [{ static_configs: [{ targets: [`${serviceHost(env)}:${env.ALERTMANAGER_PORT}`] }] }],
    },
    scrape_configs: scrapeConfigs(nativeScrapeJobs(env)),
  };
  return `# Generated by \`prism stack up\` (src/stack/monitoring.ts); stack/prometheus/prometheus.yml is its Compose twin.\n${toYaml(config)}`;
}

/**
 * The cluster topology's Prometheus configuration: every machine's targets (clusterScrapeJobs) and the
 * repository's rules. No `alerting`: the cluster runs no Alertmanager, so its alerts are evaluated (the
 * /alerts page, the ALERTS series) but not delivered.
 */
function clusterPrometheusConfig(env: Env): string {
  const config = {
    global: { scrape_interval: '15s', evaluation_interval: '15s' },
    rule_files: [prometheusRulesGlob],
    scrape_configs: scrapeConfigs(clusterScrapeJobs(env)),
  };
  return `# Generated by \`prism stack up --topology cluster\` (src/stack/monitoring.ts): the targets of every machine; docker-compose.cluster.yml has its Compose twin.\n${toYaml(config)}`;
}

/**
 * What a `stack up` on a running Prometheus must bring up to date: its jobs and how many targets each has (a
 * machine added to the cluster topology), its rules and Alertmanager.
 */
function prometheusShape(text: string): string {
  try {
    const c = parseYaml(text) as {
      rule_files?: string[];
      alerting?: unknown;
      scrape_configs?: { job_name: string; static_configs?: { targets?: string[] }[] }[];
    };
    const jobs = c.scrape_configs?.map((j) => [
      j.job_name,
      (j.static_configs ?? []).reduce((n, s) => n + (s.targets?.length ?? 0), 0),
    ]);
    return JSON.stringify([jobs, c.rule_files, c.alerting]);
  } catch {
    return '';
  }
}

/**
 * Writes the native Prometheus configuration. On a running Prometheus whose configuration lacks jobs, targets,
 * rules or the Alertmanager of this version, it is rewritten and reloaded (no restart); one that differs only in
 * ports (another deployment's `stack up` started it) is left alone, as every running service is.
 */
export async function writePrometheusConfig(
  env: Env,
  file: string,
  running: boolean,
): Promise<'written' | 'reloaded' | 'unchanged'> {
  const wanted = nativePrometheusConfig(env);
  if (running && existsSync(file) && prometheusShape(readFileSync(file, 'utf8')) === prometheusShape(wanted))
    return 'unchanged';
  writeFileSync(file, wanted);
  if (!running) return 'written';
  const url = `http://${serviceHost(env)}:${env.PROMETHEUS_PORT}/-/reload`;
  const res = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(30_000) });
  if (!res.ok) {
    throw new Error(`Prometheus did not reload ${file}: HTTP ${res.status} ${(await res.text()).trim()}`);
  }
  return 'reloaded';
}

// --- Alertmanager -----------------------------------------------------------------------------------------

interface AlertmanagerConfig {
  receivers?: {
    name: string;
    webhook_configs?: {
      url: string;
      http_config?: { authorization?: { credentials_file?: string; credentials?: string } };
    }[];
  }[];
}

/**
 * The native Alertmanager configuration: stack/alertmanager/alertmanager.yml (routes, receiver, timings
 * written once for both stacks), with the webhook pointed at the API on this machine and the token read
 * from `tokenFile` instead of Compose's secret.
 */
export function nativeAlertmanagerConfig(env: Env, tokenFile: string): string {
  const config = parseYaml(readFileSync(alertmanagerConfigFile, 'utf8')) as AlertmanagerConfig;
  for (const receiver of config.receivers ?? []) {
    for (const hook of receiver.webhook_configs ?? []) {
      const url = new URL(hook.url);
      url.hostname = serviceHost(env);
      url.port = String(env.API_PORT);
      hook.url = url.toString();
      const authorization = hook.http_config?.authorization;
      if (authorization?.credentials_file) authorization.credentials_file = tokenFile;
    }
  }
  return `# Generated by \`prism stack up\` from stack/alertmanager/alertmanager.yml (src/stack/monitoring.ts).\n${toYaml(config)}`;
}

const alertmanager: NativeService = {
  name: 'alertmanager',
  serves: ['alertmanager'],
  marker: 'prometheus-alertmanager',
  ports: (env) => [env.ALERTMANAGER_PORT],
  async start({ env, paths, dataDir, logFile, pidFile }) {
    const token = env.ALERTMANAGER_WEBHOOK_TOKEN;
    if (!token) {
      throw new Error(
        'ALERTMANAGER_WEBHOOK_TOKEN is not set (`prism stack up` generates it into the secrets file)',
      );
    }
    mkdirSync(join(dataDir, 'data'), { recursive: true });
    // The token in a file of its own (0600), as under Compose (a secret file): never on a command line.
    const tokenFile = join(dataDir, 'webhook-token');
    writeFileSync(tokenFile, token, { mode: 0o600 });
    chmodSync(tokenFile, 0o600);
    const conf = join(dataDir, 'alertmanager.yml');
    writeFileSync(conf, nativeAlertmanagerConfig(env, tokenFile), { mode: 0o600 });
    return spawnDetached({
      command: binaries(paths).alertmanager,
      args: [
        `--config.file=${conf}`,
        `--storage.path=${join(dataDir, 'data')}`,
        `--web.listen-address=${env.PRISM_BIND_ADDRESS}:${env.ALERTMANAGER_PORT}`,
        // One instance: no gossip port (its default, 9094, would be opened on every interface).
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      cwd: dataDir,
      logFile,
      pidFile,
    });
  },
};

// --- Exporters --------------------------------------------------------------------------------------------

/**
 * An exporter logs in as its own role or user, whose password it reads once, at start: one started with
 * other credentials (an earlier version's, or before a rotation) is restarted by `stack up`. What it started
 * with is kept as a hash in its data directory.
 */
function restartOnNewLogin(
  service: Omit<NativeService, 'current' | 'refresh'>,
  login: (env: Env) => string[],
): NativeService {
  const file = (dataDir: string) => join(dataDir, 'login.sha256');
  const fingerprint = (env: Env) => createHash('sha256').update(login(env).join('\0')).digest('hex');
  const current = async ({ env, dataDir }: ServiceContext) =>
    existsSync(file(dataDir)) && readFileSync(file(dataDir), 'utf8') === fingerprint(env);
  return {
    ...service,
    async start(ctx) {
      mkdirSync(ctx.dataDir, { recursive: true });
      writeFileSync(file(ctx.dataDir), fingerprint(ctx.env), { mode: 0o600 });
      return service.start(ctx);
    },
    current,
    async refresh(ctx, pid) {
      if (await current(ctx)) return;
      await stopProcess(pid, 10_000);
      return this.start(ctx);
    },
  };
}

const postgresExporter = restartOnNewLogin(
  {
    name: 'postgres-exporter',
    serves: ['postgres-exporter'],
    marker: 'prometheus-postgres-exporter',
    ports: (env) => [env.POSTGRES_EXPORTER_PORT],
    async start({ env, paths, dataDir, logFile, pidFile }) {
      mkdirSync(dataDir, { recursive: true });
      const monitor = asPostgresRole(env, 'monitor');
      return spawnDetached({
        command: binaries(paths).postgresExporter,
        args: [
          `--web.listen-address=${env.PRISM_BIND_ADDRESS}:${env.POSTGRES_EXPORTER_PORT}`,
          '--log.level=warn',
        ],
        // The connection in its environment, never on the command line. User and password apart from the
        // URI: the exporter escapes them itself, so any password works.
        env: {
          PATH: process.env.PATH,
          DATA_SOURCE_URI: `${serviceHost(env)}:${env.POSTGRES_PORT}/${env.POSTGRES_DB}?sslmode=disable`,
          // prism_monitor (pg_monitor): statistics, never a superuser.
          DATA_SOURCE_USER: monitor.POSTGRES_LOGIN_USER,
          DATA_SOURCE_PASS: monitor.POSTGRES_LOGIN_PASSWORD,
        },
        cwd: dataDir,
        logFile,
        pidFile,
      });
    },
  },
  (env) => [asPostgresRole(env, 'monitor').POSTGRES_LOGIN_PASSWORD],
);

const redisExporter = restartOnNewLogin(
  {
    name: 'redis-exporter',
    serves: ['redis-exporter'],
    marker: 'prometheus-redis-exporter',
    ports: (env) => [env.REDIS_EXPORTER_PORT],
    async start({ env, paths, dataDir, logFile, pidFile }) {
      mkdirSync(dataDir, { recursive: true });
      const exporter = asRedisUser(env, 'exporter');
      return spawnDetached({
        command: binaries(paths).redisExporter,
        args: [`-web.listen-address=${env.PRISM_BIND_ADDRESS}:${env.REDIS_EXPORTER_PORT}`],
        env: {
          PATH: process.env.PATH,
          REDIS_ADDR: `redis://${serviceHost(env)}:${env.REDIS_PORT}`,
          // Its own ACL user (statistics, no key), the password in its environment, never on the command line.
          REDIS_USER: exporter.REDIS_LOGIN_USER,
          REDIS_PASSWORD: exporter.REDIS_LOGIN_PASSWORD,
        },
        cwd: dataDir,
        logFile,
        pidFile,
      });
    },
  },
  (env) => [asRedisUser(env, 'exporter').REDIS_LOGIN_PASSWORD],
);

const nodeExporter: NativeService = {
  name: 'node-exporter',
  serves: ['node-exporter'],
  marker: 'prometheus-node-exporter',
  ports: (env) => [env.NODE_EXPORTER_PORT],
  async start({ env, paths, dataDir, logFile, pidFile }) {
    // Its own textfile directory (Debian's default belongs to Debian's instance).
    const textfiles = join(dataDir, 'textfile');
    mkdirSync(textfiles, { recursive: true });
    return spawnDetached({
      command: binaries(paths).nodeExporter,
      args: [
        `--web.listen-address=${env.PRISM_BIND_ADDRESS}:${env.NODE_EXPORTER_PORT}`,
        `--collector.textfile.directory=${textfiles}`,
        '--log.level=warn',
      ],
      cwd: dataDir,
      logFile,
      pidFile,
    });
  },
};

/** Escapes text for a regular expression (RE2, as process-exporter's Go uses, reads these the same). */
const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * process-exporter's groups: one per process of the stack and of the application, each recognised by what
 * only that process has on its command line (its data directory, its port), so that other instances on the
 * machine (Debian's own PostgreSQL, a second stack) are not counted. The first group that matches wins;
 * children join their parent's group (PostgreSQL's backends join `postgres`).
 */
export function processGroups(env: Env, paths: StackPaths): { name: string; cmdline: string }[] {
  const bins = binaries(paths);
  const data = (service: string) => literally(join(paths.data, service));
  const port = (p: number) => `\\S*:${p}(\\s|$)`;
  const exporter = (binary: string, listen: number) => `^\\S*${literally(binary)}\\s.*${port(listen)}`;
  const app = (args: string) => `\\bprism(\\.js)? ${args}(\\s|$)`;
  return [
    { name: 'postgres', cmdline: `^\\S*/postgres -D ${data('postgres')}(\\s|$)` },
    // redis-server rewrites its command line to "<binary> <address>:<port>".
    { name: 'redis', cmdline: `^\\S*redis-server ${port(env.REDIS_PORT)}` },
    { name: 'kafka', cmdline: `\\skafka\\.Kafka ${data('kafka')}/` },
    { name: 'weaviate', cmdline: `^${literally(bins.weaviate)}\\s.*--port ${env.WEAVIATE_HTTP_PORT}(\\s|$)` },
    { name: 'influxdb', cmdline: `^${literally(bins.influxd)} run` },
    { name: 'prometheus', cmdline: `^\\S*prometheus --config\\.file=${data('prometheus')}/` },
    { name: 'temporal', cmdline: `^\\S*temporal-server-\\S* --config-file ${data('temporal')}/` },
    { name: 'temporal-ui', cmdline: `^\\S*temporal-ui-server-\\S* --root ${data('temporal-ui')}(\\s|$)` },
    { name: 'seaweedfs', cmdline: `^${literally(bins.weed)}\\s.*\\s-s3\\.port=${env.S3_PORT}(\\s|$)` },
    { name: 'jaeger', cmdline: `^${literally(bins.jaeger)} --config ` },
    { name: 'alertmanager', cmdline: exporter('prometheus-alertmanager', env.ALERTMANAGER_PORT) },
    {
      name: 'postgres-exporter',
      cmdline: exporter('prometheus-postgres-exporter', env.POSTGRES_EXPORTER_PORT),
    },
    { name: 'redis-exporter', cmdline: exporter('prometheus-redis-exporter', env.REDIS_EXPORTER_PORT) },
    { name: 'node-exporter', cmdline: exporter('prometheus-node-exporter', env.NODE_EXPORTER_PORT) },
    {
      name: 'process-exporter',
      cmdline: exporter('prometheus-process-exporter', env.PROCESS_EXPORTER_PORT),
    },
    { name: 'prism-worker', cmdline: app('worker') },
    { name: 'prism-maintenance-worker', cmdline: app('maintenance-worker') },
    { name: 'prism-api', cmdline: app('api') },
    ...agentTypes.map((type) => ({
      name: `prism-agent-${type.toLowerCase()}`,
      cmdline: app(`agent run --type ${type}`),
    })),
  ];
}

export function processExporterConfig(env: Env, paths: StackPaths): string {
  return `# Generated by \`prism stack up\` (src/stack/monitoring.ts).\n${toYaml({
    process_names: processGroups(env, paths).map(({ name, cmdline }) => ({ name, cmdline: [cmdline] })),
  })}`;
}

const processExporter: NativeService = {
  name: 'process-exporter',
  serves: ['process-exporter'],
  marker: 'prometheus-process-exporter',
  ports: (env) => [env.PROCESS_EXPORTER_PORT],
  async start({ env, paths, dataDir, logFile, pidFile }) {
    mkdirSync(dataDir, { recursive: true });
    const conf = join(dataDir, 'process-exporter.yml');
    writeFileSync(conf, processExporterConfig(env, paths));
    return spawnDetached({
      command: binaries(paths).processExporter,
      args: [
        `-web.listen-address=${env.PRISM_BIND_ADDRESS}:${env.PROCESS_EXPORTER_PORT}`,
        `-config.path=${conf}`,
        // Per group, not per thread (Kafka and Temporal have hundreds), and no smaps reading: the
        // resident memory and CPU of each group are what is watched, at a fraction of the cost.
        '-threads=false',
        '-gather-smaps=false',
      ],
      cwd: dataDir,
      logFile,
      pidFile,
    });
  },
};

// --- Kafka's JMX exporter ---------------------------------------------------------------------------------

/** `-javaagent:<jar>=<host>:<port>:<rules>`'s argument: the agent serves /metrics from the broker's JVM. */
export function kafkaJmxAgentOptions(env: Env): string {
  return `${env.PRISM_BIND_ADDRESS}:${env.KAFKA_JMX_EXPORTER_PORT}:${kafkaJmxExporterConfigFile}`;
}

export function kafkaJmxAgentFlag(env: Env, paths: StackPaths): string {
  return `-javaagent:${binaries(paths).jmxExporterAgent}=${kafkaJmxAgentOptions(env)}`;
}

/**
 * A broker started before the JMX exporter was part of the stack gets the agent loaded into its running
 * JVM (the JDK's attach mechanism, `jcmd <pid> JVMTI.agent_load`), so that `stack up` adds broker
 * metrics without restarting Kafka; its next start has the agent on its command line.
 *
 * The agent ends the JVM it runs in when it cannot start (a port taken, a bad rules file): everything it
 * needs is checked first, so that loading it can never take the running broker down.
 */
export async function attachKafkaJmxAgent(ctx: ServiceContext, pid: number): Promise<boolean> {
  const { env, paths } = ctx;
  if (commandLine(pid)?.includes('-javaagent:') ?? true) return false;
  const probe = await fetch(`http://${serviceHost(env)}:${env.KAFKA_JMX_EXPORTER_PORT}/metrics`, {
    signal: AbortSignal.timeout(5_000),
  }).catch(() => null);
  if (probe?.ok) return false; // attached by an earlier `up`
  const listener = await portListener(env.KAFKA_JMX_EXPORTER_PORT, env.PRISM_BIND_ADDRESS);
  if (listener) {
    throw new Error(
      `port ${env.KAFKA_JMX_EXPORTER_PORT}, needed by Kafka's JMX exporter, is already in use by ${listener.description}`,
    );
  }
  parseYaml(readFileSync(kafkaJmxExporterConfigFile, 'utf8'));
  if (!existsSync(binaries(paths).jmxExporterAgent)) {
    throw new Error(`${binaries(paths).jmxExporterAgent} is missing`);
  }
  const { stdout } = await run('jcmd', [
    String(pid),
    'JVMTI.agent_load',
    binaries(paths).jmxExporterAgent,
    kafkaJmxAgentOptions(env),
  ]).catch((err: Error & { stdout?: string; stderr?: string }) => {
    throw new Error(
      `could not load the JMX exporter into the running broker (pid ${pid}): ${err.stdout ?? ''}${err.stderr ?? err.message}. ` +
        'Restart Kafka (prism stack down && prism stack up) to start it with the agent.',
    );
  });
  if (!/return code: 0\b/.test(stdout)) {
    throw new Error(`loading the JMX exporter into the running broker (pid ${pid}) said: ${stdout.trim()}`);
  }
  return true;
}

export const monitoringServices: NativeService[] = [
  alertmanager,
  postgresExporter,
  redisExporter,
  nodeExporter,
  processExporter,
];
