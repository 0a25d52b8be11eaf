// docker-compose.yml cannot be run here (no Docker engine): Docker Compose itself validates it in
// test/integration/compose-config.test.ts; these check what the Compose specification does not: that it
// matches the native stack (ports, versions, variables, Prometheus jobs) and the product's rules.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { envSchema, parseConfig } from '../../src/config.ts';
import { temporalDynamicConfigFlags } from '../../src/stack/services.ts';
import { versions } from '../../src/stack/versions.ts';

interface Service {
  image?: string;
  build?: unknown;
  restart?: string;
  ports?: string[];
  networks?: string[];
  healthcheck?: { test: string[] };
  environment?: Record<string, string | number>;
  volumes?: string[];
  profiles?: string[];
}
const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  networks: Record<string, { name: string }>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const oneShot = ['temporal-setup'];
const longRunning = Object.keys(services).filter((n) => !oneShot.includes(n));
const defaults = parseConfig({
  POSTGRES_PASSWORD: 'x'.repeat(8),
  REDIS_PASSWORD: 'x'.repeat(8),
  INFLUX_PASSWORD: 'x'.repeat(8),
});

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
        'prism-api',
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
    };
    for (const [name, ports] of Object.entries(expected)) {
      const published = (services[name]!.ports ?? []).map((p) => {
        const m = /^\$\{PRISM_BIND_ADDRESS:-127\.0\.0\.1\}:\$\{[A-Z_]+:-(\d+)\}:\d+$/.exec(p);
        expect(m, `${name} port ${p}`).not.toBeNull();
        return Number(m![1]);
      });
      expect(published, name).toEqual(ports);
    }
    for (const name of ['temporal-setup', 'prism-worker']) expect(services[name]!.ports).toBeUndefined();
  });

  it('gives the Temporal server the dynamic configuration the native dev server gets', () => {
    const temporal = services.temporal!;
    const path = String(temporal.environment!.DYNAMIC_CONFIG_FILE_PATH);
    expect(temporal.volumes).toContain(`./stack/temporal/dynamicconfig.yaml:/etc/temporal/${path}:ro`);
    const flags = temporalDynamicConfigFlags();
    const file = parse(readFileSync('stack/temporal/dynamicconfig.yaml', 'utf8')) as Record<string, unknown>;
    expect(flags.filter((f) => f !== '--dynamic-config-value').map((f) => f.split('=')[0])).toEqual(
      Object.keys(file),
    );
    expect(flags).toContain('matching.numTaskqueueReadPartitions=1');
  });

  it('pins images to the versions the native stack runs', () => {
    const image = (name: string) => services[name]!.image!;
    expect(image('postgres')).toMatch(new RegExp(`^postgres:${versions.postgres}\\.\\d+$`));
    expect(image('redis')).toMatch(new RegExp(`^redis:${versions.redis.replace('.', '\\.')}\\.\\d+$`));
    expect(image('kafka')).toBe(`apache/kafka:${versions.kafka}`);
    expect(image('weaviate')).toBe(`cr.weaviate.io/semitechnologies/weaviate:${versions.weaviate}`);
    expect(image('prometheus')).toBe(`prom/prometheus:v${versions.prometheus}`);
    expect(image('temporal')).toBe(`temporalio/auto-setup:${versions.temporalServer}`);
    expect(image('temporal-ui')).toBe(`temporalio/ui:${versions.temporalUi}`);
    expect(image('influxdb')).toBe(`influxdb:${versions.influxdb}`);
    for (const name of longRunning) expect(image(name), name).not.toMatch(/:latest$|^[^:]+$/);
  });

  it('hard-codes no secret: every password and token comes from a variable', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (/PASSWORD|PWD|TOKEN|SECRET|AUTH$/.test(key) && !/ENABLED$/.test(key)) {
          expect(String(value), `${name}.${key}`).toMatch(/^\$\{[A-Z_]+(:?[-?][^}]*)?\}$/);
        }
      }
    }
    expect(services.grafana!.environment!.GF_SECURITY_ADMIN_PASSWORD).toBe(
      '${GRAFANA_ADMIN_PASSWORD:-admin123}',
    );
  });

  it('keeps data in named volumes', () => {
    for (const name of ['postgres', 'redis', 'kafka', 'weaviate', 'influxdb', 'prometheus', 'grafana']) {
      const named = (services[name]!.volumes ?? []).filter((v) => !v.startsWith('.'));
      expect(named.length, name).toBeGreaterThan(0);
      for (const v of named) expect(Object.keys(compose.volumes)).toContain(v.split(':')[0]);
    }
  });

  it('uses only variables the application documents', () => {
    const text = readFileSync('docker-compose.yml', 'utf8');
    const used = new Set([...text.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!));
    const known = new Set(Object.keys(envSchema.shape));
    expect([...used].filter((v) => !known.has(v))).toEqual([]);
  });

  it('keeps the Prometheus jobs of both stacks the same', async () => {
    const { nativePrometheusConfig } = await import('../../src/stack/services.ts');
    const jobs = (yamlText: string) =>
      (parse(yamlText) as { scrape_configs: { job_name: string }[] }).scrape_configs
        .map((c) => c.job_name)
        .sort();
    expect(jobs(nativePrometheusConfig(defaults))).toEqual(
      jobs(readFileSync('stack/prometheus/prometheus.yml', 'utf8')),
    );
  });
});
