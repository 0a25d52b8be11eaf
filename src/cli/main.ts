// `prism`: the command line of PRISM Orchestration.
import { Command, Option } from 'commander';
import { exitCodeOf, PrismError } from '../errors.ts';
import { registerAgentCommands } from './agent.ts';
import { registerAlertCommands } from './alerts.ts';
import { registerApiCommands } from './api.ts';
import { registerBackupCommands } from './backup.ts';
import { registerBenchCommand } from './bench.ts';
import { registerChaosCommand } from './chaos.ts';
import { registerMigrateCommand } from './migrate.ts';
import { registerProvisionCommand } from './provision.ts';
import { registerStackCommands } from './stack.ts';
import { registerSystemCommands } from './system.ts';
import { registerTaskCommands } from './task.ts';
import { registerWorkerCommand } from './worker.ts';

const program = new Command('prism')
  .description('PRISM Orchestration: durable task orchestration for autonomous-manufacturing AI agents')
  .showHelpAfterError()
  .configureHelp({ sortSubcommands: true })
  // A usage error commander finds (an unknown option, a value an option refuses, a missing required one) is
  // the caller's mistake like any other: exit 2, as below. Commander has printed it; help and --version exit 0.
  // (Set before the commands are added: each inherits it.)
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

registerStackCommands(program);
registerMigrateCommand(program);
registerProvisionCommand(program);
registerWorkerCommand(program);
registerTaskCommands(program);
registerSystemCommands(program);
registerBenchCommand(program);
registerChaosCommand(program);
registerAgentCommands(program);
registerApiCommands(program);
registerAlertCommands(program);
registerBackupCommands(program);

program.addOption(new Option('--debug', 'print stack traces on errors').env('PRISM_DEBUG'));

// The command that runs (`prism backup restore`), so that a failure names the part of prism that failed.
let running = 'prism';
program.hook('preAction', (_program, action) => {
  const names: string[] = [];
  for (let c: Command | null = action; c; c = c.parent) names.unshift(c.name());
  running = names.join(' ');
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Exit code 2: the command or its input is wrong (a PrismError that is the caller's mistake: invalid
  // input or configuration, an unknown id); 1: anything else failed. The code, when there is one, names the
  // kind of failure (docs/errors.md).
  const debug = program.opts().debug;
  const text = debug ? ((err as Error).stack ?? String(err)) : ((err as Error).message ?? String(err));
  const code = err instanceof PrismError ? ` [${err.code}]` : '';
  process.stderr.write(`${running}: ${text}${code}\n`);
  process.exit(exitCodeOf(err));
}
