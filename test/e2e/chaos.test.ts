// `prism chaos` on a scratch stack of its own (temporary data, free ports: the shared services are never
// touched): a representative subset of the faults — PostgreSQL and InfluxDB killed, Redis frozen past its
// clients' timeouts, the worker and the Temporal server killed — each under a steady load, each restarted by the
// stack's own code. Every task submitted around each fault must have ended COMPLETED, once, with its
// history, its Kafka command and answer and its metrics once each: checked here from the stored rows.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../../src/app/index.ts';
import { defaultChaosOptions, runChaos, type ChaosReport } from '../../src/chaos/index.ts';
import { startScratchStack, type ScratchStack } from '../../src/chaos/scratch.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { consoleProgress } from '../../src/progress.ts';

describe('prism chaos on a scratch stack', () => {
  let scratch: ScratchStack | undefined;
  const progress = consoleProgress('chaos test');
  beforeAll(async () => {
    scratch = await startScratchStack(progress);
    await startApp(scratch.env, progress, { processEnv: scratch.processEnv });
  }, 300_000);
  let passed = false;
  afterAll(async () => {
    // A missed bar: its logs outlive the scratch stack, and their errors are shown here (CI keeps only this).
    const logs = await scratch?.stop({ keepLogs: !passed });
    if (!logs) return;
    const errors = readdirSync(logs)
      .filter((f) => f.startsWith('app-'))
      .flatMap((f) =>
        readFileSync(join(logs, f), 'utf8')
          .split('\n')
          .filter((l) => /"level":(50|60)|\b(ERROR|FATAL)\b/.test(l))
          .map((l) => `${f}: ${l.slice(0, 2_000)}`),
      );
    console.error(`chaos test: logs kept in ${logs}; errors in them:\n${errors.slice(-30).join('\n')}`);
  }, 120_000);

  it('loses, repeats, strands and fails nothing when a store, the worker or Temporal goes down', async () => {
    const { env } = scratch!;
    const report: ChaosReport = await runChaos(
      env,
      {
        ...defaultChaosOptions,
        plan: [
          { target: 'postgres', mode: 'kill' },
          { target: 'influxdb', mode: 'kill' },
          { target: 'redis', mode: 'freeze' },
          { target: 'worker', mode: 'kill' },
          // Once counted 7 duplicated metric points: a lost first workflow task re-ran the flow at a later
          // time, and the points took that time (fixed: they take the execution's start from its history).
          { target: 'temporal', mode: 'kill' },
        ],
        concurrency: 6,
        warmupSec: 6,
        killSec: 10,
        freezeSec: 20,
        // The load after each fault, in which throughput must come back: 15 s, under the product's 20 s
        // default. PostgreSQL and Temporal killed have taken 11–11.8 s to it in full runs (README), and a CI
        // run's PostgreSQL (down 12.4 s, beside the README's running system) missed an 8 s window.
        recoverySec: 15,
        settleSec: 120,
        keepData: true,
      },
      progress,
      { processEnv: scratch!.processEnv },
    );
    for (const f of report.faults) {
      expect(f.problems, `${f.mode} ${f.target}: ${JSON.stringify(f.duplicated)}`).toEqual([]);
      expect(f.submitted, `${f.mode} ${f.target}: tasks submitted`).toBeGreaterThan(10);
    }

    // The same, straight from PostgreSQL: every task of the run ended COMPLETED, with each history event
    // once, one plan, one answer.
    const prisma = createPrisma(env);
    try {
      const rows = await prisma.$queryRaw<
        { status: string; tasks: bigint; events: bigint; distinct_events: bigint; answers: bigint }[]
      >`
        SELECT t.status::text, count(DISTINCT t.id) AS tasks, count(h.id) AS events,
               count(DISTINCT (h.task_id, h.event_key)) AS distinct_events,
               count(h.id) FILTER (WHERE h.event_type = 'RESPONSE_RECEIVED') AS answers
        FROM tasks t JOIN task_history h ON h.task_id = t.id
        WHERE t.request_id LIKE ${`chaos-${report.runId}-%`}
        GROUP BY t.status`;
      expect(rows.map((r) => r.status)).toEqual(['COMPLETED']);
      const [done] = rows;
      expect(Number(done!.tasks)).toBe(report.faults.reduce((n, f) => n + f.submitted, 0));
      expect(done!.events).toBe(done!.distinct_events);
      // created, ACTIVE, command sent, answer, COMPLETED: five events per single-step task.
      expect(Number(done!.events)).toBe(5 * Number(done!.tasks));
      expect(Number(done!.answers)).toBe(Number(done!.tasks));
      passed = true;
    } finally {
      await prisma.$disconnect();
    }
  }, 600_000);
});
