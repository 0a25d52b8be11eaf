// docker-compose.cluster.yml checked by Docker Compose v2 itself, as test/integration/compose-config.test.ts checks
// docker-compose.yml (the same binary, built into the stack cache by `prism stack up`, hence this project):
// `config` parses, interpolates and validates the file as `docker compose up` would, without a Docker engine.
// Nothing here starts a container: no engine on the machine this was written on. test/unit/compose-cluster.test.ts
// compares each node's settings with its native twin.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { componentSecrets, isSecretVariable } from '../../src/identity.ts';
import { binaries } from '../../src/stack/install.ts';
import { repoRoot, stackPaths } from '../../src/stack/paths.ts';
import { generatedSecretNames } from '../../src/stack/secrets.ts';
import { versions } from '../../src/stack/versions.ts';
import { env } from '../helpers.ts';

const run = promisify(execFile);
const bins = binaries(stackPaths(env));

// Every secret `prism stack up` generates, each a value no other one contains.
const required = Object.fromEntries(
  generatedSecretNames.map((name) => [name, `compose-check-${name.toLowerCase()}-value`]),
) as Record<(typeof generatedSecretNames)[number], string>;

/** `docker compose -f docker-compose.cluster.yml config …` with the variables a user must set. */
function composeConfig(args: string[], variables: Record<string, string> = required) {
  return run(
    bins.compose,
    ['--project-directory', repoRoot, '-f', 'docker-compose.cluster.yml', 'config', ...args],
    { cwd: repoRoot, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...variables } },
  );
}

interface Resolved {
  services: Record<string, { environment?: Record<string, string | null>; image?: string }>;
  configs: Record<string, { content: string }>;
}
const resolved = async () => JSON.parse((await composeConfig(['--format', 'json'])).stdout) as Resolved;

const clustered = ['etcd', 'postgres', 'redis', 'redis-sentinel', 'kafka', 'weaviate', 'temporal'];
const nodes = (engine: string) => [1, 2, 3].map((n) => `${engine}-${n}`);

