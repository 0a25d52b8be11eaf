import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, envSchema, parseConfig } from '../../src/config.ts';

const secrets = {
  POSTGRES_PASSWORD: 'pg-secret-1',
  REDIS_PASSWORD: 'redis-secret-1',
  INFLUX_PASSWORD: 'secret-1',
};

describe('configuration', () => {
  it("applies the spec's defaults", () => {
    const env = parseConfig(secrets);
    expect(env).toMatchObject({
      POSTGRES_PORT: 15432,
      POSTGRES_USER: 'prism_user',
      POSTGRES_DB: 'prism_orchestration',
      REDIS_PORT: 16379,
      WEAVIATE_HTTP_PORT: 18080,
      WEAVIATE_GRPC_PORT: 50051,
      KAFKA_BROKERS: '127.0.0.1:19092',
      INFLUX_URL: 'http://127.0.0.1:18086',
      PROMETHEUS_URL: 'http://127.0.0.1:19090',
      GRAFANA_PORT: 13000,
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_UI_PORT: 8233,
      PRISM_BIND_ADDRESS: '127.0.0.1',
    });
  });

  it('derives connection addresses from the ports unless they are set', () => {
    expect(parseConfig({ ...secrets, KAFKA_PORT: '29092' }).KAFKA_BROKERS).toBe('127.0.0.1:29092');
    expect(parseConfig({ ...secrets, KAFKA_BROKERS: 'k1:9092,k2:9092' }).KAFKA_BROKERS).toBe(
      'k1:9092,k2:9092',
    );
    expect(parseConfig({ ...secrets, INFLUX_URL: 'http://influx:8086/' }).INFLUX_URL).toBe(
      'http://influx:8086',
    );
  });

  it('names every bad variable and what is wrong with it', () => {
    let error: unknown;
    try {
      parseConfig({
        ...secrets,
        POSTGRES_PORT: '99999',
        REDIS_PASSWORD: undefined,
        KAFKA_BROKERS: 'no-port',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).problems;
    expect(issues.map((i) => i.field).sort()).toEqual(['KAFKA_BROKERS', 'POSTGRES_PORT', 'REDIS_PASSWORD']);
    expect(issues.find((i) => i.field === 'REDIS_PASSWORD')!.message).toBe('required but not set');
    expect((error as Error).message).toMatch(/POSTGRES_PORT: .*65535/);
  });

  it('treats an empty variable as unset', () => {
    expect(parseConfig({ ...secrets, POSTGRES_PORT: '' }).POSTGRES_PORT).toBe(15432);
  });

  it('.env.example documents every variable', () => {
    const documented = new Set(
      [...readFileSync('.env.example', 'utf8').matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]),
    );
    const missing = Object.keys(envSchema.shape).filter((k) => !documented.has(k));
    expect(missing).toEqual([]);
  });
});

describe('the native Kafka cluster id', () => {
  it("is Kafka's form and never starts with '-' (its command line would read it as an option)", async () => {
    const { kafkaClusterId } = await import('../../src/stack/services.ts');
    const ids = Array.from({ length: 2_000 }, () => kafkaClusterId());
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
