// docker-compose.yml cannot be run here (no Docker engine): Docker Compose itself validates it in
// test/integration/compose-config.test.ts; these check what the Compose specification does not: that it
// matches the native stack (ports, versions, variables, Prometheus jobs) and the product's rules.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { envSchema, parseConfig } from '../../src/config.ts';
import { stackSchema } from '../../src/stack/config.ts';
import { nativeAlertmanagerConfig, nativeScrapeJobs } from '../../src/stack/monitoring.ts';
import { seaweedfsArgs } from '../../src/stack/seaweedfs.ts';
import { jaegerMaxTraces } from '../../src/stack/services/jaeger.ts';
import { temporalServerEnv } from '../../src/stack/temporal.ts';
import { pinnedJars, versions } from '../../src/stack/versions.ts';
import { agentTypes } from '../../src/task/contract.ts';

interface Service {
  image?: string;
  build?: unknown;
  restart?: string;
  command?: string[];
  ports?: string[];
  networks?: string[];
  healthcheck?: { test: string[] };
  environment?: Record<string, string | number>;
  volumes?: string[];
  profiles?: string[];
  secrets?: string[];
  depends_on?: Record<string, { condition: string }>;
  read_only?: boolean;
  tmpfs?: string[];
  user?: string;
}
const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  networks: Record<string, { name: string }>;
  volumes: Record<string, unknown>;
  secrets: Record<string, { environment?: string; file?: string }>;
};
const services = compose.services;
const oneShot = [
  'temporal-schema',
  'temporal-setup',
  'kafka-jmx-agent',
  'seaweedfs-setup',
  'volume-owners',
  'postgres-roles',
  'kafka-users',
];
const longRunning = Object.keys(services).filter((n) => !oneShot.includes(n));
const defaults = parseConfig({
  POSTGRES_PASSWORD: 'x'.repeat(8),
  REDIS_PASSWORD: 'x'.repeat(8),
  INFLUX_PASSWORD: 'x'.repeat(8),
});
const agentServices = agentTypes.map((type) => `prism-agent-${type.toLowerCase()}`);

interface PrometheusConfig {
  rule_files: string[];
  alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
  scrape_configs: {
    job_name: string;
    static_configs: { targets: string[]; labels?: Record<string, string> }[];
  }[];
}
const composePrometheus = parse(readFileSync('stack/prometheus/prometheus.yml', 'utf8')) as PrometheusConfig;