describe('docker-compose.cluster.yml, as Docker Compose reads it', () => {
  it(`is valid to Docker Compose ${versions.compose}`, async () => {
    await expect(composeConfig(['-q'])).resolves.toMatchObject({ stderr: '' });
  });

  it('lists three nodes of each clustered engine, the single services once and the application twice', async () => {
    const services = (await composeConfig(['--services'])).stdout.trim().split('\n').sort();
    for (const engine of clustered)
      expect(
        services.filter((s) => new RegExp(`^${engine}-\\d+$`).test(s)),
        engine,
      ).toEqual(nodes(engine));
    const expected = [
      ...clustered.flatMap(nodes),
      'influxdb',
      'jaeger',
      'kafka-jmx-agent',
      'kafka-users',
      'postgres-roles',
      'prometheus',
      'seaweedfs',
      'seaweedfs-setup',
      'temporal-schema',
      'temporal-setup',
      'temporal-ui',
      'volume-owners',
      ...[
        'worker',
        'maintenance-worker',
        'api',
        'agent-monitoring',
        'agent-prediction',
        'agent-control',
        'agent-analysis',
      ].flatMap((p) => [`prism-${p}-1`, `prism-${p}-2`]),
    ].sort();
    expect(services).toEqual(expected);
  });

  it('pins every image to a version (no latest, no missing tag)', async () => {
    const images = (await composeConfig(['--images'])).stdout.trim().split('\n');
    expect(images).toContain(`quay.io/coreos/etcd:v${versions.etcd}`);
    expect(images).toContain(`apache/kafka:${versions.kafka}`);
    for (const image of images) {
      const tag = /:([^/:]+)$/.exec(image)?.[1];
      expect(tag, image).toBeDefined();
      expect(tag, image).not.toBe('latest');
    }
  });

  it('gives every application container every node, once Compose has merged and interpolated it', async () => {
    const { services } = await resolved();
    const app = Object.keys(services).filter((n) => n.startsWith('prism-'));
    expect(app).toHaveLength(14);
    const every: Record<string, string[]> = {
      POSTGRES_HOST: nodes('postgres'),
      REDIS_SENTINELS: nodes('redis-sentinel').map((n) => `${n}:26379`),
      KAFKA_BROKERS: nodes('kafka').map((n) => `${n}:29092`),
      WEAVIATE_HOST: nodes('weaviate'),
      TEMPORAL_ADDRESS: nodes('temporal').map((n) => `${n}:7233`),
    };
    for (const name of app) {
      const e = services[name]!.environment!;
      for (const [variable, list] of Object.entries(every))
        expect(e[variable]?.split(',').sort(), `${name} ${variable}`).toEqual(list);
      expect(e, name).toMatchObject({
        PRISM_TOPOLOGY: 'cluster',
        KAFKA_REPLICATION_FACTOR: '3',
        KAFKA_MIN_INSYNC_REPLICAS: '2',
        WEAVIATE_REPLICATION_FACTOR: '3',
      });
    }
  });

  it("gives each application container its own component's secrets, and the stack's admins' to none", async () => {
    const { services } = await resolved();
    const component = (name: string) =>
      name.startsWith('prism-maintenance-worker')
        ? 'maintenance'
        : name.startsWith('prism-worker')
          ? 'worker'
          : name.startsWith('prism-api')
            ? 'api'
            : 'agent';
    for (const [name, service] of Object.entries(services).filter(([n]) => n.startsWith('prism-'))) {
      const e = service.environment ?? {};
      expect(Object.keys(e).filter(isSecretVariable).sort(), name).toEqual(
        [...componentSecrets[component(name)]].filter((v) => v !== 'WEAVIATE_API_KEY').sort(),
      );
      for (const secret of Object.keys(e).filter(isSecretVariable))
        expect(e[secret], `${name} ${secret}`).toBe(required[secret as keyof typeof required]);
      const values = Object.values(e);
      expect(values, name).not.toContain(required.POSTGRES_PASSWORD);
      expect(values, name).not.toContain(required.REDIS_PASSWORD);
      expect(values, name).not.toContain(required.KAFKA_ADMIN_PASSWORD);
    }
  });

  it('writes no secret into the scripts it hands the containers: they read them when they start', async () => {
    const { configs } = await resolved();
    for (const [name, config] of Object.entries(configs))
      for (const value of Object.values(required)) expect(config.content, name).not.toContain(value);
  });

  it('refuses to start without the generated secrets, naming the variable', async () => {
    const without = async (name: keyof typeof required) => {
      const variables: Record<string, string> = { ...required };
      delete variables[name];
      return composeConfig(['-q'], variables).then(
        () => null,
        (err: { stderr: string }) => err.stderr,
      );
    };
    for (const name of [
      'POSTGRES_PASSWORD',
      'POSTGRES_TEMPORAL_PASSWORD',
      'REDIS_PASSWORD',
      'REDIS_SENTINEL_PASSWORD',
      'KAFKA_ADMIN_PASSWORD',
      'INFLUX_PASSWORD',
      'S3_SECRET_KEY',
    ] as const)
      expect(await without(name), name).toMatch(new RegExp(`${name} is required`));
  });

  it('has a Prometheus configuration that promtool accepts, with the rules both stacks load', async () => {
    const { configs } = await resolved();
    const config = parse(configs.prometheus!.content) as { rule_files: string[] };
    const rulesDir = join(repoRoot, 'stack/prometheus/rules');
    config.rule_files = config.rule_files.map((f) =>
      f.replace(/^\/etc\/prometheus\/rules\//, `${rulesDir}/`),
    );
    const dir = mkdtempSync(join(tmpdir(), 'prism-compose-cluster-prometheus-'));
    try {
      writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
      const { stdout, stderr } = await run(bins.promtool, ['check', 'config', join(dir, 'prometheus.yml')]);
      expect(stdout + stderr).toMatch(/SUCCESS: .*prometheus\.yml is valid prometheus config file syntax/);
      expect(stdout + stderr).toMatch(/SUCCESS: [1-9]\d* rules found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
