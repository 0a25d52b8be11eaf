// Least privilege in PostgreSQL (stack/postgres/*.sql, docs/security.md): one role per job, none a superuser.
// Each role does its job and is refused what its job does not need: the agents' role registers and
// heartbeats but reads no user, API key or task content and drops nothing; the application's role changes
// data, never the schema; the monitoring role reads statistics and tables but not the credentials. Tables a
// later migration adds are covered, and a database made before the roles existed is brought to them.
import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgPool, postgresUrl } from '../../../src/clients/postgres.ts';
import { migrate, readMigrations } from '../../../src/db/migrate.ts';
import { createPrisma } from '../../../src/db/prisma.ts';
import { asComponent, asPostgresRole, postgresRoles, type PostgresRole } from '../../../src/identity.ts';
import { recordHeartbeat, registerAgent } from '../../../src/stores/postgres/agents.ts';
import { env, testId } from '../../helpers.ts';

const denied = /permission denied|must be owner/;

describe('PostgreSQL roles', () => {
  const pools = new Map<PostgresRole, pg.Pool>();
  const as = (role: PostgresRole) => {
    if (!pools.has(role)) pools.set(role, createPgPool(asPostgresRole(env, role), { max: 2 }));
    return pools.get(role)!;
  };
  const agentPrisma = createPrisma(asComponent(env, 'agent'), { poolSize: 2 });
  const agentId = `${testId('roles').replaceAll('_', '-')}-agent`;
  const requestId = testId('roles');
  afterAll(async () => {
    await as('app').query('DELETE FROM agents WHERE id = $1', [agentId]);
    await as('app').query('DELETE FROM tasks WHERE request_id = $1', [requestId]);
    await agentPrisma.$disconnect();
    await Promise.all([...pools.values()].map((p) => p.end()));
  });

  it('are not superusers, create no roles, and only the backup role creates databases', async () => {
    const { rows } = await as('app').query<{
      rolname: string;
      rolsuper: boolean;
      rolcreaterole: boolean;
      rolcreatedb: boolean;
      rolreplication: boolean;
      rolbypassrls: boolean;
    }>(
      `SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls
         FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname`,
      [Object.values(postgresRoles).filter(Boolean)],
    );
    expect(rows.map((r) => r.rolname)).toEqual([...Object.values(postgresRoles).filter(Boolean)].sort());
    for (const r of rows) {
      expect(r, r.rolname).toMatchObject({
        rolsuper: false,
        rolcreaterole: false,
        rolreplication: false,
        rolbypassrls: false,
        rolcreatedb: r.rolname === postgresRoles.backup,
      });
    }
    const owner = await as('app').query<{ owner: string }>(
      'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = current_database()',
    );
    expect(owner.rows).toEqual([{ owner: postgresRoles.migrator }]);
  });

  it('lets an agent register, heartbeat, read constraints and record violations, and nothing of the rest', async () => {
    const prisma = agentPrisma;
    await registerAgent(prisma, { id: agentId, name: 'roles test', type: 'CONTROL', transport: 'KAFKA' });
    await recordHeartbeat(prisma, agentId);
    await prisma.agent.updateMany({ where: { id: agentId }, data: { status: 'OFFLINE' } });
    await prisma.constraint.findMany({ where: { isActive: true }, take: 1 });
    const taskId = randomUUID();
    await as('app').query(
      `INSERT INTO tasks (id, request_id, workflow_id, status, priority, updated_at)
       VALUES ($1, $2, $3, 'ACTIVE', 'NORMAL', now())`,
      [taskId, requestId, `task-${requestId}`],
    );
    // Whether a command's task exists: its id, and only its id.
    expect(await prisma.task.findUnique({ where: { id: taskId }, select: { id: true } })).toEqual({
      id: taskId,
    });
    await expect(prisma.task.findUnique({ where: { id: taskId } })).rejects.toThrow(denied);
    const violation = randomUUID();
    await prisma.constraintViolation.upsert({
      where: { id: violation },
      create: {
        id: violation,
        taskId,
        constraintType: 'SAFETY',
        name: 'roles test',
        severity: 'WARNING',
      },
      update: {},
    });

    const agent = as('agent');
    for (const sql of [
      'SELECT * FROM users',
      'SELECT key_hash FROM api_keys',
      'SELECT * FROM user_roles',
      'SELECT query_text FROM user_queries',
      'SELECT * FROM task_history',
      'SELECT result FROM tasks',
      `INSERT INTO tasks (id, request_id, workflow_id, updated_at) VALUES (gen_random_uuid(), 'x', 'x', now())`,
      `DELETE FROM agents WHERE id = '${agentId}'`,
      'DROP TABLE agents',
      'TRUNCATE agents',
      'ALTER TABLE agents ADD COLUMN x int',
      'CREATE TABLE agent_owned (v int)',
      'SELECT * FROM _prisma_migrations',
    ]) {
      await expect(agent.query(sql), sql).rejects.toThrow(denied);
    }
  });

  it('lets the worker and the API change data, never the schema', async () => {
    const app = as('app');
    await app.query('SELECT count(*) FROM users');
    await app.query('SELECT count(*) FROM api_keys');
    for (const sql of [
      'DROP TABLE agents',
      'TRUNCATE agents',
      'ALTER TABLE tasks ADD COLUMN x int',
      'CREATE TABLE app_owned (v int)',
      'CREATE SCHEMA app_owned',
      'SELECT * FROM _prisma_migrations',
      'CREATE ROLE app_made',
      'CREATE DATABASE app_made',
    ]) {
      await expect(app.query(sql), sql).rejects.toThrow(/permission denied|must be owner/);
    }
  });

  it('lets monitoring read statistics and tables, but not the credentials', async () => {
    const monitor = as('monitor');
    const { rows } = await monitor.query<{ n: string }>(
      'SELECT count(*) AS n FROM pg_stat_activity WHERE query IS NOT NULL',
    );
    expect(Number(rows[0]!.n)).toBeGreaterThan(0);
    await monitor.query('SELECT count(*) FROM tasks');
    await monitor.query('SELECT count(*) FROM agents');
    for (const sql of [
      'SELECT * FROM users',
      'SELECT * FROM api_keys',
      'DELETE FROM tasks',
      'UPDATE agents SET name = name',
    ])
      await expect(monitor.query(sql), sql).rejects.toThrow(denied);
  });

  it('gives the application the tables a later migration adds, and agents none of them', async () => {
    const table = testId('later');
    await as('migrator').query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    try {
      await as('app').query(`INSERT INTO ${table} VALUES (1)`);
      expect((await as('app').query(`SELECT id FROM ${table}`)).rows).toEqual([{ id: 1 }]);
      await expect(as('agent').query(`SELECT * FROM ${table}`)).rejects.toThrow(denied);
      await expect(as('app').query(`DROP TABLE ${table}`)).rejects.toThrow(denied);
    } finally {
      await as('migrator').query(`DROP TABLE ${table}`);
    }
  });

  it('refuses connections to the database from any other role', async () => {
    const admin = createPgPool({ ...asPostgresRole(env, 'admin'), POSTGRES_DB: 'postgres' }, { max: 1 });
    const outsider = testId('outsider');
    const password = randomUUID();
    try {
      await admin.query(`CREATE ROLE ${outsider} LOGIN PASSWORD '${password}'`);
      const client = new pg.Client({
        connectionString: postgresUrl({
          ...env,
          POSTGRES_LOGIN_USER: outsider,
          POSTGRES_LOGIN_PASSWORD: password,
        }),
      });
      await expect(client.connect()).rejects.toThrow(/permission denied for database/);
      await client.end().catch(() => undefined);
    } finally {
      await admin.query(`DROP ROLE IF EXISTS ${outsider}`);
      await admin.end();
    }
  });

  it('brings a database made before the roles existed to them (an upgrade)', async () => {
    const database = testId('upgrade');
    const admin = createPgPool({ ...asPostgresRole(env, 'admin'), POSTGRES_DB: 'postgres' }, { max: 1 });
    try {
      // As an earlier version left it: made and migrated by the superuser, who owns the database and
      // everything in it (tables, enum types, the trigger function), with its first migration applied.
      await admin.query(`CREATE DATABASE ${database}`);
      const old = createPgPool({ ...asPostgresRole(env, 'admin'), POSTGRES_DB: database }, { max: 1 });
      const [first, ...later] = readMigrations().migrationDirectories;
      const sql = (first!.migrationFile.content as { value: string }).value;
      try {
        await old.query(`CREATE TABLE _prisma_migrations (
          id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL, finished_at timestamptz,
          migration_name varchar(255) NOT NULL, logs text, rolled_back_at timestamptz,
          started_at timestamptz NOT NULL DEFAULT now(), applied_steps_count integer NOT NULL DEFAULT 0)`);
        await old.query(sql);
        await old.query(
          `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count)
           VALUES ($1, $2, now(), $3, 1)`,
          [randomUUID(), createHash('sha256').update(sql).digest('hex'), first!.path],
        );
        await old.query('CREATE TABLE kept (v text)');
        await old.query("INSERT INTO kept VALUES ('kept')");
      } finally {
        await old.end();
      }
      const upgraded = { ...env, POSTGRES_DB: database };
      expect(await migrate(upgraded)).toEqual(later.map((m) => m.path));
      const owner = createPgPool({ ...asPostgresRole(upgraded, 'migrator') }, { max: 1 });
      const app = createPgPool(upgraded, { max: 1 });
      try {
        const { rows } = await owner.query<{ owner: string; owners: string[] }>(
          // An extension's own objects (pg_trgm's functions, its type and that type's array type) are left
          // out: a trusted extension created by a non-superuser has them owned by the bootstrap superuser,
          // by PostgreSQL's design.
          `SELECT pg_get_userbyid(d.datdba) AS owner,
                  array(SELECT pg_get_userbyid(relowner) FROM pg_class c WHERE relnamespace = 'public'::regnamespace
                          AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = c.oid AND e.deptype = 'e')
                        UNION SELECT pg_get_userbyid(typowner) FROM pg_type t WHERE typnamespace = 'public'::regnamespace
                          AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid IN (t.oid, t.typelem) AND e.deptype = 'e')
                        UNION SELECT pg_get_userbyid(proowner) FROM pg_proc p WHERE pronamespace = 'public'::regnamespace
                          AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = p.oid AND e.deptype = 'e')
                  )::text[] AS owners
             FROM pg_database d WHERE datname = current_database()`,
        );
        expect(rows).toEqual([{ owner: postgresRoles.migrator, owners: [postgresRoles.migrator] }]);
        expect((await app.query('SELECT v FROM kept')).rows).toEqual([{ v: 'kept' }]);
        await app.query('SELECT count(*) FROM tasks');
      } finally {
        await Promise.all([owner.end(), app.end()]);
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  });
});