describe('docker-compose.yml', () => {
  it('has every service of the product', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining([
        'postgres',
        'redis',
        'kafka',
        'weaviate',
        'influxdb',
        'prometheus',
        'grafana',
        'temporal',
        'temporal-ui',
        'prism-worker',
        'prism-maintenance-worker',
        'prism-api',
        ...agentServices,
        'alertmanager',
        'postgres-exporter',
        'redis-exporter',
        'node-exporter',
        'cadvisor',
        'seaweedfs',
      ]),
    );
  });

  it('puts every service on prism-network', () => {
    expect(compose.networks['prism-network']!.name).toBe('prism-network');
    for (const [name, s] of Object.entries(services)) expect(s.networks, name).toEqual(['prism-network']);
  });

  it('gives every long-running service a health check and restart: unless-stopped', () => {
    for (const name of longRunning) {
      expect(services[name]!.healthcheck?.test.length, `${name} healthcheck`).toBeGreaterThan(1);
      expect(services[name]!.restart, `${name} restart`).toBe('unless-stopped');
    }
  });

  it('binds host ports to PRISM_BIND_ADDRESS (127.0.0.1 by default) on the same ports as the native stack', () => {
    const expected: Record<string, number[]> = {
      postgres: [defaults.POSTGRES_PORT],
      redis: [defaults.REDIS_PORT],
      kafka: [defaults.KAFKA_PORT],
      weaviate: [defaults.WEAVIATE_HTTP_PORT, defaults.WEAVIATE_GRPC_PORT],
      influxdb: [defaults.INFLUX_PORT],
      prometheus: [defaults.PROMETHEUS_PORT],
      grafana: [defaults.GRAFANA_PORT],
      temporal: [defaults.TEMPORAL_PORT],
      'temporal-ui': [defaults.TEMPORAL_UI_PORT],
      'prism-api': [defaults.API_PORT],
      alertmanager: [defaults.ALERTMANAGER_PORT],
      'postgres-exporter': [defaults.POSTGRES_EXPORTER_PORT],
      'redis-exporter': [defaults.REDIS_EXPORTER_PORT],
      'node-exporter': [defaults.NODE_EXPORTER_PORT],
      cadvisor: [defaults.CADVISOR_PORT],
      seaweedfs: [defaults.S3_PORT],
      jaeger: [defaults.JAEGER_PORT, defaults.JAEGER_OTLP_PORT],
    };
    // The broker and its JMX exporter (an agent in its JVM): 19092 and 19308.
    expected.kafka = [defaults.KAFKA_PORT, defaults.KAFKA_JMX_EXPORTER_PORT];
    expect(expected.kafka).toEqual([19092, 19308]);
    for (const [name, ports] of Object.entries(expected)) {
      const published = (services[name]!.ports ?? []).map((p) => {
        const m = /^\$\{PRISM_BIND_ADDRESS:-127\.0\.0\.1\}:\$\{[A-Z][A-Z0-9_]*:-(\d+)\}:\d+$/.exec(p);
        expect(m, `${name} port ${p}`).not.toBeNull();
        return Number(m![1]);
      });
      expect(published, name).toEqual(ports);
    }
    for (const name of [
      'temporal-schema',
      'temporal-setup',
      'kafka-jmx-agent',
      'seaweedfs-setup',
      'volume-owners',
      'prism-worker',
      'prism-maintenance-worker',
      ...agentServices,
    ])
      expect(services[name]!.ports).toBeUndefined();
  });

  it('gives the Temporal server the static and dynamic configuration the native server reads', () => {
    const temporal = services.temporal!;
    // The same files, the one the command names among them.
    expect(temporal.volumes).toContain('./stack/temporal/config.yaml:/etc/temporal/config/prism.yaml:ro');
    expect(temporal.command).toEqual([
      '--config-file',
      '/etc/temporal/config/prism.yaml',
      '--allow-no-auth',
      'start',
    ]);
    const path = String(temporal.environment!.DYNAMIC_CONFIG_FILE_PATH);
    expect(temporal.volumes).toContain(`./stack/temporal/dynamicconfig.yaml:${path}:ro`);
    // The template's variables: Compose sets a subset of what the native stack sets, by the same names, and
    // both set every one the template reads without a default.
    const native = temporalServerEnv({ ...defaults, POSTGRES_TEMPORAL_PASSWORD: 'x'.repeat(12) });
    const composed = Object.keys(temporal.environment!);
    expect(composed.filter((name) => !(name in native))).toEqual([]);
    const template = readFileSync('stack/temporal/config.yaml', 'utf8');
    const read = [...template.matchAll(/env "([A-Z_]+)"/g)].map((m) => m[1]!);
    const withoutDefault = [...template.matchAll(/\{\{ env "([A-Z_]+)" \}\}/g)].map((m) => m[1]!);
    // GOGC is the Go runtime's, not the template's: the same default both ways.
    const runtime = ['GOGC'];
    expect(Object.keys(native).filter((name) => !read.includes(name) && !runtime.includes(name))).toEqual([]);
    expect(temporal.environment!.GOGC).toBe(`\${TEMPORAL_GOGC:-${native.GOGC}}`);
    for (const name of withoutDefault) {
      expect(composed, name).toContain(name);
      expect(Object.keys(native), name).toContain(name);
    }
    expect(temporal.environment!.POSTGRES_USER).toBe(native.POSTGRES_USER);
  });

  it('pins images to the versions the native stack runs', () => {
    const image = (name: string) => services[name]!.image!;
    expect(image('postgres')).toMatch(new RegExp(`^postgres:${versions.postgres}\\.\\d+$`));
    expect(image('redis')).toMatch(new RegExp(`^redis:${versions.redis.replace('.', '\\.')}\\.\\d+$`));
    expect(image('kafka')).toBe(`apache/kafka:${versions.kafka}`);
    expect(image('weaviate')).toBe(`cr.weaviate.io/semitechnologies/weaviate:${versions.weaviate}`);
    expect(image('prometheus')).toBe(`prom/prometheus:v${versions.prometheus}`);
    expect(image('temporal')).toBe(`temporalio/server:${versions.temporalServer}`);
    expect(image('temporal-schema')).toBe(`temporalio/admin-tools:${versions.temporalServer}`);
    expect(image('temporal-setup')).toBe(`temporalio/admin-tools:${versions.temporalServer}`);
    expect(readFileSync('docker-compose.yml', 'utf8')).not.toContain('temporalio/auto-setup');
    expect(image('temporal-ui')).toBe(`temporalio/ui:${versions.temporalUi}`);
    expect(image('influxdb')).toBe(`influxdb:${versions.influxdb}`);
    expect(image('alertmanager')).toBe(`prom/alertmanager:v${versions.alertmanager}`);
    expect(image('postgres-exporter')).toBe(
      `quay.io/prometheuscommunity/postgres-exporter:v${versions.postgresExporter}`,
    );
    // The Alpine variant of the release: the default one has no shell for a health check.
    expect(image('redis-exporter')).toBe(`oliver006/redis_exporter:v${versions.redisExporter}-alpine`);
    expect(image('node-exporter')).toBe(`prom/node-exporter:v${versions.nodeExporter}`);
    expect(image('cadvisor')).toBe(`ghcr.io/google/cadvisor:v${versions.cadvisor}`);
    expect(image('seaweedfs')).toBe(`chrislusf/seaweedfs:${versions.seaweedfs}`);
    expect(image('seaweedfs-setup')).toBe(image('seaweedfs'));
    expect(image('jaeger')).toBe(`jaegertracing/jaeger:${versions.jaeger}`);
    for (const name of Object.keys(services)) {
      expect(image(name), name).not.toMatch(/:latest$|^[^:]+$|:(\d+|alpine)$/);
    }
  });

  it('runs the JMX exporter agent of the native stack inside the broker, with the same rules', () => {
    const jar = pinnedJars.jmxExporter;
    const fetch = services['kafka-jmx-agent']!.command!.join('\n');
    const path = jar.groupId.replaceAll('.', '/');
    expect(fetch).toContain(
      `https://repo1.maven.org/maven2/${path}/${jar.artifactId}/${jar.version}/${jar.artifactId}-${jar.version}.jar`,
    );
    expect(fetch).toContain(`sum=${jar.sha256}`);
    const kafka = services.kafka!;
    expect(kafka.depends_on?.['kafka-jmx-agent']).toEqual({ condition: 'service_completed_successfully' });
    expect(kafka.volumes).toEqual(
      expect.arrayContaining([
        'kafka-jmx-agent:/opt/jmx-exporter:ro',
        './stack/kafka/jmx-exporter.yml:/etc/kafka/jmx-exporter.yml:ro',
      ]),
    );
    expect(kafka.command!.join(' ')).toContain(
      'export KAFKA_OPTS="-javaagent:/opt/jmx-exporter/jmx_prometheus_javaagent.jar=9308:/etc/kafka/jmx-exporter.yml"; exec /etc/kafka/docker/run',
    );
    // Not in the container's environment: `docker compose exec kafka <tool>` would load the agent too.
    expect(Object.keys(kafka.environment!)).not.toContain('KAFKA_OPTS');
  });

  it('runs SeaweedFS as the native stack does, its credentials from the generated secrets', () => {
    const seaweedfs = services.seaweedfs!;
    // The same options, less where each stack puts its data, sockets and ports (and the image's own
    // -logtostderr): a container has a /tmp of its own for the sockets.
    const own =
      /^-(logtostderr|ip|ip\.bind|dir|master\.dir|metricsPort|[a-z0-9]+\.(port(\.grpc)?|localSocket))=/;
    const options = (args: string[]) => args.filter((a) => !own.test(a)).sort();
    expect(options(seaweedfs.command!)).toEqual(options(seaweedfsArgs(defaults, '/data')));
    expect(seaweedfs.command).toEqual(
      expect.arrayContaining(['server', '-s3.port=8333', '-metricsPort=9324']),
    );
    expect(composePrometheus.scrape_configs.find((c) => c.job_name === 'seaweedfs')).toEqual({
      job_name: 'seaweedfs',
      static_configs: [{ targets: ['seaweedfs:9324'] }],
    });
    expect(seaweedfs.environment).toEqual({
      AWS_ACCESS_KEY_ID: expect.stringMatching(/^\$\{S3_ACCESS_KEY:\?/),
      AWS_SECRET_ACCESS_KEY: expect.stringMatching(/^\$\{S3_SECRET_KEY:\?/),
      GOMEMLIMIT: '512MiB',
    });
    const setup = services['seaweedfs-setup']!;
    expect(setup.depends_on).toEqual({ seaweedfs: { condition: 'service_healthy' } });
    expect(setup.environment!.BUCKET).toBe('${PRISM_BACKUP_S3_BUCKET:-prism-backups}');
  });

  it('runs Jaeger with the configuration of the native stack, its traces bounded as natively', () => {
    const jaeger = services.jaeger!;
    expect(jaeger.volumes).toEqual(['./stack/jaeger/config.yaml:/etc/jaeger/config.yaml:ro']);
    expect(jaeger.command).toEqual(['--config', '/etc/jaeger/config.yaml']);
    expect(Number(jaeger.environment!.JAEGER_MAX_TRACES)).toBe(jaegerMaxTraces);
    // Every address the shared configuration reads is set, and nothing else of its kind.
    const read = [...readFileSync('stack/jaeger/config.yaml', 'utf8').matchAll(/\$\{env:([A-Z_]+)\}/g)].map(
      (m) => m[1]!,
    );
    expect(
      Object.keys(jaeger.environment!)
        .filter((k) => k.startsWith('JAEGER_'))
        .sort(),
    ).toEqual([...new Set(read)].sort());
    // The application's containers send their spans to it.
    expect(services['prism-worker']!.environment!.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://jaeger:4318');
  });

  it('runs the four reference agents in the app profile, each on its /metrics port', () => {
    agentTypes.forEach((type, i) => {
      const agent = services[`prism-agent-${type.toLowerCase()}`]!;
      expect(agent.profiles).toEqual(['app']);
      expect(agent.command).toEqual([
        'agent',
        'run',
        '--type',
        type,
        '--id',
        `${type.toLowerCase()}-agent-1`,
        '--metrics-port',
        String(defaults.AGENT_METRICS_PORT + i),
      ]);
      expect(agent.healthcheck!.test.join(' ')).toContain(
        `127.0.0.1:${defaults.AGENT_METRICS_PORT + i}/metrics`,
      );
    });
  });

  it('hard-codes no secret: every password and token comes from a variable', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (/PASSWORD|PWD|TOKEN|SECRET|AUTH$|_PASS$/.test(key) && !/ENABLED$/.test(key)) {
          expect(String(value), `${name}.${key}`).toMatch(/^\$\{[A-Z][A-Z0-9_]*(:?[-?][^}]*)?\}$/);
        }
      }
    }
    // No default password anywhere: Compose refuses to start without the generated one.
    expect(services.grafana!.environment!.GF_SECURITY_ADMIN_PASSWORD).toMatch(
      /^\$\{GRAFANA_ADMIN_PASSWORD:\?/,
    );
    // Alertmanager's webhook token: a secret file made from the variable, never in its environment.
    expect(compose.secrets.alertmanager_webhook_token).toEqual({ environment: 'ALERTMANAGER_WEBHOOK_TOKEN' });
    expect(services.alertmanager!.secrets).toEqual(['alertmanager_webhook_token']);
    expect(services.alertmanager!.environment).toBeUndefined();
    expect(services['prism-api']!.environment!.ALERTMANAGER_WEBHOOK_TOKEN).toMatch(
      /^\$\{ALERTMANAGER_WEBHOOK_TOKEN:\?/,
    );
  });

  it('keeps data in named volumes', () => {
    for (const name of [
      'postgres',
      'redis',
      'kafka',
      'weaviate',
      'influxdb',
      'prometheus',
      'grafana',
      'alertmanager',
      'seaweedfs',
    ]) {
      const named = (services[name]!.volumes ?? []).filter((v) => !v.startsWith('.'));
      expect(named.length, name).toBeGreaterThan(0);
      for (const v of named) expect(Object.keys(compose.volumes)).toContain(v.split(':')[0]);
    }
  });

  it('uses only variables the application documents', () => {
    const text = readFileSync('docker-compose.yml', 'utf8');
    const used = new Set([...text.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!));
    const known = new Set([...Object.keys(envSchema.shape), ...Object.keys(stackSchema.shape)]);
    expect([...used].filter((v) => !known.has(v))).toEqual([]);
  });

  it('keeps the Prometheus jobs of both stacks the same (process-exporter natively, cAdvisor under Compose)', async () => {
    const { nativePrometheusConfig } = await import('../../src/stack/services.ts');
    const native = parse(nativePrometheusConfig(defaults)) as PrometheusConfig;
    const jobs = (config: PrometheusConfig, only: string) =>
      config.scrape_configs.map((c) => (c.job_name === only ? 'per-process' : c.job_name));
    const expected = [
      'prometheus',
      'temporal',
      'weaviate',
      'influxdb',
      'seaweedfs',
      'prism-api',
      'prism-worker',
      'prism-maintenance-worker',
      'prism-agents',
      'postgres',
      'redis',
      'kafka',
      'node',
      'per-process',
      'alertmanager',
    ];
    expect(jobs(native, 'process')).toEqual(expected);
    expect(jobs(composePrometheus, 'cadvisor')).toEqual(expected);
    // The same agent targets, labelled with their type.
    const agents = (config: PrometheusConfig) =>
      config.scrape_configs
        .find((c) => c.job_name === 'prism-agents')!
        .static_configs.map((s) => [s.labels?.agent_type, Number(s.targets[0]!.split(':')[1])]);
    expect(agents(native)).toEqual(agentTypes.map((t, i) => [t, defaults.AGENT_METRICS_PORT + i]));
    expect(agents(composePrometheus)).toEqual(agents(native));
    // The exporters' targets are the ports Compose publishes (natively the host ports themselves).
    const nativeTargets = Object.fromEntries(nativeScrapeJobs(defaults).map((j) => [j.job, j.targets]));
    expect(nativeTargets.kafka).toEqual([{ target: '127.0.0.1:19308' }]);
    expect(nativeTargets.alertmanager).toEqual([{ target: '127.0.0.1:19094' }]);
  });

  it("loads the repository's rules and alerts through the stack's Alertmanager, in both stacks", async () => {
    const { nativePrometheusConfig } = await import('../../src/stack/services.ts');
    const native = parse(nativePrometheusConfig(defaults)) as PrometheusConfig;
    expect(native.rule_files).toEqual([resolve('stack/prometheus/rules/*.yml')]);
    expect(native.alerting.alertmanagers[0]!.static_configs[0]!.targets).toEqual(['127.0.0.1:19094']);
    // Compose mounts the same directory where its configuration looks for rules.
    expect(composePrometheus.rule_files).toEqual(['/etc/prometheus/rules/*.yml']);
    expect(services.prometheus!.volumes).toContain('./stack/prometheus/rules:/etc/prometheus/rules:ro');
    expect(composePrometheus.alerting.alertmanagers[0]!.static_configs[0]!.targets).toEqual([
      'alertmanager:9093',
    ]);
  });

  it('gives both Alertmanagers the same routes and webhook, with the token from a file', () => {
    const file = parse(readFileSync('stack/alertmanager/alertmanager.yml', 'utf8')) as Record<
      string,
      unknown
    >;
    const native = parse(nativeAlertmanagerConfig(defaults, '/data/alertmanager/webhook-token')) as Record<
      string,
      unknown
    >;
    expect(file.route).toEqual({
      receiver: 'prism-api',
      group_by: ['alertname', 'job', 'instance'],
      group_wait: '10s',
      group_interval: '1m',
      repeat_interval: '4h',
    });
    expect(native.route).toEqual(file.route);
    const webhook = (config: Record<string, unknown>) =>
      (config.receivers as { name: string; webhook_configs: Record<string, unknown>[] }[]).map((r) => [
        r.name,
        r.webhook_configs,
      ]);
    const hook = (url: string, credentials_file: string) => ({
      url,
      send_resolved: true,
      http_config: { authorization: { type: 'Bearer', credentials_file } },
    });
    expect(webhook(file)).toEqual([
      [
        'prism-api',
        [hook('http://prism-api:3000/alerts/alertmanager', '/run/secrets/alertmanager_webhook_token')],
      ],
    ]);
    expect(webhook(native)).toEqual([
      [
        'prism-api',
        [
          hook(
            `http://127.0.0.1:${defaults.API_PORT}/alerts/alertmanager`,
            '/data/alertmanager/webhook-token',
          ),
        ],
      ],
    ]);
    expect(services.alertmanager!.volumes).toContain(
      './stack/alertmanager/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro',
    );
  });

  it('runs the application as a non-root user on a read-only root filesystem', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    for (const stage of dockerfile
      .split(/^(?=FROM )/m)
      .filter((t) => /^FROM \S+ AS (app|maintenance)\s/.test(t))) {
      const users = [...stage.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
      expect(users.at(-1), stage.split('\n')[0]).toBe('node');
    }
    const app = Object.keys(services).filter((n) => n.startsWith('prism-'));
    expect(app.length).toBeGreaterThanOrEqual(7);
    for (const name of app) {
      expect(services[name]!.read_only, name).toBe(true);
      expect(services[name]!.tmpfs, name).toEqual(['/tmp']);
    }
    // Weaviate shares its backup files with the maintenance worker's user.
    expect(services.weaviate!.user).toBe('1000:1000');
  });

  it("builds the task worker's image without a service binary, and the maintenance worker's with its tools", () => {
    const stages = new Map(
      readFileSync('Dockerfile', 'utf8')
        .split(/^(?=FROM )/m)
        .map((text) => [/^FROM (\S+)(?: AS (\S+))?/.exec(text)?.[2] ?? '', text] as const),
    );
    // A stage and the stages it is built on.
    const chain = (name: string): string => {
      const text = stages.get(name) ?? '';
      const base = /^FROM (\S+)/.exec(text)?.[1] ?? '';
      return text + (stages.has(base) ? chain(base) : '');
    };
    const serviceTools = /weaviate|influxd|redis-server|postgresql|sqlite3|apt-get/;
    expect([...stages.keys()].at(-1), 'the default target').toBe('app');
    expect(chain('app')).not.toMatch(serviceTools);
    for (const tool of [
      '/usr/local/bin/weaviate',
      '/usr/local/bin/influxd',
      'redis-server',
      'postgresql-client',
    ])
      expect(chain('maintenance'), tool).toContain(tool);
    expect(services['prism-worker']!.build).toEqual({ context: '.', target: 'app' });
    expect(services['prism-maintenance-worker']!.build).toEqual({ context: '.', target: 'maintenance' });
    // The API and the agents run the task worker's image.
    for (const name of ['prism-api', ...agentServices])
      expect(services[name]!.image, name).toBe(services['prism-worker']!.image);
    // The backups' volumes are the maintenance worker's alone.
    expect(services['prism-worker']!.volumes).toBeUndefined();
    expect(services['prism-maintenance-worker']!.volumes).toEqual([
      'weaviate-backups:/var/lib/weaviate-backups',
      'prism-backups:/var/lib/prism-backups',
    ]);
  });
});
