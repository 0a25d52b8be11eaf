// `prism bench --priorities HIGH=1,NORMAL=2,LOW=1`: tasks of mixed priorities through the running system, with
// the latency of each priority apart. Tasks are started in an even interleaving of the mix (for 1:2:1:
// HIGH, NORMAL, LOW, NORMAL, ...) and kept `concurrency` in flight, so whenever the system is behind, tasks
// of every priority wait together and the order they are taken in shows in their latencies: on Temporal's
// task queues (priority keys) and, for an agent type with a limit (PRISM_AGENT_LIMITS), at the limiter.
import type { Client } from '@temporalio/client';
import { connectTemporal } from '../clients/temporal.ts';
import type { Env } from '../config.ts';
import type { Progress } from '../progress.ts';
import { startTask, waitForTask } from '../task/client.ts';
import { priorities, type AgentType, type Priority } from '../task/contract.ts';
import { latencyStats, pool, type LatencyStats } from './stats.ts';

export type PriorityMix = Partial<Record<Priority, number>>;

/** `HIGH=1,NORMAL=2,LOW=1`: each priority's share of the tasks (whole numbers 0–100; at least one above 0). */
export function parsePriorityMix(text: string): { mix: PriorityMix } | { problem: string } {
  const mix: PriorityMix = {};
  for (const part of text.split(',')) {
    const m = /^\s*([A-Za-z]+)\s*=\s*(\d+)\s*$/.exec(part);
    const name = m?.[1]?.toUpperCase();
    if (!m || !priorities.includes(name as Priority)) {
      return { problem: `"${part.trim()}" is not PRIORITY=N with PRIORITY one of ${priorities.join(', ')}` };
    }
    const n = Number(m[2]);
    if (n > 100) return { problem: `${name}=${n}: use a share from 0 to 100` };
    if (name! in mix) return { problem: `${name} is named twice` };
    mix[name as Priority] = n;
  }
  if (!Object.values(mix).some((n) => n > 0)) return { problem: 'every share is 0: give one at least 1' };
  return { mix };
}

/** The order tasks are started in: the mix interleaved (1:2:1 gives HIGH, NORMAL, LOW, NORMAL). */
export function priorityPattern(mix: PriorityMix): Priority[] {
  const most = Math.max(...Object.values(mix));
  const pattern: Priority[] = [];
  for (let round = 0; round < most; round++) {
    for (const p of priorities) if ((mix[p] ?? 0) > round) pattern.push(p);
  }
  return pattern;
}

export interface PriorityBenchOptions {
  tasks: number;
  concurrency: number;
  mix: PriorityMix;
  agentType: AgentType;
  parameters: Record<string, unknown>;
}

export interface PriorityBenchReport {
  kind: 'priorities';
  tasks: number;
  concurrency: number;
  agentType: AgentType;
  mix: PriorityMix;
  wallMs: number;
  throughputPerSec: number;
  /** End-to-end latency (start to outcome) of each priority's tasks, in ms. */
  byPriority: Partial<Record<Priority, LatencyStats & { failed: number }>>;
}

export async function runPriorityBench(
  env: Env,
  o: PriorityBenchOptions,
  progress: Progress,
): Promise<PriorityBenchReport> {
  const pattern = priorityPattern(o.mix);
  const runId = Date.now().toString(36);
  const latencies = new Map<Priority, number[]>();
  const failed = new Map<Priority, number>();
  const client: Client = await connectTemporal(env);
  progress.step(`${o.tasks} ${o.agentType} tasks, ${pattern.join('/')} repeated, ${o.concurrency} in flight`);
  const t0 = Date.now();
  try {
    await pool(o.tasks, o.concurrency, async (i) => {
      const priority = pattern[i % pattern.length]!;
      const start = Date.now();
      try {
        const { workflowId } = await startTask(client, env, {
          requestId: `bench-prio-${runId}-${i}`,
          query: `benchmark task ${i} (${priority})`,
          agentType: o.agentType,
          priority,
          parameters: o.parameters,
          agentTimeoutMs: 300_000,
        });
        const outcome = await waitForTask(client, workflowId);
        if (outcome.status !== 'COMPLETED') throw new Error(outcome.error ?? outcome.status);
        latencies.set(priority, [...(latencies.get(priority) ?? []), Date.now() - start]);
      } catch (err) {
        failed.set(priority, (failed.get(priority) ?? 0) + 1);
        if ([...failed.values()].reduce((a, b) => a + b, 0) <= 3)
          progress.step(`task ${i} (${priority}) failed: ${(err as Error).message}`);
      }
    });
  } finally {
    await client.connection.close();
  }
  const wallMs = Date.now() - t0;
  const done = [...latencies.values()].reduce((s, l) => s + l.length, 0);
  const byPriority: PriorityBenchReport['byPriority'] = {};
  for (const p of priorities) {
    if (!pattern.includes(p)) continue;
    byPriority[p] = { ...latencyStats(latencies.get(p) ?? []), failed: failed.get(p) ?? 0 };
  }
  return {
    kind: 'priorities',
    tasks: o.tasks,
    concurrency: o.concurrency,
    agentType: o.agentType,
    mix: o.mix,
    wallMs,
    throughputPerSec: Math.round((done / wallMs) * 1000 * 10) / 10,
    byPriority,
  };
}

export function formatPriorityReport(r: PriorityBenchReport): string {
  const lines = [
    `${r.tasks} ${r.agentType} tasks at concurrency ${r.concurrency}, mix ${Object.entries(r.mix)
      .map(([p, n]) => `${p}=${n}`)
      .join(',')}: ${r.throughputPerSec} tasks/s over ${(r.wallMs / 1000).toFixed(1)} s`,
    'priority  tasks  failed    p50 ms    p95 ms    max ms',
  ];
  for (const [p, s] of Object.entries(r.byPriority)) {
    lines.push(
      `${p.padEnd(8)}  ${String(s.count).padStart(5)}  ${String(s.failed).padStart(6)}  ${String(s.p50).padStart(8)}  ${String(s.p95).padStart(8)}  ${String(s.max).padStart(8)}`,
    );
  }
  return lines.join('\n');
}
