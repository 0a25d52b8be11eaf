// docker-compose.cluster.yml cannot be run here (no Docker engine): Docker Compose itself validates it in
// test/integration/compose-cluster-config.test.ts. These check what the Compose specification does not: that
// each node is configured as its native twin of the cluster topology (the settings of src/stack/services/*,
// computed by the native modules themselves), runs the versions of src/stack/versions.ts, and that every
// application container is given every node.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { envSchema, parseConfig } from '../../src/config.ts';
import { componentSecrets, isSecretVariable } from '../../src/identity.ts';
import { stackSchema } from '../../src/stack/config.ts';
import { stackPaths } from '../../src/stack/paths.ts';
import { kafkaReplication, kafkaServerProperties } from '../../src/stack/services/kafka.ts';
import { patroniConfig, patroniScope, replicationRole } from '../../src/stack/services/postgres-cluster.ts';
import {
  replicationConf,
  sentinelConf,
  sentinelDownAfterMs,
  sentinelFailoverTimeoutMs,
  sentinelQuorum,
} from '../../src/stack/services/redis-replication.ts';
import { weaviateClusterEnv, weaviateNodePorts } from '../../src/stack/services/weaviate.ts';
import { temporalServerEnv } from '../../src/stack/temporal.ts';
import type { Machine } from '../../src/stack/topology.ts';
import { patroniRequirements, versions } from '../../src/stack/versions.ts';
import { agentTypes } from '../../src/task/contract.ts';

interface Service {
  image?: string;
  build?: { context: string; target?: string };
  restart?: string;
  command?: string[];
  entrypoint?: string[];
  ports?: string[];
  networks?: string[];
  healthcheck?: { test: string[] };
  environment?: Record<string, string | number>;
  volumes?: string[];
  configs?: { source: string; target: string }[];
  depends_on?: Record<string, { condition: string }>;
  read_only?: boolean;
}
const file = 'docker-compose.cluster.yml';
const text = readFileSync(file, 'utf8');
const cluster = parse(text, { merge: true, maxAliasCount: -1 }) as {
  name: string;
  services: Record<string, Service>;
  networks: Record<string, { name: string }>;
  volumes: Record<string, unknown>;
  configs: Record<string, { content: string }>;
};
const single = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = cluster.services;
const service = (name: string) => {
  const s = services[name];
  if (!s) throw new Error(`${file} has no service ${name}`);
  return s;
};
const env = (name: string) => service(name).environment ?? {};
/** What a container's shell sees of a Compose string: `$$` is a literal `$`. */
const unescaped = (s: string) => s.replaceAll('$$', '$');
const script = (config: string) => unescaped(cluster.configs[config]!.content);

const clustered = ['etcd', 'postgres', 'redis', 'redis-sentinel', 'kafka', 'weaviate', 'temporal'] as const;
const nodesOf = (engine: string) =>
  Object.keys(services)
    .filter((n) => new RegExp(`^${engine}-\\d+$`).test(n))
    .sort();
const machines: Machine[] = [1, 2, 3].map((index) => ({ index, address: `127.0.1.${index}` }));
const defaults = parseConfig({
  POSTGRES_PASSWORD: 'x'.repeat(12),
  REDIS_PASSWORD: 'x'.repeat(12),
  INFLUX_PASSWORD: 'x'.repeat(12),
  KAFKA_ADMIN_PASSWORD: 'k'.repeat(12),
  POSTGRES_TEMPORAL_PASSWORD: 't'.repeat(12),
});
const app = Object.keys(services).filter((n) => n.startsWith('prism-'));
const componentOf = (name: string): keyof typeof componentSecrets =>
  name.startsWith('prism-maintenance-worker')
    ? 'maintenance'
    : name.startsWith('prism-worker')
      ? 'worker'
      : name.startsWith('prism-api')
        ? 'api'
        : 'agent';
