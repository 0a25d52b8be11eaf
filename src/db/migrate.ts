// `prism migrate`: applies prisma/migrations to the product's database (a no-op when up to date), and
// `prism migrate --create <name>` writes the next migration from the difference between the migrated
// database and prisma/schema.prisma.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pgPoolConfig, type PgEnv } from '../clients/postgres.ts';
import { repoRoot } from '../repo.ts';
import type { Env } from '../config.ts';
import { asPostgresRole } from '../identity.ts';
import { grantPrivileges, provisionRoles } from './roles.ts';
import { openSchemaEngine, type EngineHandle } from './schema-engine.ts';
import type { MigrationDirectory } from '@prisma/schema-engine-wasm';

export const schemaPath = join(repoRoot, 'prisma', 'schema.prisma');
export const migrationsDir = join(repoRoot, 'prisma', 'migrations');
const lockfileName = 'migration_lock.toml';
const filters = { externalTables: [], externalEnums: [] };

function schemaFile() {
  return { path: schemaPath, content: readFileSync(schemaPath, 'utf8') };
}

export function readMigrations(dir = migrationsDir) {
  const directories: MigrationDirectory[] = existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort()
        .map((name) => ({
          // The directory *name* (not a path): `_prisma_migrations` then holds what `prisma migrate deploy` writes.
          path: name,
          migrationFile: {
            path: 'migration.sql',
            content: { tag: 'ok' as const, value: readFileSync(join(dir, name, 'migration.sql'), 'utf8') },
          },
        }))
    : [];
  const lockPath = join(dir, lockfileName);
  return {
    baseDir: dir,
    lockfile: { path: lockfileName, content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: directories,
  };
}

async function withEngine<T>(env: PgEnv, work: (handle: EngineHandle) => Promise<T>): Promise<T> {
  const handle = await openSchemaEngine(pgPoolConfig(env), schemaFile());
  try {
    return await work(handle);
  } catch (err) {
    throw handle.explain(err);
  } finally {
    handle.engine.free();
  }
}

/**
 * Applies every migration not yet applied, as the schema's owner (prism_migrator), then grants each role its
 * privileges on the tables; returns the migrations' names (empty when the database is up to date). Where this
 * process holds the bootstrap superuser's password (the stack's setup, an operator), it first creates or
 * updates the roles and the database (stack/postgres/roles.sql): a new deployment's database, such as the
 * tests', needs nothing else.
 */
export async function migrate(env: Env): Promise<string[]> {
  if (env.POSTGRES_PASSWORD) await provisionRoles(env);
  const owner = asPostgresRole(env, 'migrator');
  const applied = await withEngine(owner, async ({ engine }) => {
    const migrationsList = readMigrations();
    if (migrationsList.migrationDirectories.length === 0) {
      throw new Error(`no migrations in ${migrationsDir}: create one with \`prism migrate --create init\``);
    }
    const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList, filters });
    return appliedMigrationNames;
  });
  await grantPrivileges(owner);
  return applied;
}

/**
 * The SQL that would bring the live database to prisma/schema.prisma; empty when they agree. Only the
 * schema is compared (tables, columns, types, indexes, enums, foreign keys), not triggers or CHECKs.
 */
export function pendingSchemaChanges(env: PgEnv): Promise<string> {
  return withEngine(env, async ({ engine }) => {
    const result = await engine.diff({
      from: { tag: 'schemaDatasource', files: [schemaFile()], configDir: repoRoot },
      to: { tag: 'schemaDatamodel', files: [schemaFile()] },
      script: true,
      exitCode: null,
      filters,
    });
    return (result.stdout ?? '').replace(/^-- This is an empty migration\.\s*$/m, '').trim();
  });
}

/** Writes prisma/migrations/<timestamp>_<name>/migration.sql for the difference; returns its path or null. */
export async function createMigration(env: PgEnv, name: string): Promise<string | null> {
  if (!/^[a-z0-9_]+$/.test(name))
    throw new Error(`migration name "${name}": use lower-case letters, digits and _`);
  const empty = readMigrations().migrationDirectories.length === 0;
  const sql = empty
    ? await withEngine(env, async ({ engine }) => {
        const result = await engine.diff({
          from: { tag: 'empty' },
          to: { tag: 'schemaDatamodel', files: [schemaFile()] },
          script: true,
          exitCode: null,
          filters,
        });
        return result.stdout ?? '';
      })
    : await pendingSchemaChanges(env);
  if (!sql.trim() || /^-- This is an empty migration/.test(sql.trim())) return null;
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const dir = join(migrationsDir, `${stamp}_${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'migration.sql'), sql);
  const lock = join(migrationsDir, lockfileName);
  if (!existsSync(lock)) {
    writeFileSync(
      lock,
      '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n',
    );
  }
  return dir;
}
