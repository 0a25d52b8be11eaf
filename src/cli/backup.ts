// `prism backup run|list|show|verify|restore|drill|schedule`: backups as operators use them. `run` and
// `drill` start the workflows (the maintenance worker does the work; progress follows here and in the Temporal UI);
// `list`, `show`, `verify` and `restore` work straight on the destination and the stores, so that a restore
// needs no running worker, nor a running Temporal. Each subcommand lives in src/cli/backup/<name>.ts.
import type { Command } from 'commander';
import { registerDrill } from './backup/drill.ts';
import { registerList } from './backup/list.ts';
import { registerRestore } from './backup/restore.ts';
import { registerRun } from './backup/run.ts';
import { registerSchedule } from './backup/schedule.ts';
import { registerShow } from './backup/show.ts';
import { registerVerify } from './backup/verify.ts';

export function registerBackupCommands(program: Command): void {
  const backup = program
    .command('backup')
    .description('backups of every store: take, list, check, restore, drill, and their schedules');
  // In this order in `prism backup --help`.
  for (const register of [
    registerRun,
    registerList,
    registerShow,
    registerVerify,
    registerRestore,
    registerDrill,
    registerSchedule,
  ]) {
    register(backup);
  }
}
