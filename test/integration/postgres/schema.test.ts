import { afterAll, describe, expect, it } from 'vitest';
import { createPgPool } from '../../../src/clients/postgres.ts';
import { migrate, pendingSchemaChanges, readMigrations } from '../../../src/db/migrate.ts';
import { asPostgresRole } from '../../../src/identity.ts';
import { env, testId } from '../../helpers.ts';

describe('database schema', () => {
  // The schema's owner: the only role that may change it (and read Prisma's bookkeeping).
  const pool = createPgPool(asPostgresRole(env, 'migrator'));
  const cleanup: string[] = [];
  afterAll(async () => {
    for (const sql of cleanup) await pool.query(sql);
    await pool.end();
  });

  it('applies every migration, and a second run applies nothing', async () => {
    await migrate(env);
    expect(await migrate(env)).toEqual([]);
    const { rows } = await pool.query<{ migration_name: string; finished: boolean }>(
      'SELECT migration_name, finished_at IS NOT NULL AS finished FROM _prisma_migrations ORDER BY migration_name',
    );
    const names = readMigrations().migrationDirectories.map((d) => d.path);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    expect(rows.every((r) => r.finished)).toBe(true);
  });

  it('matches prisma/schema.prisma exactly', async () => {
    expect(await pendingSchemaChanges(env)).toBe('');
  });

  it('notices when the database drifts from the schema', async () => {
    const column = testId('drift');
    await pool.query(`ALTER TABLE agents ADD COLUMN ${column} int`);
    cleanup.push(`ALTER TABLE agents DROP COLUMN IF EXISTS ${column}`);
    expect(await pendingSchemaChanges(env)).toContain(`DROP COLUMN "${column}"`);
    await pool.query(`ALTER TABLE agents DROP COLUMN ${column}`);
  });

  it('enforces enum-like columns and ratings in the database itself', async () => {
    await expect(
      pool.query(
        `INSERT INTO tasks (id, request_id, workflow_id, status, updated_at) VALUES (gen_random_uuid(), $1, $1, 'DONE', now())`,
        [testId('bad')],
      ),
    ).rejects.toThrow(/invalid input value for enum "TaskStatus": "DONE"/);
    const requestId = testId('rating');
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO tasks (id, request_id, workflow_id, updated_at) VALUES (gen_random_uuid(), $1, $1, now()) RETURNING id`,
      [requestId],
    );
    cleanup.push(`DELETE FROM tasks WHERE request_id = '${requestId}'`);
    await expect(
      pool.query(
        `INSERT INTO user_feedback (id, task_id, feedback_type, content, satisfaction) VALUES (gen_random_uuid(), $1, 'APPROVAL', 'ok', 9)`,
        [rows[0]!.id],
      ),
    ).rejects.toThrow(/user_feedback_satisfaction_check/);
  });

  it('has the indexes the product queries by', async () => {
    const { rows } = await pool.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'`,
    );
    const defs = rows.map((r) => r.indexdef).join('\n');
    for (const cols of [
      '(user_id, status)',
      '(priority, status, created_at)',
      '(agent_id, status)',
      '(task_id, occurred_at)',
      '(type, status)',
      // Listing tasks (src/stores/postgres/task-list.ts)
      '(created_at, id)',
      '(status, created_at, id)',
      '(user_id, created_at, id)',
      '(priority, created_at, id)',
      'gin (query_text gin_trgm_ops)',
      '(agent_type, plan_id)',
    ]) {
      expect(defs).toContain(cols);
    }
  });
});
