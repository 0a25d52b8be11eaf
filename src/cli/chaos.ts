// `prism chaos`: fault injection under a steady load (src/chaos), against the running system or a scratch
// stack of its own.
import type { Command } from 'commander';
import { decimalArg, wholeNumberArg, withTopology } from './args.ts';
import {
  defaultChaosOptions,
  faultTargets,
  formatChaosReport,
  runChaos,
  type ChaosReport,
  type FaultMode,
  type FaultTarget,
} from '../chaos/index.ts';
import { startScratchStack } from '../chaos/scratch.ts';
import { startApp } from '../app/index.ts';
import { loadConfig } from '../config.ts';
import { consoleProgress } from '../progress.ts';

function faultList(v: string): string[] {
  // The cluster topology's targets (nodes, leaders, machines) are checked against it when the run starts.
  if (process.env.PRISM_TOPOLOGY === 'cluster')
    return v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const names = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  // `agents` for the four agents at once.
  const expanded = names.flatMap((n) =>
    n === 'agents' ? faultTargets.filter((t) => t.startsWith('agent-')) : [n],
  );
  const unknown = expanded.filter((n) => !(faultTargets as readonly string[]).includes(n));
  if (unknown.length || expanded.length === 0)
    throw new Error(
      `--faults: unknown ${unknown.join(', ') || '(none given)'}; use ${faultTargets.join(', ')} or agents`,
    );
  return [...new Set(expanded)] as FaultTarget[];
}

export function registerChaosCommand(program: Command): void {
  withTopology(program.command('chaos'))
    .description(
      'kill -9 (and restart) or freeze (SIGSTOP, SIGCONT) each service and process under a steady load, one at a time, ' +
        'and report per fault the tasks lost, duplicated, stuck and failed, the time to recover and the errors users saw; ' +
        'exits 1 unless every fault meets the bar (0 of each)',
    )

    .option(
      '--faults <list>',
      `comma-separated targets (default all): ${faultTargets.join(', ')}, or agents; on the cluster topology ` +
        'nodes (kafka-2), leaders (postgres-leader), machines (machine-3) or processes (worker-1) — by default ' +
        'the leader of each service killed, frozen and cut off, machine 2 killed and machine 3 cut off',
      (v: string) => v,
    )
    .option(
      '--mode <mode>',
      'kill, freeze, partition (cluster topology), both (kill and freeze) or all',
      'both',
    )
    .option(
      '--duration <seconds>',
      'how long a killed target stays down before it is restarted',
      decimalArg(1),
      defaultChaosOptions.killSec,
    )
    .option(
      '--freeze <seconds>',
      'how long a frozen target stays stopped',
      decimalArg(1),
      defaultChaosOptions.freezeSec,
    )
    .option(
      '--concurrency <n>',
      'tasks in flight at once',
      wholeNumberArg(1),
      defaultChaosOptions.concurrency,
    )
    .option(
      '--warmup <seconds>',
      'steady load before each fault',
      decimalArg(3),
      defaultChaosOptions.warmupSec,
    )
    .option(
      '--recovery <seconds>',
      'load after the target is back',
      decimalArg(5),
      defaultChaosOptions.recoverySec,
    )
    .option(
      '--settle <seconds>',
      'a task not ended this long after the load stops is stuck',
      decimalArg(10),
      defaultChaosOptions.settleSec,
    )
    .option(
      '--scratch',
      'run on a throwaway stack of its own (temporary data, free ports), stopped at the end',
    )
    .option('--keep-data', 'keep the chaos tasks in PostgreSQL')
    .option('--json', 'print the report as JSON')
    .action(
      async (opts: {
        faults?: string;
        mode: string;
        duration: number;
        freeze: number;
        concurrency: number;
        warmup: number;
        recovery: number;
        settle: number;
        scratch?: boolean;
        keepData?: boolean;
        json?: boolean;
      }) => {
        if (!['kill', 'freeze', 'partition', 'both', 'all'].includes(opts.mode))
          throw new Error(`--mode must be kill, freeze, partition, both or all, got "${opts.mode}"`);
        const cluster = process.env.PRISM_TOPOLOGY === 'cluster';
        if (opts.mode === 'partition' && !cluster)
          throw new Error('--mode partition needs the cluster topology (--topology cluster)');
        if (cluster && opts.scratch) throw new Error('--scratch runs the single topology only');
        const faults = opts.faults === undefined ? undefined : faultList(opts.faults);
        const modes: FaultMode[] =
          opts.mode === 'both'
            ? ['kill', 'freeze']
            : opts.mode === 'all'
              ? cluster
                ? ['kill', 'freeze', 'partition']
                : ['kill', 'freeze']
              : [opts.mode as FaultMode];
        const progress = consoleProgress('chaos');
        const options = {
          ...defaultChaosOptions,
          faults: cluster ? [] : ((faults ?? [...faultTargets]) as FaultTarget[]),
          // The cluster topology: the targets asked for in each mode, else its default plan.
          ...(cluster && faults
            ? { plan: faults.flatMap((target) => modes.map((mode) => ({ target, mode }))) }
            : {}),
          modes,
          killSec: opts.duration,
          freezeSec: opts.freeze,
          concurrency: opts.concurrency,
          warmupSec: opts.warmup,
          recoverySec: opts.recovery,
          settleSec: opts.settle,
          keepData: opts.keepData,
        };
        const scratch = opts.scratch ? await startScratchStack(progress) : null;
        // Interrupted (Ctrl-C, a CI timeout): the scratch stack is stopped, not left running.
        const interrupted = (signal: NodeJS.Signals) => {
          progress.step(`${signal}: stopping the scratch stack`);
          void (scratch?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
        };
        if (scratch) for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, interrupted);
        let report: ChaosReport | undefined;
        try {
          if (scratch) await startApp(scratch.env, progress, { processEnv: scratch.processEnv });
          report = await runChaos(scratch?.env ?? loadConfig(), options, progress, {
            processEnv: scratch?.processEnv,
          });
        } finally {
          // When the bar is missed (or the run broke off), the logs say why: they outlive the scratch stack.
          const logs = await scratch?.stop({ keepLogs: !report?.ok });
          if (logs) progress.step(`the scratch stack's logs are kept in ${logs}`);
        }
        process.stdout.write(
          opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatChaosReport(report)}\n`,
        );
        if (!report.ok) process.exitCode = 1;
      },
    );
}
