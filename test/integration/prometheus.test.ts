import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/stack/paths.ts';
import { env } from '../helpers.ts';

const rulesDir = join(repoRoot, 'stack', 'prometheus', 'rules');

interface Target {
  labels: { job: string; agent_type?: string };
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

async function activeTargets(): Promise<Target[]> {
  const res = await fetch(`${env.PROMETHEUS_URL}/api/v1/targets?state=active`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { activeTargets: Target[] } }).data.activeTargets;
}

// Every service of the native stack, each through its own metrics or its exporter's.
const services = [
  'prometheus',
  'temporal',
  'weaviate',
  'influxdb',
  'seaweedfs',
  'postgres',
  'redis',
  'kafka',
  'node',
  'process',
  'alertmanager',
];
// The application's processes answer only while `prism up` runs: configured, not necessarily up.
const application = ['prism-api', 'prism-worker', 'prism-maintenance-worker', 'prism-agents'];

describe('Prometheus', () => {
  it('scrapes every service of the stack, and has the application configured', async () => {
    let targets: Target[] = [];
    // A target is "unknown" until its first scrape (the interval is 15 s).
    for (let i = 0; i < 40; i++) {
      targets = await activeTargets();
      const up = targets.filter((t) => services.includes(t.labels.job) && t.health === 'up');
      if (up.length === services.length) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const jobs = Object.fromEntries(targets.map((t) => [t.labels.job, t]));
    expect(Object.keys(jobs).sort()).toEqual([...services, ...application].sort());
    for (const job of services) expect(jobs[job]!.health, `${job}: ${jobs[job]!.lastError}`).toBe('up');
    // One target per reference agent, labelled with its type.
    expect(
      targets
        .filter((t) => t.labels.job === 'prism-agents')
        .map((t) => t.labels.agent_type)
        .sort(),
    ).toEqual(['ANALYSIS', 'CONTROL', 'MONITORING', 'PREDICTION']);
  });

  it('answers PromQL over what it scraped', async () => {
    const res = await fetch(
      `${env.PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent('up{job="prometheus"}')}`,
    );
    const body = (await res.json()) as { status: string; data: { result: { value: [number, string] }[] } };
    expect(body.status).toBe('success');
    expect(body.data.result[0]?.value[1]).toBe('1');
  });

  it('loads the repository rules and sends alerts to the stack’s Alertmanager', async () => {
    const rules = (await (await fetch(`${env.PROMETHEUS_URL}/api/v1/rules`)).json()) as {
      data: { groups: { file: string; rules: unknown[] }[] };
    };
    // The rule files of a checkout of this repository (the one whose `stack up` configured Prometheus).
    const files = new Set(rules.data.groups.map((g) => g.file));
    for (const file of files) expect(file).toMatch(/\/stack\/prometheus\/rules\/[^/]+\.yml$/);
    const repository = readdirSync(rulesDir).filter((f) => f.endsWith('.yml'));
    expect([...files].map((f) => basename(f)).sort()).toEqual(repository.sort());
    expect(rules.data.groups.every((g) => g.rules.length > 0)).toBe(true);
    const managers = (await (await fetch(`${env.PROMETHEUS_URL}/api/v1/alertmanagers`)).json()) as {
      data: { activeAlertmanagers: { url: string }[] };
    };
    expect(managers.data.activeAlertmanagers.map((a) => a.url)).toEqual([
      `http://127.0.0.1:${env.ALERTMANAGER_PORT}/api/v2/alerts`,
    ]);
  });
});
