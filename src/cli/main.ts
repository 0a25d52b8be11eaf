// `prism`: the command line of PRISM Orchestration.
import { Command, Option } from 'commander';
import { ConfigError } from '../config.ts';
import { ValidationError } from '../validation.ts';
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
  .configureHelp({ sortSubcommands: true });

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

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof ConfigError || err instanceof ValidationError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  const debug = program.opts().debug;
  process.stderr.write(`prism: ${debug ? ((err as Error).stack ?? String(err)) : (err as Error).message}\n`);
  process.exit(1);
}
