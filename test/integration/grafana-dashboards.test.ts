// The Grafana dashboards (stack/grafana/dashboards) against the real services. Grafana itself cannot run
// here (Compose only), so this test does what it would: it reads every panel of every dashboard (panels
// nested in rows too), expands Grafana's macros the way Grafana does for a one-hour range, and runs each
// query on the service its data source names — Prometheus, InfluxDB (InfluxQL) or PostgreSQL — after a
// short load of the tests' deployment. A query that errors or returns nothing fails, named by dashboard,
// panel and query.
//
// What is measured is the tests' own deployment (test/environment.ts): the worker, the API and the four
// reference agents run in this process on that deployment's metrics ports, scraped by a Prometheus of the
// test's own with the product's configuration for it (nativePrometheusConfig: the shared exporters,
// Temporal, Weaviate, InfluxDB, and the application) and the repository's rules, every second.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { runKafkaAgent } from '../../src/agents/kafka-transport.ts';
import { silentLogger } from '../../src/agents/logger.ts';
import { createAgentMetrics } from '../../src/agents/metrics.ts';
import { referenceAgents } from '../../src/agents/reference/index.ts';
import type { RunningAgent } from '../../src/agents/types.ts';
import { startApi, type RunningApi } from '../../src/api/server.ts';
import { createKafka } from '../../src/clients/kafka.ts';
import { createPgPool } from '../../src/clients/postgres.ts';
import { createRedis } from '../../src/clients/redis.ts';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { connectWeaviate } from '../../src/clients/weaviate.ts';
import { serveMetrics } from '../../src/metrics.ts';
import { binaries } from '../../src/stack/install.ts';
import { stackPaths } from '../../src/stack/paths.ts';
import { nativePrometheusConfig } from '../../src/stack/services.ts';
import { sensorReading } from '../../src/stores/influx/points.ts';
import { influxQL } from '../../src/stores/influx/server.ts';
import { createInfluxWriter } from '../../src/stores/influx/writer.ts';
import { createEnvelope } from '../../src/stores/kafka/envelope.ts';
import { createPublisher } from '../../src/stores/kafka/producer.ts';
import { Topic } from '../../src/stores/kafka/topics.ts';
import { keys } from '../../src/stores/redis/keys.ts';
import { collectionName } from '../../src/stores/weaviate/schema.ts';
import { startTask, waitForTask } from '../../src/task/client.ts';
import { agentTypes, workflowIdFor, type AgentType, type TaskOutcome } from '../../src/task/index.ts';
import { startWorker, type RunningWorker } from '../../src/worker/index.ts';
import { asPostgresRole } from '../../src/identity.ts';
import { env, freePorts, testId, waitFor } from '../helpers.ts';

// --- The dashboards and their queries -------------------------------------------------------------------

const dashboardsDir = fileURLToPath(new URL('../../stack/grafana/dashboards/', import.meta.url));
const rulesGlob = join(fileURLToPath(new URL('../../stack/prometheus/rules/', import.meta.url)), '*.yml');

type DataSourceRef = { type?: string; uid?: string } | string | null;
interface TargetJson {
  refId?: string;
  datasource?: DataSourceRef;
  hide?: boolean;
  expr?: string;
  query?: string;
  rawSql?: string;
}
interface PanelJson {
  id?: number;
  type?: string;
  title?: string;
  datasource?: DataSourceRef;
  targets?: TargetJson[];
  panels?: PanelJson[];
}
interface DashboardJson {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: PanelJson[];
}

/** The data sources of stack/grafana/provisioning/datasources/datasources.yml, by uid. */
const sources = { prometheus: 'prometheus', influxdb: 'influxdb', postgres: 'postgres' } as const;
type Source = keyof typeof sources;

interface PanelQuery {
  /** "<dashboard title> › <panel title> › <refId>": what a failure names. */
  name: string;
  source: Source | undefined;
  text: string;
}

const dashboardFiles = readdirSync(dashboardsDir)
  .filter((f) => f.endsWith('.json'))
  .sort();
const dashboards = dashboardFiles.map((file) => ({
  file,
  json: JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as DashboardJson,
}));

