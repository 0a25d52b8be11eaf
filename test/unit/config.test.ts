import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, envSchema, parseConfig } from '../../src/config.ts';
import { stackSchema } from '../../src/stack/config.ts';

// What an operator's command logs in with: the application's PostgreSQL role and Redis' admin.
const secrets = {
  POSTGRES_PASSWORD: 'pg-secret-1',
  POSTGRES_APP_PASSWORD: 'pg-app-secret-1',
  REDIS_PASSWORD: 'redis-secret-1',
  INFLUX_PASSWORD: 'secret-1',
};

const pick = (from: Record<string, string>, ...names: string[]) =>
  Object.fromEntries(names.map((n) => [n, from[n]!]));

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
      parseConfig(
        {
          ...secrets,
          POSTGRES_PORT: '99999',
          KAFKA_BROKERS: 'no-port',
        },
        'worker',
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).problems;
    expect(issues.map((i) => i.field).sort()).toEqual([
      'KAFKA_BROKERS',
      'POSTGRES_PORT',
      'REDIS_WORKER_PASSWORD',
    ]);
    expect(issues.find((i) => i.field === 'REDIS_WORKER_PASSWORD')!.message).toMatch(
      /^required but not set \(worker logs in as Redis user worker/,
    );
    expect((error as Error).message).toMatch(/POSTGRES_PORT: .*65535/);
  });

  it("takes the task worker's Temporal tuning, and names a value the SDK would not take", () => {
    const env = parseConfig({
      ...secrets,
      PRISM_WORKER_WORKFLOW_POLLERS: '4',
      PRISM_WORKER_CACHED_WORKFLOWS: '0',
    });
    expect(env).toMatchObject({
      PRISM_WORKER_WORKFLOW_SLOTS: 100,
      PRISM_WORKER_WORKFLOW_POLLERS: 4,
      PRISM_WORKER_CACHED_WORKFLOWS: 0,
      PRISM_WORKER_LOCAL_ACTIVITY_SLOTS: 100,
    });
    expect(() =>
      parseConfig({ ...secrets, PRISM_WORKER_CACHED_WORKFLOWS: '1', PRISM_WORKER_WORKFLOW_POLLERS: '1' }),
    ).toThrow(
      /PRISM_WORKER_WORKFLOW_POLLERS: .*2[\s\S]*PRISM_WORKER_CACHED_WORKFLOWS: 0 \(no cache\) or at least 2/,
    );
  });

  it('treats an empty variable as unset', () => {
    expect(parseConfig({ ...secrets, POSTGRES_PORT: '' }).POSTGRES_PORT).toBe(15432);
  });

  it('defaults backups to a directory in the stack data, S3 to the stack’s SeaweedFS, and names bad values', () => {
    const env = parseConfig({ ...secrets, PRISM_STACK_DATA: '/srv/prism' });
    expect(env).toMatchObject({
      PRISM_BACKUP_DESTINATION: 'local',
      PRISM_BACKUP_DIR: '/srv/prism/backups',
      S3_PORT: 18333,
      PRISM_BACKUP_S3_ENDPOINT: 'http://127.0.0.1:18333',
      PRISM_BACKUP_S3_BUCKET: 'prism-backups',
      PRISM_BACKUP_S3_PREFIX: '',
      PRISM_BACKUP_S3_REGION: 'us-east-1',
    });
    expect(parseConfig({ ...secrets, S3_PORT: '28333' }).PRISM_BACKUP_S3_ENDPOINT).toBe(
      'http://127.0.0.1:28333',
    );
    const bad = {
      PRISM_BACKUP_DESTINATION: 'ftp',
      PRISM_BACKUP_S3_ENDPOINT: 'ftp://store:21',
      PRISM_BACKUP_S3_BUCKET: 'Prism_Backups',
      PRISM_BACKUP_S3_PREFIX: '/leading/slash',
      S3_ACCESS_KEY: 'a b',
      S3_SECRET_KEY: 'short',
      S3_PORT: '65530',
    };
    expect(() => parseConfig({ ...secrets, ...bad })).toThrow(ConfigError);
    try {
      parseConfig({ ...secrets, ...bad });
    } catch (err) {
      expect((err as ConfigError).problems.map((p) => p.field).sort()).toEqual(Object.keys(bad).sort());
    }
  });

  it('logs each component in as its own role and user, with only the password of that one', () => {
    const all = {
      ...secrets,
      POSTGRES_AGENT_PASSWORD: 'pg-agent-secret',
      POSTGRES_MIGRATOR_PASSWORD: 'pg-migrator-secret',
      REDIS_WORKER_PASSWORD: 'redis-worker-secret',
      REDIS_AGENT_PASSWORD: 'redis-agent-secret',
      KAFKA_AGENT_PASSWORD: 'kafka-agent-secret',
    };
    expect(parseConfig(all)).toMatchObject({
      PRISM_COMPONENT: 'operator',
      POSTGRES_LOGIN_USER: 'prism_app',
      POSTGRES_LOGIN_PASSWORD: 'pg-app-secret-1',
      REDIS_LOGIN_USER: 'admin',
      REDIS_LOGIN_PASSWORD: 'redis-secret-1',
    });
    const agent = parseConfig(all, 'agent');
    expect(agent).toMatchObject({
      POSTGRES_LOGIN_USER: 'prism_agent',
      POSTGRES_LOGIN_PASSWORD: 'pg-agent-secret',
      REDIS_LOGIN_USER: 'agent',
      REDIS_LOGIN_PASSWORD: 'redis-agent-secret',
      KAFKA_LOGIN_USER: 'agent',
      KAFKA_LOGIN_PASSWORD: 'kafka-agent-secret',
    });
    expect(parseConfig(all, 'migrator')).toMatchObject({
      POSTGRES_LOGIN_USER: 'prism_migrator',
      POSTGRES_LOGIN_PASSWORD: 'pg-migrator-secret',
    });
    // The superuser's password is no component's login, and a component needs its own password only.
    expect(
      parseConfig(
        { INFLUX_PASSWORD: 'secret-1', ...pick(all, 'POSTGRES_AGENT_PASSWORD', 'REDIS_AGENT_PASSWORD') },
        'agent',
      ),
    ).toMatchObject({ POSTGRES_LOGIN_USER: 'prism_agent', REDIS_LOGIN_USER: 'agent' });
    // Kafka without a password for the worker: no SASL (a cluster that takes clients without it).
    expect(parseConfig(all, 'worker').KAFKA_LOGIN_USER).toBeUndefined();
    let error: unknown;
    try {
      parseConfig({ ...all, REDIS_WORKER_PASSWORD: undefined }, 'worker');
    } catch (err) {
      error = err;
    }
    expect((error as ConfigError).problems).toEqual([
      {
        field: 'REDIS_WORKER_PASSWORD',
        message: expect.stringMatching(/^required but not set \(worker logs in as Redis user worker/),
      },
    ]);
  });

  it('.env.example documents every variable', () => {
    const documented = new Set(
      [...readFileSync('.env.example', 'utf8').matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]),
    );
    const missing = [...Object.keys(envSchema.shape), ...Object.keys(stackSchema.shape)].filter(
      (k) => !documented.has(k),
    );
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
