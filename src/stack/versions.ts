// The versions of every service, shared by the native stack and docker-compose.yml (a unit test keeps the
// compose image tags equal to these). Change a version here and in docker-compose.yml together.
export const versions = {
  postgres: '15',
  redis: '7.0',
  kafka: '3.9.1',
  weaviate: '1.36.12',
  influxdb: '1.13.2',
  prometheus: '2.42.0',
  temporalCli: '1.5.1',
  temporalServer: '1.29.1',
  temporalUi: '2.42.1',
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