/** Every panel that shows data: rows' own panels (a collapsed row holds them) in place of the rows. */
function panelsOf(panels: PanelJson[] = []): PanelJson[] {
  return panels.flatMap((p) => (p.type === 'row' ? panelsOf(p.panels) : [p]));
}

const uidOf = (ref: DataSourceRef | undefined) => (typeof ref === 'string' ? ref : ref?.uid);

function queriesOf(dashboard: DashboardJson, panel: PanelJson): PanelQuery[] {
  return (panel.targets ?? [])
    .filter((t) => !t.hide)
    .map((t) => {
      const uid = uidOf(t.datasource) ?? uidOf(panel.datasource);
      const source = (Object.keys(sources) as Source[]).find((s) => sources[s] === uid);
      return {
        name: `${dashboard.title} › ${panel.title} › ${t.refId}`,
        source,
        text: (source === 'prometheus' ? t.expr : source === 'influxdb' ? t.query : t.rawSql) ?? '',
      };
    });
}

const allQueries = dashboards.flatMap(({ json }) =>
  panelsOf(json.panels).flatMap((panel) => queriesOf(json, panel)),
);

// --- Grafana's macros, as Grafana expands them for the last hour ----------------------------------------

/** About the step Grafana picks for a panel over one hour; as a rate window, it spans sixty 1 s scrapes. */
const interval = '1m';

/** A Grafana variable left in a query after expansion: one this test does not know how to expand. */
const unexpanded = /\$\{?(__)?[A-Za-z]\w*/;

function expand(source: Source, text: string): string {
  switch (source) {
    case 'prometheus':
      return text.replace(/\$__rate_interval|\$__interval|\$__range/g, interval);
    case 'influxdb':
      return text.replace(/\$timeFilter/g, 'time > now() - 1h').replace(/\$__interval|\$interval/g, interval);
    case 'postgres':
      return text
        .replace(/\$__timeGroupAlias\(\s*([^,()]+?)\s*,[^)]*\)/g, "date_trunc('minute', $1) AS time")
        .replace(/\$__timeGroup\(\s*([^,()]+?)\s*,[^)]*\)/g, "date_trunc('minute', $1)")
        .replace(/\$__timeFilter\(\s*([^()]+?)\s*\)/g, "$1 > now() - interval '1 hour'")
        .replace(/\$__timeFrom\(\)/g, "now() - interval '1 hour'")
        .replace(/\$__timeTo\(\)/g, 'now()');
  }
}

// --- The static checks: no service needed ---------------------------------------------------------------

