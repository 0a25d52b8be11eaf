// `prism bench --list-tasks`: how fast a filtered page of tasks is (GET /tasks, `prism task list`) on a
// table of many tasks. It seeds N synthetic tasks (request ids `bench-list-<runId>-<i>`, users of their own)
// into the configured deployment's PostgreSQL (run it against the tests' deployment or a scratch database),
// waits for fresh statistics, times each filter's page through the same code the API runs (listTasks),
// checks with EXPLAIN that no page reads a whole table, and removes its rows.
import { hostname, availableParallelism, cpus } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Env } from '../config.ts';
import { createPrisma, type PrismaClient } from '../db/prisma.ts';
import { asPostgresRole } from '../identity.ts';
import { createPgClient } from '../clients/postgres.ts';
import {
  countTasks,
  createNamedUsers,
  deleteTaskBatch,
  deleteUsers,
  explainTaskList,
  insertSyntheticTasks,
  rowsSinceAnalyze,
} from '../stores/postgres/task-list.ts';
import { listTasks, storeFilter, taskListQuery, type TaskListQuery } from '../task/list.ts';
import type { Progress } from '../progress.ts';
import { latencyStats, type LatencyStats } from './stats.ts';

export interface ListBenchOptions {
  /** Synthetic tasks to seed. */
  tasks: number;
  /** Timed pages per filter. */
  runs: number;
  keepData?: boolean;
}

export interface ListScenario {
  name: string;
  /** The query string's filters (as GET /tasks takes them). */
  filters: TaskListQuery;
  /** How many pages deep the timed page is (1: the first). */
  depth: number;
  rows: number;
  latency: LatencyStats;
  /** The indexes the plan used, and the tables it read whole (none, for a pass). */
  indexes: string[];
  seqScans: string[];
}

export interface ListBenchReport {
  runId: string;
  date: string;
  machine: string;
  seeded: number;
  tableRows: number;
  seedMs: number;
  scenarios: ListScenario[];
  /** Every timed page of every scenario together. */
  overall: LatencyStats;
  pass: boolean;
}

const tables = ['tasks', 'user_queries', 'execution_plans', 'agent_subtasks'];

/** What a JSON plan did: the indexes it used and the tables it scanned whole. */
function planNodes(plan: unknown): { indexes: Set<string>; seqScans: Set<string> } {
  const indexes = new Set<string>();
  const seqScans = new Set<string>();
  const walk = (node: Record<string, unknown>) => {
    if (typeof node['Index Name'] === 'string') indexes.add(node['Index Name']);
    if (node['Node Type'] === 'Seq Scan' && typeof node['Relation Name'] === 'string')
      seqScans.add(node['Relation Name']);
    for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
  };
  for (const top of (plan as { Plan: Record<string, unknown> }[]) ?? []) walk(top.Plan);
  return { indexes, seqScans };
}

/** Statistics as fresh as the table: ANALYZE as the schema's owner where this process may, else autovacuum's. */
async function freshStatistics(env: Env, prisma: PrismaClient, progress: Progress): Promise<void> {
  try {
    const owner = createPgClient(asPostgresRole(env, 'migrator'));
    await owner.connect();
    try {
      await owner.query(`ANALYZE ${tables.join(', ')}`);
      return;
    } finally {
      await owner.end();
    }
  } catch (err) {
    progress.step(`cannot ANALYZE as the schema's owner (${(err as Error).message}): waiting for autovacuum`);
  }
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    const pending = await rowsSinceAnalyze(prisma, tables);
    if (pending < 1_000) return;
    progress.step(`waiting for autovacuum to analyse ${pending} changed rows`);
    await new Promise((r) => setTimeout(r, 5_000));
  }
}

