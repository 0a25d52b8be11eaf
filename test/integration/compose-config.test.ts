// docker-compose.yml checked by Docker Compose v2 itself (built from its Go module into the stack cache by
// `prism stack up`): `config` parses, interpolates and validates the file against the Compose
// specification, as `docker compose up` would, without needing a Docker engine. A structural test of ours
// once passed a file that Compose rejects (`env_file` as a bare mapping).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { componentSecrets, isSecretVariable } from '../../src/identity.ts';
import { probeAll } from '../../src/stack/health.ts';
import { binaries } from '../../src/stack/install.ts';
import { kafkaSecurityProperties } from '../../src/stack/kafka-users.ts';
import { repoRoot, stackPaths } from '../../src/stack/paths.ts';
import { generatedSecretNames } from '../../src/stack/secrets.ts';
import { serviceNames, versions } from '../../src/stack/versions.ts';
import type { Env } from '../../src/config.ts';
import { env } from '../helpers.ts';

const run = promisify(execFile);
const compose = binaries(stackPaths(env)).compose;

/** Runs `docker compose [--profile app] config …` on the repository's file with the variables a user must set. */
function composeConfig(args: string[], variables: Record<string, string> = required, profile?: string) {
  const global = ['--project-directory', repoRoot, '-f', 'docker-compose.yml'];
  if (profile) global.push('--profile', profile);
  return run(compose, [...global, 'config', ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...variables },
  });
}
// Every secret `prism stack up` generates (and passes to Compose), each a value no other one contains.
const required = Object.fromEntries(
  generatedSecretNames.map((name) => [name, `compose-check-${name.toLowerCase()}-value`]),
) as Record<(typeof generatedSecretNames)[number], string>;
const bins = binaries(stackPaths(env));
// The secrets a component may hold that this stack does not have: a Weaviate API key (anonymous access inside
// the network), and the sentinels' password (one Redis, no Sentinel: docker-compose.cluster.yml has them).
const held = (variable: string) => variable !== 'WEAVIATE_API_KEY' && variable !== 'REDIS_SENTINEL_PASSWORD';

