import { describe, expect, it } from 'vitest';
import { env } from '../helpers.ts';

interface Target {
  labels: { job: string };
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

async function activeTargets(): Promise<Target[]> {
  const res = await fetch(`${env.PROMETHEUS_URL}/api/v1/targets?state=active`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { activeTargets: Target[] } }).data.activeTargets;
}

describe('Prometheus', () => {
  it('reports its scrape targets, and scrapes the services that expose metrics', async () => {
    const services = ['prometheus', 'temporal', 'weaviate', 'influxdb'];
    let targets: Target[] = [];
    // A target is "unknown" until its first scrape (the interval is 15 s).
    for (let i = 0; i < 40; i++) {
      targets = await activeTargets();
      const up = targets.filter((t) => services.includes(t.labels.job) && t.health === 'up');
      if (up.length === services.length) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const jobs = Object.fromEntries(targets.map((t) => [t.labels.job, t.health]));
    expect(Object.keys(jobs)).toEqual(expect.arrayContaining([...services, 'prism-api', 'prism-worker']));
    for (const job of services) expect(jobs[job], `${job} target`).toBe('up');
  });

  it('answers PromQL over what it scraped', async () => {
    const res = await fetch(
      `${env.PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent('up{job="prometheus"}')}`,
    );
    const body = (await res.json()) as { status: string; data: { result: { value: [number, string] }[] } };
    expect(body.status).toBe('success');
    expect(body.data.result[0]?.value[1]).toBe('1');
  });
});
