import { resolve } from 'node:path';
import type { Command } from 'commander';
import { agentTypeArg, wholeNumberArg, withTopology } from './args.ts';
import { agentTypes, type AgentType } from '../task/index.ts';
import { loadConfig } from '../config.ts';
import { formatReport, runBench } from '../bench/index.ts';
import { benchParameters } from '../bench/parameters.ts';
import { consoleProgress } from '../progress.ts';
import { benchPriorities, prioritiesOption } from './bench-priorities.ts';
import { formatListReport, runListBench } from '../bench/task-list.ts';

export function registerBenchCommand(program: Command): void {
  withTopology(program.command('bench'))
    .description(
      'run N tasks at concurrency C through the running system (start it with `prism up`) and print throughput and latency',
    )
    .option('--tasks <n>', 'number of tasks', wholeNumberArg(1), 200)
    .option('--concurrency <c>', 'tasks in flight at once', wholeNumberArg(1), 16)
    .option(
      '--warmup <n>',
      'tasks run through Temporal first and not measured (a system just started runs its first few hundred on cold JIT and caches)',
      wholeNumberArg(0),
      0,
    )
    .option('--type <TYPE>', `agent type of the tasks: ${agentTypes.join(', ')}`, agentTypeArg, 'MONITORING')
    .option('--machine <id>', 'machine the MONITORING/PREDICTION agents read', 'cnc-02')
    .option('--no-floor', 'skip the floor measurement (the same store work without Temporal)')
    .option('--no-engine', 'skip the engine measurement (no-op workflows: what Temporal alone costs here)')
    .option(
      '--list-tasks',
      "instead: time filtered pages of `prism task list` / GET /tasks on --list-rows synthetic tasks seeded (and then removed) in the configured PostgreSQL; use the tests' deployment or a scratch database",
    )
    .option('--list-rows <n>', 'tasks --list-tasks seeds', wholeNumberArg(1), 100_000)
    .option('--list-runs <n>', 'timed pages per filter of --list-tasks', wholeNumberArg(1), 30)
    .option(
      '--profile <dir>',
      'write V8 CPU profiles of the task worker and the agent while the tasks run through Temporal (both are restarted for it), and print where their time went',
    )
    .option('--keep-data', 'keep the benchmark tasks in PostgreSQL')
    .option('--json', 'print the report as JSON')
    .option(prioritiesOption.flags, prioritiesOption.description, prioritiesOption.parse)
    .action(
      async (opts: {
        tasks: number;
        concurrency: number;
        warmup: number;
        type: AgentType;
        machine: string;
        floor: boolean;
        engine: boolean;
        keepData?: boolean;
        profile?: string;
        json?: boolean;
        listTasks?: boolean;
        listRows: number;
        listRuns: number;
      }) => {
        if (await benchPriorities(opts as Parameters<typeof benchPriorities>[0])) return;
        if (opts.listTasks) {
          const listReport = await runListBench(
            loadConfig(),
            { tasks: opts.listRows, runs: opts.listRuns, keepData: opts.keepData },
            consoleProgress('bench'),
          );
          process.stdout.write(
            opts.json ? `${JSON.stringify(listReport, null, 2)}\n` : `${formatListReport(listReport)}\n`,
          );
          if (!listReport.pass) process.exitCode = 1;
          return;
        }
        const report = await runBench(
          loadConfig(),
          {
            tasks: opts.tasks,
            concurrency: opts.concurrency,
            warmup: opts.warmup,
            agentType: opts.type,
            parameters: benchParameters(opts.type, opts.machine),
            noFloor: !opts.floor,
            noEngine: !opts.engine,
            keepData: opts.keepData,
            ...(opts.profile ? { profileDir: resolve(opts.profile) } : {}),
          },
          consoleProgress('bench'),
        );
        process.stdout.write(
          opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`,
        );
        if (report.temporal.failed > 0) process.exitCode = 1;
      },
    );
}