export async function runListBench(
  env: Env,
  o: ListBenchOptions,
  progress: Progress,
): Promise<ListBenchReport> {
  const runId = randomUUID().slice(0, 8);
  const prefix = `bench-list-${runId}-`;
  const prisma = createPrisma(env, { poolSize: 4 });
  const userIds: string[] = [];
  try {
    userIds.push(...(await createNamedUsers(prisma, prefix, 20)));
    const until = new Date();
    const spanMs = 30 * 24 * 3600 * 1000;
    const batch = 10_000;
    const seedStart = Date.now();
    for (let from = 0; from < o.tasks; from += batch) {
      const to = Math.min(o.tasks, from + batch);
      await insertSyntheticTasks(prisma, { prefix, from, to, until, spanMs, userIds });
      progress.step(`seeded ${to}/${o.tasks} tasks`);
    }
    const seedMs = Date.now() - seedStart;
    await freshStatistics(env, prisma, progress);
    const tableRows = await countTasks(prisma);

    const day = (daysAgo: number) => new Date(until.getTime() - daysAgo * 86_400_000).toISOString();
    const cases: { name: string; filters: TaskListQuery; depth?: number }[] = [
      { name: 'no filter', filters: {} },
      { name: 'status=FAILED', filters: { status: 'FAILED' } },
      { name: 'agentType=CONTROL', filters: { agentType: 'CONTROL' } },
      { name: 'priority=HIGH,status=COMPLETED', filters: { priority: 'HIGH', status: 'COMPLETED' } },
      { name: 'userId', filters: { userId: userIds[3] } },
      { name: 'one day (createdFrom/To)', filters: { createdFrom: day(15), createdTo: day(14) } },
      { name: 'q=cnc-17', filters: { q: 'cnc-17' } },
      { name: 'q=spindle,status=FAILED', filters: { q: 'spindle', status: 'FAILED' } },
      {
        name: 'status=FAILED,agentType=ANALYSIS,priority=LOW',
        filters: { status: 'FAILED', agentType: 'ANALYSIS', priority: 'LOW' },
      },
      { name: 'q matching nothing', filters: { q: 'no such machine' } },
      { name: 'status=COMPLETED, page 20', filters: { status: 'COMPLETED' }, depth: 20 },
    ];
    const scenarios: ListScenario[] = [];
    const all: number[] = [];
    for (const c of cases) {
      let params = taskListQuery.parse({ limit: 50, ...c.filters });
      // Walk to the page to time (its cursor), untimed.
      for (let page = 1; page < (c.depth ?? 1); page++) {
        const { nextCursor } = await listTasks({ prisma, env }, params);
        if (!nextCursor) break;
        params = taskListQuery.parse({ limit: 50, ...c.filters, cursor: nextCursor });
      }
      const { indexes, seqScans } = planNodes(await explainTaskList(prisma, storeFilter(params)));
      const samples: number[] = [];
      let rows = 0;
      for (let r = 0; r < o.runs + 2; r++) {
        const t0 = performance.now();
        const page = await listTasks({ prisma, env }, params);
        const ms = performance.now() - t0;
        rows = page.tasks.length;
        if (r >= 2) samples.push(Math.round(ms * 10) / 10); // the first two warm the cache and the plan
      }
      all.push(...samples);
      const latency = latencyStats(samples);
      scenarios.push({
        name: c.name,
        filters: c.filters,
        depth: c.depth ?? 1,
        rows,
        latency,
        indexes: [...indexes].sort(),
        seqScans: [...seqScans].sort(),
      });
      progress.step(
        `${c.name}: ${rows} rows, p50 ${latency.p50} ms, p95 ${latency.p95} ms` +
          (seqScans.size ? `, reads whole: ${[...seqScans].join(', ')}` : ''),
      );
    }
    const overall = latencyStats(all);
    return {
      runId,
      date: until.toISOString().slice(0, 10),
      machine: `${hostname()}: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'})`,
      seeded: o.tasks,
      tableRows,
      seedMs,
      scenarios,
      overall,
      pass: scenarios.every((s) => s.seqScans.length === 0 && s.latency.p95 < 100),
    };
  } finally {
    if (!o.keepData) {
      progress.step('removing the benchmark tasks');
      while ((await deleteTaskBatch(prisma, prefix, 5_000)) > 0) {
        /* batch after batch */
      }
      await deleteUsers(prisma, userIds);
    }
    await prisma.$disconnect();
  }
}

export function formatListReport(r: ListBenchReport): string {
  const width = Math.max(...r.scenarios.map((s) => s.name.length));
  return [
    `prism bench --list-tasks (${r.date}, ${r.machine})`,
    `  ${r.seeded} tasks seeded in ${(r.seedMs / 1000).toFixed(1)} s; the table holds ${r.tableRows}`,
    `  a page of 50, newest first (ms):`,
    ...r.scenarios.map(
      (s) =>
        `  ${s.name.padEnd(width)}  p50 ${String(s.latency.p50).padStart(6)}  p95 ${String(s.latency.p95).padStart(6)}  ` +
        `rows ${String(s.rows).padStart(2)}  ${s.seqScans.length ? `READS WHOLE ${s.seqScans.join(', ')}` : `indexes: ${s.indexes.join(', ')}`}`,
    ),
    `  every page: p50 ${r.overall.p50} ms, p95 ${r.overall.p95} ms, max ${r.overall.max} ms (${r.overall.count} pages)`,
    `  ${r.pass ? 'PASS' : 'FAIL'}: every filter's p95 under 100 ms and no table read whole`,
  ].join('\n');
}
