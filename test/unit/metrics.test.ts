import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.ts';

describe('metrics registry', () => {
  it('exposes default process metrics and the product metrics in the Prometheus text format', async () => {
    const metrics = createMetrics('worker');
    metrics.tasksStarted.inc({ agent_type: 'MONITORING', priority: 'HIGH' });
    metrics.stepDuration.observe({ step: 'createTask', outcome: 'ok' }, 0.042);
    const text = await metrics.registry.metrics();
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).toMatch(
      /prism_tasks_started_total\{agent_type="MONITORING",priority="HIGH",component="worker"\} 1/,
    );
    const bucket = text
      .split('\n')
      .find((l) => l.startsWith('prism_step_duration_seconds_bucket') && l.includes('le="0.05"'));
    expect(bucket).toMatch(/step="createTask"/);
    expect(bucket).toMatch(/component="worker"/);
    expect(bucket).toMatch(/ 1$/);
  });

  it('follows the naming convention', async () => {
    const metrics = createMetrics('api');
    const names = (await metrics.registry.getMetricsAsJSON())
      .map((m) => m.name)
      .filter((n) => n.startsWith('prism_'));
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) expect(name).toMatch(/^prism_[a-z]+(_[a-z]+)*(_total|_seconds|_in_flight)$/);
  });
});