const oneShot = [
  'postgres-roles',
  'kafka-jmx-agent',
  'kafka-users',
  'volume-owners',
  'seaweedfs-setup',
  'temporal-schema',
  'temporal-setup',
];

describe('docker-compose.cluster.yml', () => {
  it('has three nodes of each clustered engine, named <engine>-<n>', () => {
    for (const engine of clustered)
      expect(nodesOf(engine), engine).toEqual([1, 2, 3].map((n) => `${engine}-${n}`));
    // The services without clustering: once, as natively (src/stack/cluster.ts).
    for (const name of ['influxdb', 'prometheus', 'seaweedfs', 'temporal-ui'])
      expect(Object.keys(services), name).toContain(name);
  });

  it('is its own project on its own network, every service on it', () => {
    expect(cluster.name).toBe('prism-cluster');
    expect(cluster.networks['prism-cluster-network']!.name).toBe('prism-cluster-network');
    for (const [name, s] of Object.entries(services))
      expect(s.networks, name).toEqual(['prism-cluster-network']);
  });

  it('gives every long-running service a health check and restart: unless-stopped', () => {
    for (const name of Object.keys(services).filter((n) => !oneShot.includes(n))) {
      expect(service(name).healthcheck?.test.length, `${name} healthcheck`).toBeGreaterThan(1);
      expect(service(name).restart, `${name} restart`).toBe('unless-stopped');
    }
    for (const name of oneShot) expect(service(name).restart, name).toBe('no');
  });

  it('runs the versions of src/stack/versions.ts, the same images as docker-compose.yml', () => {
    const same = (name: string, singleName = name.replace(/-\d+$/, '')) =>
      expect(service(name).image, name).toBe(single.services[singleName]!.image);
    for (const n of [1, 2, 3]) {
      same(`redis-${n}`);
      same(`redis-sentinel-${n}`, 'redis');
      same(`kafka-${n}`);
      same(`weaviate-${n}`);
      same(`temporal-${n}`);
    }
    for (const name of ['influxdb', 'prometheus', 'seaweedfs', 'seaweedfs-setup', 'temporal-ui'])
      same(name, name);
    for (const name of ['temporal-schema', 'temporal-setup', 'postgres-roles', 'kafka-users'])
      same(name, name);
    expect(service('kafka-1').image).toBe(`apache/kafka:${versions.kafka}`);
    expect(service('weaviate-1').image).toBe(`cr.weaviate.io/semitechnologies/weaviate:${versions.weaviate}`);
    expect(service('temporal-1').image).toBe(`temporalio/server:${versions.temporalServer}`);
    expect(service('redis-1').image).toMatch(
      new RegExp(`^redis:${versions.redis.replace('.', '\\.')}\\.\\d+$`),
    );
    expect(service('etcd-1').image).toBe(`quay.io/coreos/etcd:v${versions.etcd}`);
    // Patroni: built FROM docker-compose.yml's PostgreSQL image, with the native stack's pinned packages.
    const dockerfile = readFileSync('stack/patroni/Dockerfile', 'utf8');
    expect(/^FROM (\S+)$/m.exec(dockerfile)?.[1]).toBe(single.services.postgres!.image);
    expect(single.services.postgres!.image).toMatch(new RegExp(`^postgres:${versions.postgres}\\.\\d+$`));
    const requirements = readFileSync('stack/patroni/requirements.txt', 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(requirements).toEqual([...patroniRequirements]);
    expect(requirements[0]).toBe(`patroni==${versions.patroni}`);
    for (const n of [1, 2, 3]) {
      expect(service(`postgres-${n}`).build).toEqual({ context: './stack/patroni' });
      expect(service(`postgres-${n}`).image).toBe('prism-patroni:local');
    }
    for (const [name, s] of Object.entries(services))
      expect(s.image, name).not.toMatch(/:latest$|^[^:]+$|:(\d+|alpine)$/);
  });

  it('makes etcd one three-member cluster, each member advertising its own name', () => {
    const initial = env('etcd-1').ETCD_INITIAL_CLUSTER;
    expect(initial).toBe(
      nodesOf('etcd')
        .map((n) => `${n}=http://${n}:2380`)
        .join(','),
    );
    for (const name of nodesOf('etcd')) {
      expect(env(name)).toMatchObject({
        ETCD_NAME: name,
        ETCD_ADVERTISE_CLIENT_URLS: `http://${name}:2379`,
        ETCD_INITIAL_ADVERTISE_PEER_URLS: `http://${name}:2380`,
        ETCD_INITIAL_CLUSTER: initial,
        ETCD_INITIAL_CLUSTER_STATE: 'new',
        ETCD_INITIAL_CLUSTER_TOKEN: 'prism-stack-etcd',
        ETCD_QUOTA_BACKEND_BYTES: 256 * 1024 * 1024,
      });
    }
  });

  it("runs Patroni with the native cluster's bootstrap settings, etcd's every member and each node's own name", () => {
    const config = parse(readFileSync('stack/patroni/patroni.yml', 'utf8')) as Record<string, unknown>;
    const native = patroniConfig(defaults, stackPaths(defaults), {
      name: 'postgres-1',
      dataDir: '/unused',
      machine: machines[0]!,
      machines,
      tls: '/unused',
    });
    // The cluster-wide settings written to etcd at bootstrap (ttl, synchronous mode, the parameters...).
    expect(config.bootstrap).toEqual(native.bootstrap);
    expect(config.scope).toBe(patroniScope);
    expect(config.namespace).toBe(native.namespace);
    expect(config.watchdog).toEqual(native.watchdog);
    expect(config.etcd3).toEqual({
      hosts: nodesOf('etcd')
        .map((n) => `${n}:2379`)
        .join(','),
      protocol: 'http',
    });
    const postgresql = config.postgresql as { pg_hba: string[]; parameters: Record<string, string> };
    expect(postgresql.pg_hba).toContain(`host replication ${replicationRole} samenet scram-sha-256`);
    expect(postgresql.parameters.password_encryption).toBe('scram-sha-256');
    for (const name of nodesOf('postgres')) {
      expect(env(name)).toEqual({
        PATRONI_NAME: name,
        PATRONI_RESTAPI_CONNECT_ADDRESS: `${name}:8008`,
        PATRONI_POSTGRESQL_CONNECT_ADDRESS: `${name}:5432`,
        PATRONI_SUPERUSER_USERNAME: '${POSTGRES_USER:-prism_user}',
        PATRONI_SUPERUSER_PASSWORD: expect.stringMatching(/^\$\{POSTGRES_PASSWORD:\?/),
        PATRONI_REPLICATION_USERNAME: replicationRole,
      });
      expect(service(name).depends_on).toEqual(
        Object.fromEntries(nodesOf('etcd').map((n) => [n, { condition: 'service_healthy' }])),
      );
    }
    // The replication role's password: derived from the superuser's as natively, never a variable of its own.
    const entrypoint = readFileSync('stack/patroni/entrypoint.sh', 'utf8');
    expect(entrypoint).toContain('hmac.new(key, b"prism patroni replication", hashlib.sha256)');
    expect(entrypoint).toContain('urlsafe_b64encode(digest).rstrip(b"=")');
  });

  it('finds the PostgreSQL primary among every node for the roles and the Temporal schema', () => {
    const hosts = nodesOf('postgres').join(',');
    expect(env('postgres-roles')).toMatchObject({ PGHOST: hosts, PGTARGETSESSIONATTRS: 'read-write' });
    expect(env('temporal-schema').SQL_HOST).toBe(hosts);
    expect(service('temporal-schema').command!.join(' ')).toContain(
      'temporal-sql-tool --plugin postgres12_pgx --connect-attributes target_session_attrs=read-write',
    );
  });

  it("writes each sentinel's configuration as the native stack does: quorum 2 of 3, down-after 5 s", () => {
    const sentinels = nodesOf('redis-sentinel');
    const native = sentinelConf({
      address: '$self',
      port: 26379,
      dir: '/data',
      master: '$REDIS_SENTINEL_MASTER',
      primary: { host: '$1', port: 6379 },
      quorum: sentinelQuorum(sentinels.length),
      downAfterMs: sentinelDownAfterMs,
      failoverTimeoutMs: sentinelFailoverTimeoutMs,
      password: '$REDIS_SENTINEL_PASSWORD',
      nodeUser: 'admin',
      nodePassword: '$REDIS_PASSWORD',
    });
    expect(sentinelQuorum(3)).toBe(2);
    const conf = script('redis-sentinel');
    // Every line but `bind` (a container listens on its own address only).
    for (const line of native.split('\n').filter((l) => l && !l.startsWith('bind ')))
      expect(conf.split('\n'), line).toContain(line);
    expect(conf).toContain('sentinel resolve-hostnames yes');
    expect(conf).toContain('render redis-1 ""');
    for (const name of sentinels) {
      expect(service(name).command).toEqual(['sh', '/prism-cluster/redis-sentinel.sh', name]);
      expect(service(name).configs).toEqual([
        { source: 'redis-sentinel', target: '/prism-cluster/redis-sentinel.sh' },
      ]);
    }
  });

  it('writes each Redis node as the single node plus the native replication settings, asking every sentinel', () => {
    const node = script('redis-node');
    for (const line of replicationConf({ address: '$self', user: 'admin', password: '$REDIS_PASSWORD' }))
      expect(node.split('\n'), line).toContain(line);
    expect(node).toContain(`for sentinel in ${nodesOf('redis-sentinel').join(' ')}; do`);
    // The single node's users (stack/redis/users.acl) and persistence.
    expect(node).toContain('sh /prism-redis/render-acl.sh /prism-redis/users.acl /data/users.acl');
    for (const line of ['appendonly yes', 'appendfsync everysec', 'maxmemory-policy volatile-lru'])
      expect(node.split('\n')).toContain(line);
    for (const name of nodesOf('redis')) {
      expect(service(name).command).toEqual(['sh', '/prism-cluster/redis-node.sh', name]);
      expect(service(name).volumes).toEqual([`${name}-data:/data`, './stack/redis:/prism-redis:ro']);
    }
  });

  it('makes Kafka one KRaft cluster of three voters, with the native cluster broker settings', () => {
    // The apache/kafka image's rule: KAFKA_ + the property, '.' as '_', '_' as '__', '-' as '___'.
    const properties = (vars: Record<string, string | number>) =>
      new Map(
        Object.entries(vars)
          .filter(([name]) => name.startsWith('KAFKA_') && name !== 'KAFKA_HEAP_OPTS')
          .map(([name, value]) => [
            name
              .slice('KAFKA_'.length)
              .split('___')
              .map((part) =>
                part
                  .split('__')
                  .map((p) => p.toLowerCase().replaceAll('_', '.'))
                  .join('_'),
              )
              .join('-'),
            String(value),
          ]),
      );
    const nodes = nodesOf('kafka');
    const voters = nodes.map((n, i) => `${i + 1}@${n}:9093`).join(',');
    nodes.forEach((name, i) => {
      const machine = machines[i]!;
      const native = new Map(
        kafkaServerProperties({ ...defaults, PRISM_BIND_ADDRESS: machine.address }, '/unused', {
          machine,
          machines,
        })
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
      );
      const composed = properties(env(name));
      for (const property of [
        'process.roles',
        'node.id',
        'num.partitions',
        'default.replication.factor',
        'offsets.topic.replication.factor',
        'transaction.state.log.replication.factor',
        'transaction.state.log.min.isr',
        'min.insync.replicas',
        'unclean.leader.election.enable',
        'broker.session.timeout.ms',
        'broker.heartbeat.interval.ms',
        'auto.create.topics.enable',
        'group.initial.rebalance.delay.ms',
        'log.retention.hours',
        'num.network.threads',
        'num.io.threads',
        'background.threads',
        'controller.listener.names',
        'sasl.enabled.mechanisms',
        'authorizer.class.name',
        'super.users',
        'allow.everyone.if.no.acl.found',
      ])
        expect(composed.get(property), `${name} ${property}`).toBe(native.get(property));
      expect(composed.get('controller.quorum.voters')).toBe(voters);
      expect(composed.get('advertised.listeners')).toBe(`INTERNAL://${name}:29092`);
      expect(env(name).CLUSTER_ID).toBe(env('kafka-1').CLUSTER_ID);
      expect(env(name).KAFKA_HEAP_OPTS).toBe('-Xms${KAFKA_HEAP:-512m} -Xmx${KAFKA_HEAP:-512m}');
      // The native broker's collector, for the broker's JVM only.
      expect(service(name).command!.join(' ')).toContain(
        'KAFKA_JVM_PERFORMANCE_OPTS="-server -XX:+UseSerialGC',
      );
    });
    expect(kafkaReplication(nodes.length)).toEqual({ factor: 3, minInsync: 2 });
    expect(service('kafka-users').command).toEqual([
      'sh',
      '/prism-kafka/users.sh',
      nodes.map((n) => `${n}:29092`).join(','),
    ]);
  });

  it("joins Weaviate's nodes as the native cluster does: every node a Raft voter, gossip with all", () => {
    const nodes = nodesOf('weaviate');
    const ports = weaviateNodePorts(defaults);
    nodes.forEach((name, i) => {
      const native = weaviateClusterEnv(
        { ...defaults, PRISM_BIND_ADDRESS: 'localhost' },
        {
          machine: machines[i]!,
          machines,
        },
      );
      const composed = env(name);
      // The same variables (CLUSTER_BIND_ADDR is an address of the box; a container listens on its own).
      expect(Object.keys(composed)).toEqual(expect.arrayContaining(Object.keys(native)));
      expect(String(composed.CLUSTER_HOSTNAME)).toBe(native.CLUSTER_HOSTNAME);
      expect(String(composed.RAFT_BOOTSTRAP_EXPECT)).toBe(native.RAFT_BOOTSTRAP_EXPECT);
      expect(String(composed.CLUSTER_IN_LOCALHOST)).toBe(native.CLUSTER_IN_LOCALHOST);
      expect(composed.COLLECTION_RETRIEVAL_STRATEGY).toBe(native.COLLECTION_RETRIEVAL_STRATEGY);
      // Each container has the single node's ports (natively the nodes share one box and move theirs).
      expect(composed).toMatchObject({
        CLUSTER_GOSSIP_BIND_PORT: ports.gossip,
        CLUSTER_DATA_BIND_PORT: ports.data,
        RAFT_PORT: ports.raft,
        RAFT_INTERNAL_RPC_PORT: ports.raftRpc,
        GRPC_PORT: 50051,
        CLUSTER_JOIN: nodes.map((n) => `${n}:${ports.gossip}`).join(','),
        RAFT_JOIN: nodes.map((n) => `${n}:${ports.raft}`).join(','),
        GOMEMLIMIT: '512MiB',
        GOMAXPROCS: 1,
      });
      expect(String(composed.RAFT_JOIN)).toBe(native.RAFT_JOIN);
      // One backup volume for all of them and the maintenance workers.
      expect(service(name).volumes).toEqual([
        `${name}-data:/var/lib/weaviate`,
        'weaviate-backups:/var/lib/weaviate-backups',
      ]);
    });
  });

  it('runs each Temporal server on every PostgreSQL node, broadcasting its own address', () => {
    const native = temporalServerEnv(defaults);
    for (const name of nodesOf('temporal')) {
      const s = service(name);
      expect(Object.keys(s.environment!).filter((v) => !(v in native))).toEqual([]);
      expect(s.environment).toMatchObject({
        POSTGRES_SEEDS: nodesOf('postgres').join(','),
        DB_PORT: 5432,
        POSTGRES_USER: native.POSTGRES_USER,
        BIND_ON_IP: '0.0.0.0',
      });
      expect(unescaped(s.command!.join(' '))).toMatch(
        /^set -- \$\(hostname -i\); export TEMPORAL_BROADCAST_ADDRESS="\$1"; exec temporal-server --config-file \/etc\/temporal\/config\/prism\.yaml --allow-no-auth start$/,
      );
      expect(s.volumes).toEqual(single.services.temporal!.volumes);
      expect(s.depends_on).toEqual({ 'temporal-schema': { condition: 'service_completed_successfully' } });
    }
  });

  it('gives every application container every node of every cluster', () => {
    const list = (value: string | number | undefined) => String(value).split(',').sort();
    const every = {
      POSTGRES_HOST: nodesOf('postgres'),
      REDIS_SENTINELS: nodesOf('redis-sentinel').map((n) => `${n}:26379`),
      KAFKA_BROKERS: nodesOf('kafka').map((n) => `${n}:29092`),
      WEAVIATE_HOST: nodesOf('weaviate'),
      TEMPORAL_ADDRESS: nodesOf('temporal').map((n) => `${n}:7233`),
    };
    expect(app.length).toBeGreaterThanOrEqual(14);
    for (const name of app) {
      const e = env(name);
      for (const [variable, nodes] of Object.entries(every))
        expect(list(e[variable]), `${name} ${variable}`).toEqual(nodes);
      expect(e, name).toMatchObject({
        PRISM_TOPOLOGY: 'cluster',
        KAFKA_REPLICATION_FACTOR: kafkaReplication(3).factor,
        KAFKA_MIN_INSYNC_REPLICAS: kafkaReplication(3).minInsync,
        WEAVIATE_REPLICATION_FACTOR: 3,
        POSTGRES_PORT: 5432,
      });
      // Machine n's processes prefer its frontend, as `prism up` gives them.
      const machine = /-(\d+)$/.exec(name)![1];
      expect(String(e.TEMPORAL_ADDRESS).split(',')[0], name).toBe(`temporal-${machine}:7233`);
    }
  });

  it('runs two or more of each application process, each agent with an id of its own', () => {
    const count = (prefix: string) => app.filter((n) => new RegExp(`^${prefix}-\\d+$`).test(n)).length;
    for (const prefix of ['prism-worker', 'prism-maintenance-worker', 'prism-api'])
      expect(count(prefix), prefix).toBeGreaterThanOrEqual(2);
    const ids: string[] = [];
    agentTypes.forEach((type, i) => {
      const agents = app.filter((n) => n.startsWith(`prism-agent-${type.toLowerCase()}-`));
      expect(agents.length, type).toBeGreaterThanOrEqual(2);
      for (const name of agents) {
        const command = service(name).command!;
        expect(command.slice(0, 4)).toEqual(['agent', 'run', '--type', type]);
        expect(command.at(-1)).toBe(String(defaults.AGENT_METRICS_PORT + i));
        ids.push(command[command.indexOf('--id') + 1]!);
      }
    });
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("gives each application container its component's secrets and no other, from variables", () => {
    for (const name of app) {
      const vars = service(name).environment!;
      expect(Object.keys(vars).filter(isSecretVariable).sort(), name).toEqual(
        [...componentSecrets[componentOf(name)]].filter((v) => v !== 'WEAVIATE_API_KEY').sort(),
      );
      for (const v of ['POSTGRES_PASSWORD', 'REDIS_PASSWORD', 'KAFKA_ADMIN_PASSWORD'])
        expect(Object.keys(vars)).not.toContain(v);
    }
  });

  it('hard-codes no secret: every password and token comes from a variable', () => {
    // (etcd's ETCD_INITIAL_CLUSTER_TOKEN names the cluster, so that members of another cannot join: no secret.)
    for (const [name, s] of Object.entries(services))
      for (const [key, value] of Object.entries(s.environment ?? {}))
        if (
          /PASSWORD|PWD|TOKEN|SECRET|ACCESS_KEY|AUTH$|_PASS$/.test(key) &&
          !/ENABLED$|USERNAME$|CLUSTER_TOKEN$/.test(key)
        )
          expect(String(value), `${name}.${key}`).toMatch(/^\$\{[A-Z][A-Z0-9_]*(:?[-?][^}]*)?\}$/);
    // The scripts read the passwords from the container's environment when it starts ($$: not Compose's).
    for (const config of ['redis-node', 'redis-sentinel'])
      expect(cluster.configs[config]!.content).not.toMatch(/(^|[^$])\$\{?[A-Z]/);
  });

  it('publishes only what a user opens, on PRISM_BIND_ADDRESS (127.0.0.1 by default)', () => {
    const published = Object.entries(services)
      .filter(([, s]) => s.ports)
      .map(([name, s]) => [name, s.ports]);
    expect(Object.fromEntries(published)).toEqual({
      'prism-api-1': ['${PRISM_BIND_ADDRESS:-127.0.0.1}:${API_PORT:-3000}:3000'],
      'temporal-ui': ['${PRISM_BIND_ADDRESS:-127.0.0.1}:${TEMPORAL_UI_PORT:-8233}:8080'],
      prometheus: ['${PRISM_BIND_ADDRESS:-127.0.0.1}:${PROMETHEUS_PORT:-19090}:9090'],
      jaeger: ['${PRISM_BIND_ADDRESS:-127.0.0.1}:${JAEGER_PORT:-16686}:16686'],
    });
  });

  it('keeps each node its own data volume', () => {
    for (const engine of ['etcd', 'postgres', 'redis', 'redis-sentinel', 'kafka', 'weaviate'])
      for (const name of nodesOf(engine)) {
        const data = (service(name).volumes ?? []).filter((v) => v.startsWith(`${name}-data:`));
        expect(data.length, name).toBe(1);
        expect(Object.keys(cluster.volumes)).toContain(`${name}-data`);
      }
  });

  it('scrapes every node of every cluster, with the rules docker-compose.yml mounts', () => {
    const prometheus = parse(cluster.configs.prometheus!.content) as {
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = (job: string) =>
      prometheus.scrape_configs.find((c) => c.job_name === job)!.static_configs.flatMap((s) => s.targets);
    expect(targets('temporal')).toEqual(nodesOf('temporal').map((n) => `${n}:9090`));
    expect(targets('weaviate')).toEqual(nodesOf('weaviate').map((n) => `${n}:2112`));
    expect(targets('kafka')).toEqual(nodesOf('kafka').map((n) => `${n}:9308`));
    expect(targets('patroni')).toEqual(nodesOf('postgres').map((n) => `${n}:8008`));
    expect(targets('prism-api')).toEqual(
      app.filter((n) => n.startsWith('prism-api-')).map((n) => `${n}:3000`),
    );
    expect(targets('prism-agents').length).toBe(app.filter((n) => n.startsWith('prism-agent-')).length);
    expect(prometheus.rule_files).toEqual(['/etc/prometheus/rules/*.yml']);
    expect(service('prometheus').volumes).toContain('./stack/prometheus/rules:/etc/prometheus/rules:ro');
  });

  it('uses only variables the application documents', () => {
    // `$$NAME` is the container's variable, not Compose's.
    const used = new Set([...text.replaceAll('$$', '').matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!));
    const known = new Set([...Object.keys(envSchema.shape), ...Object.keys(stackSchema.shape)]);
    expect([...used].filter((v) => !known.has(v))).toEqual([]);
  });
});