describe('docker-compose.yml, as Docker Compose reads it', () => {
  it(`is Docker Compose ${versions.compose}`, async () => {
    const { stdout } = await run(compose, ['version']);
    expect(stdout).toContain(`v${versions.compose}`);
  });

  it('is valid without and with the app profile', async () => {
    await expect(composeConfig(['-q'])).resolves.toMatchObject({ stderr: '' });
    await expect(composeConfig(['-q'], required, 'app')).resolves.toMatchObject({ stderr: '' });
  });

  it('lists every service, the app ones in the app profile', async () => {
    const services = async (profile?: string) =>
      (await composeConfig(['--services'], required, profile)).stdout.trim().split('\n').sort();
    const infrastructure = [
      'alertmanager',
      'cadvisor',
      'grafana',
      'influxdb',
      'jaeger',
      'kafka',
      'kafka-jmx-agent',
      'kafka-users',
      'node-exporter',
      'postgres',
      'postgres-exporter',
      'postgres-roles',
      'prometheus',
      'redis',
      'redis-exporter',
      'seaweedfs',
      'seaweedfs-setup',
      'temporal',
      'temporal-schema',
      'temporal-setup',
      'temporal-ui',
      'volume-owners',
      'weaviate',
    ];
    const app = [
      'prism-agent-analysis',
      'prism-agent-control',
      'prism-agent-monitoring',
      'prism-agent-prediction',
      'prism-api',
      'prism-maintenance-worker',
      'prism-worker',
    ];
    expect(await services()).toEqual(infrastructure);
    expect(await services('app')).toEqual([...infrastructure, ...app].sort());
  });

  it('pins every image to a version (no latest, no missing tag)', async () => {
    const { stdout } = await composeConfig(['--images'], required, 'app');
    const images = stdout.trim().split('\n');
    expect(images.length).toBeGreaterThanOrEqual(22);
    for (const image of images) {
      const tag = /:([^/:]+)$/.exec(image)?.[1];
      expect(tag, image).toBeDefined();
      expect(tag, image).not.toBe('latest');
    }
    expect(images).toContain(`influxdb:${versions.influxdb}`);
  });

  it('names, for each service, the version the native stack runs here', async () => {
    const { stdout } = await composeConfig(['--images']);
    const tag = (repository: string) =>
      stdout
        .split('\n')
        .find((image) => image.replace(/:[^:]+$/, '').endsWith(repository))
        ?.replace(/^.*:v?/, '');
    const running = Object.fromEntries((await probeAll(serviceNames, env)).map((s) => [s.name, s.version]));
    // Built from a pinned version: the same release exactly.
    expect(tag('apache/kafka')).toBe(running.kafka);
    expect(tag('semitechnologies/weaviate')).toBe(running.weaviate);
    expect(tag('influxdb')).toBe(running.influxdb);
    expect(tag('temporalio/server')).toBe(running.temporal);
    expect(tag('temporalio/ui')).toBe(running['temporal-ui']);
    expect(tag('chrislusf/seaweedfs')).toBe(running.seaweedfs);
    expect(tag('jaegertracing/jaeger')).toBe(running.jaeger);
    // Debian's packages: the same release series (Debian ships the series' security updates).
    expect(tag('postgres')!.split('.')[0]).toBe(running.postgres!.split('.')[0]);
    expect(tag('redis')!.split('.').slice(0, 2)).toEqual(running.redis!.split('.').slice(0, 2));
    expect(tag('prom/prometheus')!.split('.').slice(0, 2)).toEqual(
      running.prometheus!.split('.').slice(0, 2),
    );
    // The exporters and Alertmanager: Debian's packages run the same releases as the images.
    expect(tag('prom/alertmanager')).toBe(running.alertmanager);
    expect(tag('prometheuscommunity/postgres-exporter')).toBe(running['postgres-exporter']);
    expect(tag('oliver006/redis_exporter')).toBe(`${running['redis-exporter']}-alpine`);
    expect(tag('prom/node-exporter')).toBe(running['node-exporter']);
    // The JMX exporter: the same jar in both stacks (Compose downloads it into a volume).
    const fetch = (await composeConfig(['--format', 'json'])).stdout;
    const command = (JSON.parse(fetch) as { services: Record<string, { command?: string[] }> }).services[
      'kafka-jmx-agent'
    ]!.command!.join(' ');
    expect(command).toContain(`/jmx_prometheus_javaagent-${running['kafka-jmx-exporter']}.jar`);
  });

  it('has a Prometheus configuration that promtool accepts, with the rules it mounts', async () => {
    // Compose mounts ./stack/prometheus/rules at /etc/prometheus/rules: the same files, checked where they
    // are (promtool resolves rule_files itself; a glob that matched nothing would pass unchecked).
    const { stdout } = await composeConfig(['--format', 'json']);
    const prometheus = (
      JSON.parse(stdout) as { services: Record<string, { volumes: { source: string; target: string }[] }> }
    ).services.prometheus!;
    const mount = (target: string) => prometheus.volumes.find((v) => v.target === target)!.source;
    const config = parse(readFileSync(mount('/etc/prometheus/prometheus.yml'), 'utf8')) as {
      rule_files: string[];
    };
    const rulesDir = mount('/etc/prometheus/rules');
    expect(rulesDir).toBe(join(repoRoot, 'stack/prometheus/rules'));
    config.rule_files = config.rule_files.map((f) =>
      f.replace(/^\/etc\/prometheus\/rules\//, `${rulesDir}/`),
    );
    const dir = mkdtempSync(join(tmpdir(), 'prism-compose-prometheus-'));
    try {
      writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
      const { stdout: out, stderr } = await run(bins.promtool, [
        'check',
        'config',
        join(dir, 'prometheus.yml'),
      ]);
      const output = out + stderr;
      expect(output).toMatch(/SUCCESS: .*prometheus\.yml is valid prometheus config file syntax/);
      for (const file of ['alerts.yml', 'recording.yml'])
        expect(output).toMatch(
          new RegExp(`Checking ${rulesDir}/${file}\\n\\s*SUCCESS: [1-9]\\d* rules found`),
        );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has an Alertmanager configuration that amtool accepts', async () => {
    const { stdout } = await run(bins.amtool, [
      'check-config',
      join(repoRoot, 'stack/alertmanager/alertmanager.yml'),
    ]);
    expect(stdout).toMatch(/SUCCESS[\s\S]*- route[\s\S]*- 1 receivers/);
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
    expect(await without('INFLUX_PASSWORD')).toMatch(/INFLUX_PASSWORD is required/);
    expect(await without('ALERTMANAGER_WEBHOOK_TOKEN')).toMatch(/ALERTMANAGER_WEBHOOK_TOKEN is required/);
    expect(await without('GRAFANA_ADMIN_PASSWORD')).toMatch(/GRAFANA_ADMIN_PASSWORD is required/);
    expect(await without('POSTGRES_APP_PASSWORD')).toMatch(/POSTGRES_APP_PASSWORD is required/);
    expect(await without('REDIS_AGENT_PASSWORD')).toMatch(/REDIS_AGENT_PASSWORD is required/);
    expect(await without('KAFKA_ADMIN_PASSWORD')).toMatch(/KAFKA_ADMIN_PASSWORD is required/);
    expect(await without('KAFKA_AGENT_PASSWORD')).toMatch(/KAFKA_AGENT_PASSWORD is required/);
  });

  it("gives each application container its own component's secrets and no other", async () => {
    const { stdout } = await composeConfig(['--format', 'json'], required, 'app');
    const { services } = JSON.parse(stdout) as {
      services: Record<string, { environment?: Record<string, string | null> }>;
    };
    const secretsOf = (service: string) =>
      Object.keys(services[service]!.environment ?? {})
        .filter(isSecretVariable)
        .sort();
    expect(secretsOf('prism-worker')).toEqual([...componentSecrets.worker].filter(held).sort());
    expect(secretsOf('prism-maintenance-worker')).toEqual(
      [...componentSecrets.maintenance].filter(held).sort(),
    );
    expect(secretsOf('prism-api')).toEqual([...componentSecrets.api].filter(held).sort());
    for (const agent of ['monitoring', 'prediction', 'control', 'analysis'])
      expect(secretsOf(`prism-agent-${agent}`), agent).toEqual(
        [...componentSecrets.agent].filter(held).sort(),
      );
    // The superuser's, Redis admin's and Kafka admin's passwords stay with the stack's own containers.
    for (const [name, service] of Object.entries(services).filter(([n]) => n.startsWith('prism-'))) {
      const values = Object.values(service.environment ?? {});
      expect(values, name).not.toContain(required.POSTGRES_PASSWORD);
      expect(values, name).not.toContain(required.REDIS_PASSWORD);
      expect(values, name).not.toContain(required.KAFKA_ADMIN_PASSWORD);
    }
  });

  it("secures Kafka as the native broker does: SASL on every listener, the admin's JAAS, ACLs enforced", async () => {
    const { stdout } = await composeConfig(['--format', 'json']);
    const kafka = (
      JSON.parse(stdout) as { services: Record<string, { environment: Record<string, string> }> }
    ).services.kafka!.environment;
    // The apache/kafka image's rule (docker/examples/README.md): KAFKA_ + the property, '.' as '_', '_' as
    // '__', '-' as '___'.
    const properties = new Map(
      Object.entries(kafka)
        .filter(([name]) => name.startsWith('KAFKA_'))
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
          value,
        ]),
    );
    const native = kafkaSecurityProperties(
      { KAFKA_ADMIN_PASSWORD: required.KAFKA_ADMIN_PASSWORD } as unknown as Env,
      { broker: 'INTERNAL', controller: 'CONTROLLER' },
    );
    for (const line of native) {
      const [name, value] = [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)];
      // Compose has a second client listener (EXTERNAL, the host's port) in its protocol map.
      if (name === 'listener.security.protocol.map') {
        for (const listener of ['CONTROLLER', 'INTERNAL', 'EXTERNAL'])
          expect(properties.get(name)).toContain(`${listener}:SASL_PLAINTEXT`);
        continue;
      }
      expect(properties.get(name), name).toBe(value);
      if (name.startsWith('listener.name.internal.'))
        expect(properties.get(name.replace('.internal.', '.external.')), name).toBe(value);
    }
    expect(properties.get('listener.name.internal.plain.sasl.jaas.config')).toContain(
      `user_admin="${required.KAFKA_ADMIN_PASSWORD}"`,
    );
  });

  it('keeps the webhook token out of what Compose prints: Alertmanager gets it as a secret file', async () => {
    const { stdout } = await composeConfig(['--format', 'json']);
    const config = JSON.parse(stdout) as {
      secrets: Record<string, { environment?: string }>;
      services: Record<string, { secrets?: { source: string; target: string }[] }>;
    };
    expect(config.secrets.alertmanager_webhook_token?.environment).toBe('ALERTMANAGER_WEBHOOK_TOKEN');
    expect(config.services.alertmanager!.secrets).toEqual([
      { source: 'alertmanager_webhook_token', target: '/run/secrets/alertmanager_webhook_token' },
    ]);
    // Without the app profile, no container is given the token in its environment.
    expect(stdout).not.toContain(required.ALERTMANAGER_WEBHOOK_TOKEN);
  });
});
