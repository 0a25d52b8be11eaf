// The stack's monitoring on the real native services: each exporter measures its service, Alertmanager runs
// with the API's webhook, and the generated configurations pass Prometheus' and Alertmanager's own checks.
// A scratch Alertmanager (own ports, own data directory) shows that the webhook reaches the API's address
// with the token, without touching the shared one.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createKafka } from '../../src/clients/kafka.ts';
import { parseConfig, rawEnvironment } from '../../src/config.ts';
import { sample } from '../../src/stack/health.ts';
import { binaries } from '../../src/stack/install.ts';
import {
  nativeAlertmanagerConfig,
  nativePrometheusConfig,
  processGroups,
} from '../../src/stack/monitoring.ts';
import { nativeDown, startService } from '../../src/stack/native.ts';
import { ensureDirs, repoRoot, stackPaths } from '../../src/stack/paths.ts';
import { nativeServices } from '../../src/stack/services.ts';
import { commandLine, readPidFile } from '../../src/stack/process.ts';
import { agentTypes } from '../../src/task/contract.ts';
import { silentProgress } from '../../src/progress.ts';
import { env, freePorts, testId, waitFor } from '../helpers.ts';

const run = promisify(execFile);
const paths = stackPaths(env);
const bins = binaries(paths);

async function metrics(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of `metric{labels}` (every given label matching), or undefined. */
function valueOf(text: string, metric: string, labels: Record<string, string> = {}): number | undefined {
  const line = text
    .split('\n')
    .filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `))
    .find((l) => {
      const s = sample(l, metric);
      return s && Object.entries(labels).every(([k, v]) => s.labels[k] === v);
    });
  return line === undefined ? undefined : Number(sample(line, metric)!.value);
}

describe('the exporters', () => {
  it('postgres-exporter reaches PostgreSQL (pg_up 1) and reports its databases', async () => {
    const text = await metrics(env.POSTGRES_EXPORTER_PORT);
    expect(valueOf(text, 'pg_up')).toBe(1);
    expect(valueOf(text, 'pg_stat_database_numbackends', { datname: 'postgres' })).toBeGreaterThanOrEqual(0);
  });

  it('redis-exporter reaches Redis (redis_up 1) and reports its memory limit', async () => {
    const text = await metrics(env.REDIS_EXPORTER_PORT);
    expect(valueOf(text, 'redis_up')).toBe(1);
    // What the RedisMemoryNearMax rule divides by.
    expect(valueOf(text, 'redis_memory_max_bytes')).toBeGreaterThan(0);
    expect(valueOf(text, 'redis_memory_used_bytes')).toBeGreaterThan(0);
  });

  it('node-exporter reports the host’s filesystems', async () => {
    const text = await metrics(env.NODE_EXPORTER_PORT);
    expect(valueOf(text, 'node_filesystem_avail_bytes', { mountpoint: '/' })).toBeGreaterThan(0);
    expect(valueOf(text, 'node_filesystem_size_bytes', { mountpoint: '/' })).toBeGreaterThan(0);
  });

  it('the JMX exporter in the broker counts the messages of each topic, and reports partitions and latency', async () => {
    const topic = `test.${testId('jmx')}`;
    const kafka = createKafka(env);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
      await producer.disconnect();
      const text = await waitFor(
        `kafka_server_brokertopicmetrics_messagesin_total{topic="${topic}"} 3`,
        async () => {
          const t = await metrics(env.KAFKA_JMX_EXPORTER_PORT);
          return valueOf(t, 'kafka_server_brokertopicmetrics_messagesin_total', { topic }) === 3 && t;
        },
        20_000,
        500,
      );
      // Broker-wide too (no topic label).
      const total = /^kafka_server_brokertopicmetrics_messagesin_total (\S+)$/m.exec(text)?.[1];
      expect(Number(total)).toBeGreaterThanOrEqual(3);
      expect(valueOf(text, 'kafka_server_brokertopicmetrics_bytesin_total', { topic })).toBeGreaterThan(0);
      expect(valueOf(text, 'kafka_server_replicamanager_underreplicatedpartitions')).toBe(0);
      expect(valueOf(text, 'kafka_controller_kafkacontroller_activecontrollercount')).toBe(1);
      expect(
        valueOf(text, 'kafka_network_requestmetrics_totaltimems', { request: 'Produce', quantile: '0.99' }),
      ).toBeGreaterThanOrEqual(0);
      expect(
        valueOf(text, 'kafka_network_requestmetrics_requests_total', { request: 'Produce' }),
      ).toBeGreaterThan(0);
      // The agent also reports the broker's JVM.
      expect(valueOf(text, 'jvm_memory_used_bytes', { area: 'heap' })).toBeGreaterThan(0);
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  });

  it('process-exporter names a group for each process of the stack', async () => {
    const text = await metrics(env.PROCESS_EXPORTER_PORT);
    const stack = [
      'postgres',
      'redis',
      'kafka',
      'weaviate',
      'influxdb',
      'prometheus',
      'temporal',
      'alertmanager',
      'postgres-exporter',
      'redis-exporter',
      'node-exporter',
      'process-exporter',
    ];
    for (const groupname of stack) {
      expect(
        valueOf(text, 'namedprocess_namegroup_num_procs', { groupname }),
        groupname,
      ).toBeGreaterThanOrEqual(1);
    }
    // PostgreSQL's backends and background workers count with the server (children join their parent).
    expect(valueOf(text, 'namedprocess_namegroup_num_procs', { groupname: 'postgres' })).toBeGreaterThan(1);
    expect(
      valueOf(text, 'namedprocess_namegroup_cpu_seconds_total', { groupname: 'kafka', mode: 'user' }),
    ).toBeGreaterThan(0);
  });

  it('process-exporter has a group for every native service, matching its running process', () => {
    const groups = processGroups(env, paths);
    expect(groups.map((g) => g.name)).toEqual(expect.arrayContaining(nativeServices.map((s) => s.name)));
    // Checked against the command line itself: a process-exporter started before a service joined the
    // stack (SeaweedFS) has the group from its next start on.
    for (const service of nativeServices) {
      const pid = readPidFile(join(paths.run, `${service.name}.pid`));
      const cmdline = pid === null ? null : commandLine(pid);
      if (cmdline === null) continue;
      const group = groups.find((g) => new RegExp(g.cmdline).test(cmdline));
      expect(group?.name, service.name).toBe(service.name);
    }
  });

  it('process-exporter names the application’s processes: both workers, API and each agent', async () => {
    const groups = processGroups(env, paths).map((g) => g.name);
    expect(groups).toEqual(
      expect.arrayContaining([
        'prism-worker',
        'prism-maintenance-worker',
        'prism-api',
        ...agentTypes.map((t) => `prism-agent-${t.toLowerCase()}`),
      ]),
    );
    // A process with an agent's command line (it does nothing else) is counted in its group.
    const fake = spawn(
      process.execPath,
      ['-e', 'setTimeout(() => {}, 60_000)', 'prism.js', 'agent', 'run', '--type', 'CONTROL'],
      {
        stdio: 'ignore',
      },
    );
    try {
      await waitFor(
        'the prism-agent-control group',
        async () =>
          (valueOf(await metrics(env.PROCESS_EXPORTER_PORT), 'namedprocess_namegroup_num_procs', {
            groupname: 'prism-agent-control',
          }) ?? 0) >= 1,
        10_000,
        500,
      );
    } finally {
      fake.kill();
    }
  });
});

describe('Alertmanager', () => {
  const url = `http://127.0.0.1:${env.ALERTMANAGER_PORT}`;

  it('is ready, alone (no cluster), with the API’s webhook as its receiver', async () => {
    expect((await fetch(`${url}/-/ready`)).status).toBe(200);
    const status = (await (await fetch(`${url}/api/v2/status`)).json()) as {
      cluster: { status: string };
      versionInfo: { version: string };
      config: { original: string };
    };
    expect(status.cluster.status).toBe('disabled');
    const config = parse(status.config.original) as {
      route: Record<string, unknown>;
      receivers: { name: string; webhook_configs: Record<string, unknown>[] }[];
    };
    expect(config.route).toMatchObject({
      receiver: 'prism-api',
      group_by: ['alertname', 'job', 'instance'],
      group_wait: '10s',
      group_interval: '1m',
      repeat_interval: '4h',
    });
    expect(config.receivers).toHaveLength(1);
    const [hook] = config.receivers[0]!.webhook_configs;
    expect(hook).toMatchObject({
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/alerts\/alertmanager$/),
      send_resolved: true,
      http_config: {
        authorization: {
          type: 'Bearer',
          credentials_file: join(paths.data, 'alertmanager', 'webhook-token'),
        },
      },
    });
  });

  it('reads the webhook token from a file only its owner can read', () => {
    const file = join(paths.data, 'alertmanager', 'webhook-token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe(env.ALERTMANAGER_WEBHOOK_TOKEN);
  });

  // A second Alertmanager, made by the same code on ports of its own, sends to a listener that stands in for
  // the API: the notification arrives on the webhook's path with the token as its bearer credentials.
  describe('its webhook', () => {
    const token = randomBytes(32).toString('base64url');
    let scratch: { dir: string; env: ReturnType<typeof parseConfig> };
    let server: ReturnType<typeof createServer>;
    const received: { req: IncomingMessage; body: string }[] = [];

    beforeAll(async () => {
      const [amPort, apiPort] = await freePorts(2);
      const dir = mkdtempSync(join(tmpdir(), 'prism-scratch-alertmanager-'));
      scratch = {
        dir,
        env: parseConfig({
          ...rawEnvironment(),
          PRISM_STACK_DATA: dir,
          ALERTMANAGER_PORT: String(amPort),
          API_PORT: String(apiPort),
          ALERTMANAGER_WEBHOOK_TOKEN: token,
        }),
      };
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          received.push({ req, body });
          res.writeHead(202).end('{}');
        });
      });
      await new Promise<void>((r) => server.listen(apiPort, '127.0.0.1', r));
      const scratchPaths = stackPaths(scratch.env);
      ensureDirs(scratchPaths);
      const alertmanager = nativeServices.find((s) => s.name === 'alertmanager')!;
      await startService(alertmanager, scratch.env, scratchPaths, silentProgress);
    });

    afterAll(async () => {
      if (scratch) {
        await nativeDown(scratch.env, silentProgress);
        rmSync(scratch.dir, { recursive: true, force: true });
      }
      server?.close();
    });

    it('posts each alert to /alerts/alertmanager with `Authorization: Bearer <token>`', async () => {
      const alertname = `PrismWebhookTest_${randomBytes(4).toString('hex')}`;
      const res = await fetch(`http://127.0.0.1:${scratch.env.ALERTMANAGER_PORT}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          { labels: { alertname, job: 'test', instance: 'here', severity: 'warning' }, annotations: {} },
        ]),
      });
      expect(res.status).toBe(200);
      // group_wait is 10 s.
      const { req, body } = await waitFor('the webhook', () => received[0], 30_000, 200);
      expect(req.method).toBe('POST');
      expect(req.url).toBe('/alerts/alertmanager');
      expect(req.headers.authorization).toBe(`Bearer ${token}`);
      const notification = JSON.parse(body) as {
        version: string;
        status: string;
        receiver: string;
        groupLabels: Record<string, string>;
        alerts: { labels: Record<string, string> }[];
      };
      expect(notification).toMatchObject({
        version: '4',
        status: 'firing',
        receiver: 'prism-api',
        groupLabels: { alertname, job: 'test', instance: 'here' },
      });
      expect(notification.alerts.map((a) => a.labels.alertname)).toEqual([alertname]);
    });
  });
});

describe('the generated configurations, checked by the tools themselves', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'prism-monitoring-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('Prometheus’ passes `promtool check config`, with every rule file of the repository', async () => {
    const file = join(dir, 'prometheus.yml');
    writeFileSync(file, nativePrometheusConfig(env));
    const { stdout, stderr } = await run(bins.promtool, ['check', 'config', file]);
    const output = stdout + stderr;
    expect(output).toMatch(/SUCCESS: .*prometheus\.yml is valid prometheus config file syntax/);
    for (const rules of ['alerts.yml', 'recording.yml']) {
      const path = join(repoRoot, 'stack', 'prometheus', 'rules', rules);
      expect(output).toMatch(new RegExp(`Checking ${path}\\n\\s*SUCCESS: [1-9]\\d* rules found`));
    }
  });

  it('Alertmanager’s passes `amtool check-config`', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'x'.repeat(32), { mode: 0o600 });
    const file = join(dir, 'alertmanager.yml');
    writeFileSync(file, nativeAlertmanagerConfig(env, tokenFile));
    const { stdout } = await run(bins.amtool, ['check-config', file]);
    expect(stdout).toMatch(/SUCCESS[\s\S]*- route[\s\S]*- 1 receivers/);
  });

  it('the running ones pass them too', async () => {
    const prometheus = await run(bins.promtool, [
      'check',
      'config',
      join(paths.data, 'prometheus', 'prometheus.yml'),
    ]);
    expect(prometheus.stdout + prometheus.stderr).toMatch(/is valid prometheus config file syntax/);
    const alertmanager = await run(bins.amtool, [
      'check-config',
      join(paths.data, 'alertmanager', 'alertmanager.yml'),
    ]);
    expect(alertmanager.stdout).toMatch(/SUCCESS/);
  });
});
