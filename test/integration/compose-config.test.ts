// docker-compose.yml checked by Docker Compose v2 itself (built from its Go module into the stack cache by
// `prism stack up`): `config` parses, interpolates and validates the file against the Compose
// specification, as `docker compose up` would, without needing a Docker engine. A structural test of ours
// once passed a file that Compose rejects (`env_file` as a bare mapping).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { probeAll } from '../../src/stack/health.ts';
import { binaries } from '../../src/stack/install.ts';
import { repoRoot, stackPaths } from '../../src/stack/paths.ts';
import { serviceNames, versions } from '../../src/stack/versions.ts';
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
const required = {
  POSTGRES_PASSWORD: 'compose-check-1',
  REDIS_PASSWORD: 'compose-check-2',
  INFLUX_PASSWORD: 'compose-check-3',
};

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
      'grafana',
      'influxdb',
      'kafka',
      'postgres',
      'prometheus',
      'redis',
      'temporal',
      'temporal-setup',
      'temporal-ui',
      'weaviate',
    ];
    expect(await services()).toEqual(infrastructure);
    expect(await services('app')).toEqual([...infrastructure, 'prism-api', 'prism-worker'].sort());
  });

  it('pins every image to a version (no latest, no missing tag)', async () => {
    const { stdout } = await composeConfig(['--images'], required, 'app');
    const images = stdout.trim().split('\n');
    expect(images.length).toBeGreaterThanOrEqual(11);
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
    expect(tag('temporalio/auto-setup')).toBe(running.temporal);
    expect(tag('temporalio/ui')).toBe(running['temporal-ui']);
    // Debian's packages: the same release series (Debian ships the series' security updates).
    expect(tag('postgres')!.split('.')[0]).toBe(running.postgres!.split('.')[0]);
    expect(tag('redis')!.split('.').slice(0, 2)).toEqual(running.redis!.split('.').slice(0, 2));
    expect(tag('prom/prometheus')!.split('.').slice(0, 2)).toEqual(
      running.prometheus!.split('.').slice(0, 2),
    );
  });

  it('refuses to start without the generated secrets, naming the variable', async () => {
    const { POSTGRES_PASSWORD, REDIS_PASSWORD } = required;
    const failure = await composeConfig(['-q'], { POSTGRES_PASSWORD, REDIS_PASSWORD }).then(
      () => null,
      (err: { stderr: string }) => err.stderr,
    );
    expect(failure).toMatch(/INFLUX_PASSWORD is required/);
  });
});