describe('Grafana dashboards: the files', () => {
  it('include the four dashboards, each with a unique uid, a title and a current schema', () => {
    expect(dashboardFiles).toEqual(
      expect.arrayContaining([
        'agent-activity.json',
        'database-performance.json',
        'system-overview.json',
        'task-flow.json',
      ]),
    );
    const uids = dashboards.map((d) => d.json.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const { file, json } of dashboards) {
      expect(json.title, file).toMatch(/\S/);
      expect(json.uid, file).toMatch(/^[a-z0-9-]{1,40}$/);
      expect(json.schemaVersion, file).toBeGreaterThanOrEqual(39);
    }
  });

  it('give every panel at least one query, on a provisioned data source, with unique panel ids', () => {
    const problems: string[] = [];
    for (const { file, json } of dashboards) {
      const ids = new Set<number>();
      const walk = (panels: PanelJson[] = []) => {
        for (const p of panels) {
          if (p.id === undefined || ids.has(p.id))
            problems.push(`${file}: panel "${p.title}" has a missing or repeated id`);
          ids.add(p.id ?? -1);
          walk(p.panels);
        }
      };
      walk(json.panels);
      for (const panel of panelsOf(json.panels)) {
        const queries = queriesOf(json, panel);
        if (queries.length === 0) problems.push(`${json.title} › ${panel.title}: no query`);
        for (const q of queries) {
          if (!q.source)
            problems.push(
              `${q.name}: no data source of datasources.yml (uid prometheus, influxdb or postgres)`,
            );
          else if (!q.text.trim()) problems.push(`${q.name}: the query is empty`);
          else if (unexpanded.test(expand(q.source, q.text)))
            problems.push(`${q.name}: a variable this test cannot expand: ${expand(q.source, q.text)}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

// --- The live checks ------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Prometheus HTTP API answer. */
interface PromAnswer {
  status: 'success' | 'error';
  error?: string;
  data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe('Grafana dashboards: every query against the real services, after a short load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prism-grafana-'));
  const machine = testId('grafana');
  const sensorType = 'spindle_temperature_c';
  const agentIds = agentTypes.map((type) => `grafana-${type.toLowerCase()}-${randomUUID().slice(0, 8)}`);
  const requestIds: string[] = [];
  const pool = createPgPool(env, { max: 2 });
  // The dashboards' queries run as Grafana's PostgreSQL role (prism_monitor), as under Compose.
  const grafanaPool = createPgPool(asPostgresRole(env, 'monitor'), { max: 2 });
  let prometheus: ChildProcess | undefined;
  let prometheusUrl = '';
  let worker: RunningWorker | undefined;
  let api: RunningApi | undefined;
  let temporal: Client | undefined;
  const agents: RunningAgent[] = [];
  const metricsServers: Server[] = [];
  let outcomes: { agentType: AgentType; expected: TaskOutcome['status']; outcome: TaskOutcome }[] = [];

  async function prom(query: string): Promise<PromAnswer> {
    const res = await fetch(`${prometheusUrl}/api/v1/query`, {
      method: 'POST',
      body: new URLSearchParams({ query }),
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await res.json().catch(() => null)) as PromAnswer | null;
    if (!body) throw new Error(`Prometheus answered ${res.status} without JSON`);
    return body;
  }

  /** Series (Prometheus, InfluxDB) or rows (PostgreSQL) the query returns; throws if it errors. */
  async function run(source: Source, text: string): Promise<number> {
    switch (source) {
      case 'prometheus': {
        const answer = await prom(text);
        if (answer.status !== 'success') throw new Error(answer.error ?? 'error');
        return answer.data!.result.length;
      }
      case 'influxdb':
        return (await influxQL(env, text, env.INFLUX_BUCKET.split('/')[0])).length;
      case 'postgres':
        return (await grafanaPool.query(text)).rowCount ?? 0;
    }
  }

  /** Writes the tests' Prometheus configuration: the product's for this deployment, every second. */
  function prometheusConfig(): string {
    const config = parseYaml(nativePrometheusConfig(env)) as Record<string, unknown> & {
      global?: Record<string, unknown>;
    };
    config.global = {
      ...config.global,
      scrape_interval: '1s',
      scrape_timeout: '1s',
      evaluation_interval: '1s',
    };
    config.rule_files = [rulesGlob];
    delete config.alerting;
    return toYaml(config);
  }

  beforeAll(async () => {
    // Prometheus first, so that it sees every counter before the load and the rates cover the load.
    const [port] = (await freePorts(1)) as [number];
    prometheusUrl = `http://127.0.0.1:${port}`;
    writeFileSync(join(dir, 'prometheus.yml'), prometheusConfig());
    const log = openSync(join(dir, 'prometheus.log'), 'a');
    prometheus = spawn(
      binaries(stackPaths(env)).prometheus,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    let spawnError: Error | undefined;
    prometheus.once('error', (err) => (spawnError = err));

    // The application of the tests' deployment, on the ports its Prometheus configuration scrapes.
    // (Each kept as it starts, so that afterAll stops what did start if another fails.)
    await Promise.all([
      startWorker(env, { metricsPort: env.WORKER_METRICS_PORT, log: () => {} }).then((w) => (worker = w)),
      startApi(env, { port: env.API_PORT, logger: false }).then((a) => (api = a)),
      connectTemporal(env).then((c) => (temporal = c)),
    ]);
    await Promise.all(
      agentTypes.map(async (type, i) => {
        const metrics = createAgentMetrics();
        metricsServers.push(
          await serveMetrics(metrics.registry, env.PRISM_BIND_ADDRESS, env.AGENT_METRICS_PORT + i),
        );
        agents.push(
          await runKafkaAgent({
            ...referenceAgents[type],
            env,
            agentId: agentIds[i]!,
            metrics,
            log: silentLogger,
          }),
        );
      }),
    );
    await waitFor(
      'Prometheus to scrape the worker, the API and the four agents',
      async () => {
        const answer = await prom('count(up{job=~"prism-.*"} == 1) == 6').catch(() => null);
        return (answer?.data?.result.length ?? 0) > 0;
      },
      60_000,
      500,
    ).catch((err: Error) => {
      const logText = readFileSync(join(dir, 'prometheus.log'), 'utf8').slice(-2000);
      const why = spawnError
        ? `Prometheus did not start: ${spawnError.message}`
        : `Prometheus's log:\n${logText}`;
      throw new Error(`${err.message}\n${why}`);
    });

    // The load. An hour of steady readings of a machine of this test only (no anomaly: no alert raised).
    const writer = createInfluxWriter(env);
    const now = Date.now();
    for (let i = 0; i < 30; i++) {
      writer.write(
        sensorReading({
          line: 'line-grafana',
          machine,
          sensorType,
          value: 62 + (i % 3) * 0.4,
          unit: 'C',
          quality: 'GOOD',
          time: now - (30 - i) * 60_000,
        }),
      );
    }
    await writer.close();

    // A message the ingress cannot handle: it goes to user.queries.dlq (the panels' dead_lettered).
    const publisher = createPublisher(createKafka(env));
    await publisher.connect();
    try {
      await publisher.publish(
        Topic.UserQueries,
        createEnvelope({ type: 'grafana.dashboard-test', payload: { note: 'dead-lettered on purpose' } }),
      );
    } finally {
      await publisher.disconnect();
    }

    // Tasks of every type, and one that fails (MONITORING of a machine without readings), in two waves
    // with a scrape between them: a labelled counter appears at its first increment, so a rate sees the
    // second wave's increments only (the first one's are its starting value).
    const sensor = { machine, sensorType, since: '-1h' };
    const wave = (n: number) =>
      [
        { agentType: 'MONITORING', parameters: sensor, expected: 'COMPLETED' },
        { agentType: 'PREDICTION', parameters: sensor, expected: 'COMPLETED' },
        {
          agentType: 'CONTROL',
          parameters: { parameter: 'grafana_test_setpoint', setpoint: 100 + n, machine },
          expected: 'COMPLETED',
        },
        { agentType: 'ANALYSIS', parameters: {}, expected: 'COMPLETED' },
        {
          agentType: 'MONITORING',
          parameters: { ...sensor, machine: `${machine}_none` },
          expected: 'FAILED',
        },
      ] as const;
    const runTask = async ({ agentType, parameters, expected }: ReturnType<typeof wave>[number]) => {
      const requestId = testId(`grafana-${agentType.toLowerCase()}`);
      requestIds.push(requestId);
      const { workflowId } = await startTask(temporal!, env, {
        requestId,
        query: `Dashboard test: ${agentType.toLowerCase()} ${machine}`,
        agentType,
        parameters,
      });
      const outcome = await Promise.race([
        waitForTask(temporal!, workflowId),
        sleep(120_000).then(() => {
          throw new Error(`task ${requestId} (${agentType}) did not end within 120 s`);
        }),
      ]);
      return { agentType, expected, outcome };
    };
    const scrapedSince = (seconds: number) =>
      waitFor(
        'Prometheus to scrape the application',
        async () =>
          ((await prom(`min(timestamp(up{job=~"prism-.*"})) > ${seconds}`)).data?.result.length ?? 0) > 0,
        30_000,
        500,
      );
    outcomes = await Promise.all(wave(1).map(runTask));
    await scrapedSince(Math.ceil(Date.now() / 1000));
    outcomes.push(...(await Promise.all(wave(2).map(runTask))));

    // Prometheus has scraped after the load, and the recording rules have counted it.
    const loaded = Math.ceil(Date.now() / 1000);
    const ready = [
      `min(timestamp(up{job=~"prism-.*"})) > ${loaded}`,
      'status:prism_tasks_finished:rate5m{status="FAILED"} > 0',
      'status:prism_tasks_finished:rate5m{status="COMPLETED"} > 0',
      'step:prism_step_duration_seconds:p95_5m',
      'sum(rate(prism_agent_commands_total[1m])) > 0',
    ];
    let waiting = ready;
    await waitFor(
      'Prometheus to scrape the application after the load and the recording rules to count its tasks',
      async () => {
        const empty = await Promise.all(
          waiting.map(async (q) => (((await prom(q)).data?.result.length ?? 0) > 0 ? null : q)),
        );
        waiting = empty.filter((q) => q !== null);
        return waiting.length === 0;
      },
      90_000,
      1_000,
    ).catch((err: Error) => {
      const ended = outcomes.map((o) => `${o.agentType} ${o.outcome.status}`).join(', ');
      throw new Error(`${err.message}: still nothing for ${waiting.join('; ')} (tasks: ${ended})`);
    });
  }, 300_000);

  afterAll(async () => {
    const problems: string[] = [];
    const step = async (what: string, work: () => unknown) => {
      try {
        await work();
      } catch (err) {
        problems.push(`${what}: ${(err as Error).message}`);
      }
    };
    await step('stop the agents', () => Promise.all(agents.map((a) => a.stop())));
    await step('close the agents /metrics servers', () =>
      Promise.all(metricsServers.map((s) => new Promise((resolve) => s.close(resolve)))),
    );
    await step('stop the worker', () => worker?.stop());
    await step('stop the API', () => api?.stop());
    await step('end tasks still running', () =>
      Promise.all(
        requestIds.map((id) =>
          temporal?.workflow
            .getHandle(workflowIdFor(id))
            .terminate('dashboard test cleanup')
            .catch(() => undefined),
        ),
      ),
    );
    await step('close the Temporal client', () => temporal?.connection.close());
    await step('stop Prometheus', () => stopProcess(prometheus));
    await step('delete the tasks and agents', async () => {
      await pool.query('DELETE FROM tasks WHERE request_id = ANY($1)', [requestIds]);
      await pool.query('DELETE FROM agents WHERE id = ANY($1)', [agentIds]);
    });
    await step('delete the Redis keys', async () => {
      const redis = createRedis(env);
      try {
        const lock = `machine.${machine}`;
        await redis.del(
          ...agentIds.map((id) => keys.agentState(id)),
          keys.memory('machines', machine),
          keys.lock(lock),
          keys.lockFence(lock),
        );
        await redis.zrem(keys.agentHeartbeats(), ...agentIds);
        await redis.srem(keys.memoryIndex('machines'), machine);
      } finally {
        redis.disconnect();
      }
    });
    await step('delete the agents Weaviate memory', async () => {
      const weaviate = await connectWeaviate(env);
      try {
        const memory = weaviate.collections.use(
          collectionName('AgentMemory', env.WEAVIATE_COLLECTION_PREFIX),
        );
        const tenants = Object.keys(await memory.tenants.get()).filter((t) => agentIds.includes(t));
        if (tenants.length > 0) await memory.tenants.remove(tenants.map((name) => ({ name })));
      } finally {
        await weaviate.close();
      }
    });
    await step('delete the sensor readings', () =>
      influxQL(
        env,
        `DROP SERIES FROM "sensor_reading" WHERE "machine" = '${machine}'`,
        env.INFLUX_BUCKET.split('/')[0],
      ),
    );
    await step('close the PostgreSQL pools', () => Promise.all([pool.end(), grafanaPool.end()]));
    rmSync(dir, { recursive: true, force: true });
    expect(problems).toEqual([]);
  }, 120_000);

  it('ran the load as planned: every agent type answered, one task failed', () => {
    expect(outcomes.map((o) => `${o.agentType} ${o.outcome.status}`)).toEqual(
      outcomes.map((o) => `${o.agentType} ${o.expected}`),
    );
  });

  // A query may be empty for a moment (a scrape that just failed leaves stale series): each one is given
  // a few seconds to return something. One that errors fails at once.
  for (const q of allQueries) {
    it(q.name, async () => {
      const source = q.source!;
      const text = expand(source, q.text);
      const deadline = Date.now() + 15_000;
      for (;;) {
        let found: number;
        try {
          found = await run(source, text);
        } catch (err) {
          throw new Error(`${q.name}: the ${source} query failed: ${(err as Error).message}\n${text}`);
        }
        if (found > 0) return;
        if (Date.now() > deadline) {
          const what = source === 'postgres' ? 'no row' : 'no series';
          throw new Error(`${q.name}: the ${source} query returned ${what}\n${text}`);
        }
        await sleep(1_000);
      }
    });
  }
});

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
