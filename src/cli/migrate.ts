import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { createMigration, migrate, pendingSchemaChanges } from '../db/migrate.ts';
import { consoleProgress } from '../progress.ts';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply the database migrations (prisma/migrations); a no-op when the database is up to date')
    .option('--create <name>', 'write the next migration from prisma/schema.prisma (development)')
    .option(
      '--check',
      'exit 1 when the database differs from prisma/schema.prisma, printing the SQL that would fix it',
    )
    .action(async (opts: { create?: string; check?: boolean }) => {
      const env = loadConfig('migrator');
      const progress = consoleProgress('migrate');
      if (opts.create) {
        const dir = await createMigration(env, opts.create);
        progress.step(
          dir
            ? `wrote ${dir}/migration.sql — review it, then run \`prism migrate\``
            : 'no schema change to migrate',
        );
        return;
      }
      if (opts.check) {
        const sql = await pendingSchemaChanges(env);
        if (sql) {
          process.stdout.write(`${sql}\n`);
          progress.step('the database differs from prisma/schema.prisma (the SQL above would align it)');
          process.exitCode = 1;
        } else progress.step('the database matches prisma/schema.prisma');
        return;
      }
      const applied = await progress.track('Applying migrations', () => migrate(env));
      progress.step(applied.length ? `applied ${applied.join(', ')}` : 'already up to date');
    });
}
