// `prism bench --priorities <mix>`: the option's parsing and its run (src/bench/priorities.ts), apart from the
// other measurements of src/cli/bench.ts.
import { InvalidArgumentError } from 'commander';
import { benchParameters } from '../bench/parameters.ts';
import {
  formatPriorityReport,
  parsePriorityMix,
  runPriorityBench,
  type PriorityMix,
} from '../bench/priorities.ts';
import { loadConfig } from '../config.ts';
import { consoleProgress } from '../progress.ts';
import type { AgentType } from '../task/contract.ts';

export const prioritiesOption = {
  flags: '--priorities <mix>',
  description:
    'instead: tasks of mixed priorities, e.g. HIGH=1,NORMAL=2,LOW=1, with each priority’s latency (p50/p95); --tasks, --concurrency, --type, --machine apply',
  parse: (value: string): PriorityMix => {
    const parsed = parsePriorityMix(value);
    if ('problem' in parsed) throw new InvalidArgumentError(parsed.problem);
    return parsed.mix;
  },
};

/** Runs the priority mix when the option was given; false when it was not. */
export async function benchPriorities(opts: {
  priorities?: PriorityMix;
  tasks: number;
  concurrency: number;
  type: AgentType;
  machine: string;
  json?: boolean;
}): Promise<boolean> {
  if (!opts.priorities) return false;
  const report = await runPriorityBench(
    loadConfig(),
    {
      tasks: opts.tasks,
      concurrency: opts.concurrency,
      mix: opts.priorities,
      agentType: opts.type,
      parameters: benchParameters(opts.type, opts.machine),
    },
    consoleProgress('bench'),
  );
  process.stdout.write(
    opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatPriorityReport(report)}\n`,
  );
  if (Object.values(report.byPriority).some((s) => s.failed > 0)) process.exitCode = 1;
  return true;
}
