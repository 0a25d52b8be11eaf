// The monitoring flow of spec 4.2 end to end, with the real tools: a service stops → Prometheus's alert
// rule fires → Alertmanager notifies the product's webhook → one envelope on `agent.monitoring.alerts` →
// the alert handler → one entry in the Redis alert queue; the service comes back → resolved. The tests run
// a Prometheus and an Alertmanager of their own (fast intervals, a `for:` of 2 s, routed to the tests' API),
// so the stack's own — and a running system's alerts — are left alone.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../src/clients/kafka.ts';
import { createRedis } from '../../src/clients/redis.ts';
import { binaries } from '../../src/stack/install.ts';
import { stackPaths } from '../../src/stack/paths.ts';
import { Topic } from '../../src/stores/kafka/topics.ts';
import { parseAlert, type Alert } from '../../src/stores/redis/alert-schema.ts';
import { keys } from '../../src/stores/redis/keys.ts';
import type { RunningWorker } from '../../src/worker/index.ts';
import { env, freePorts, waitFor } from '../helpers.ts';
import { tailTopic, type TopicTail } from '../integration/agents/support.ts';
import { apiFixture, type ApiFixture } from '../integration/api/fixture.ts';
import { startTestWorker } from './support.ts';

/** A service that Prometheus scrapes: up while it listens. */
function targetServer(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    res
      .writeHead(req.url === '/metrics' ? 200 : 404, { 'content-type': 'text/plain' })
      .end('test_target_up 1\n');
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

function startProcess(command: string, args: string[], logFile: string): ChildProcess {
  const child = spawn('sh', ['-c', `exec "$0" "$@" >> '${logFile}' 2>&1`, command, ...args], {
    stdio: 'ignore',
  });
  return child;
}

const stop = (child: ChildProcess | undefined) =>
  new Promise<void>((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });

describe('monitoring: a service down becomes one alert in the Redis alert queue, and resolves', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prism-monitoring-'));
  const token = randomBytes(24).toString('base64url');
  const redis = createRedis(env);
  const alertName = `TestTargetDown${randomBytes(4).toString('hex')}`;
  let ports: number[];
  let target: Server | undefined;
  let prometheus: ChildProcess;
  let alertmanager: ChildProcess;
  let worker: RunningWorker;
  let api: ApiFixture;
  let envelopes: TopicTail;

  beforeAll(async () => {
    ports = await freePorts(3);
    const [targetPort, prometheusPort, alertmanagerPort] = ports as [number, number, number];
    [worker, api, envelopes] = await Promise.all([
      startTestWorker(),
      apiFixture({ ALERTMANAGER_WEBHOOK_TOKEN: token }),
      tailTopic(createKafka(env), Topic.MonitoringAlerts),
    ]);
    writeFileSync(
      join(dir, 'alertmanager.yml'),
      [
        'route:',
        '  receiver: prism',
        "  group_by: ['alertname']",
        '  group_wait: 1s',
        '  group_interval: 1s',
        '  repeat_interval: 1h',
        'receivers:',
        '  - name: prism',
        '    webhook_configs:',
        `      - url: ${api.baseUrl}/alerts/alertmanager`,
        '        send_resolved: true',
        '        http_config:',
        '          authorization:',
        `            credentials: ${token}`,
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'rules.yml'),
      [
        'groups:',
        '  - name: monitoring-e2e',
        '    rules:',
        `      - alert: ${alertName}`,
        '        expr: up{job="test-target"} == 0',
        '        for: 2s',
        '        labels: { severity: critical }',
        "        annotations: { summary: 'the test target is down' }",
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: ['${join(dir, 'rules.yml')}']`,
        'alerting:',
        '  alertmanagers:',
        `    - static_configs: [{ targets: ['127.0.0.1:${alertmanagerPort}'] }]`,
        'scrape_configs:',
        '  - job_name: test-target',
        `    static_configs: [{ targets: ['127.0.0.1:${targetPort}'] }]`,
        '',
      ].join('\n'),
    );
    target = await targetServer(targetPort);
    alertmanager = startProcess(
      '/usr/bin/prometheus-alertmanager',
      [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'am')}`,
        `--web.listen-address=127.0.0.1:${alertmanagerPort}`,
        '--cluster.listen-address=',
      ],
      join(dir, 'alertmanager.log'),
    );
    prometheus = startProcess(
      binaries(stackPaths(env)).prometheus,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${prometheusPort}`,
      ],
      join(dir, 'prometheus.log'),
    );
    await waitFor(
      'Prometheus to scrape the target',
      async () => {
        const res = await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/query?query=up`).catch(() => null);
        const body = (await res?.json().catch(() => null)) as {
          data?: { result?: { value: [number, string] }[] };
        } | null;
        return body?.data?.result?.[0]?.value[1] === '1';
      },
      60_000,
    );
  }, 120_000);

  afterAll(async () => {
    target?.close();
    await Promise.all([stop(prometheus), stop(alertmanager)]);
    await envelopes?.stop();
    await worker?.stop();
    await api?.close();
    const entries = await entries$();
    if (entries.length) await redis.xdel(keys.alerts(), ...entries.map((e) => e.id));
    const fps = [...new Set(entries.map((e) => e.alert.fingerprint!))];
    for (const fp of fps) await redis.del(keys.memory('alerts', fp));
    if (fps.length) await redis.srem(keys.memoryIndex('alerts'), ...fps);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  /** This test's alert's entries in the Redis alert queue. */
  async function entries$(): Promise<{ id: string; alert: Alert }[]> {
    const all = (await redis.xrange(keys.alerts(), '-', '+')) as [string, string[]][];
    return all
      .map(([id, fields]) => ({ id, alert: parseAlert(JSON.parse(fields[fields.indexOf('alert') + 1]!)) }))
      .filter((e) => e.alert.name === alertName);
  }
  const mine = () => envelopes.envelopes.filter((e) => e.payload.name === alertName);

  it('fires when the service stops: one envelope, one queue entry; resolves when it is back', async () => {
    await new Promise<void>((resolve) => target!.close(() => resolve()));
    target = undefined;
    const raised = await waitFor(
      'the alert in the queue',
      async () => {
        const e = await entries$();
        return e.length > 0 ? e : null;
      },
      60_000,
    );
    expect(raised).toHaveLength(1);
    expect(raised[0]!.alert).toMatchObject({
      name: alertName,
      status: 'FIRING',
      change: 'raised',
      severity: 'CRITICAL',
      source: 'prometheus',
      message: 'the test target is down',
      labels: expect.objectContaining({ job: 'test-target' }),
    });
    expect(mine().filter((e) => e.payload.status === 'FIRING')).toHaveLength(1);

    target = await targetServer(ports[0]!);
    await waitFor('the resolution in the queue', async () => (await entries$()).length === 2, 60_000);
    const [, resolved] = await entries$();
    expect(resolved!.alert).toMatchObject({ name: alertName, status: 'RESOLVED', change: 'resolved' });
    expect(mine().filter((e) => e.payload.status === 'RESOLVED')).toHaveLength(1);
    // Nothing more: Alertmanager's repeats and Kafka's redeliveries change nothing.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await entries$()).toHaveLength(2);
  }, 180_000);
});
