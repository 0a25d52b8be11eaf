// A restore puts its restored database in the live one's place (swapDatabase, src/backup/stores/postgres.ts),
// as the backup role: it ends the sessions it may end, renames both in one transaction, and whatever happens
// leaves every database accepting connections. A cluster CI run once found a session the role may not end
// (42501) and left the live database refusing every connection for the rest of the run.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { swapDatabase } from '../../../src/backup/stores/postgres.ts';
import { createPgClient } from '../../../src/clients/postgres.ts';
import { asBackup, asPostgresRole } from '../../../src/identity.ts';
import { env, testId } from '../../helpers.ts';

describe('swapping a restored database in', () => {
  const made: string[] = [];
  const superuser = (database: string) =>
    createPgClient({ ...asPostgresRole(env, 'admin'), POSTGRES_DB: database });

  async function admin<T>(work: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = superuser('postgres');
    await c.connect();
    try {
      return await work(c);
    } finally {
      await c.end();
    }
  }

  /** A database owned by the schema's owner, as a restore makes it, holding one row that says which it is. */
  async function database(name: string, says: string): Promise<void> {
    made.push(name);
    await admin((c) => c.query(`CREATE DATABASE "${name}" OWNER prism_migrator`));
    await admin((c) => c.query(`GRANT CONNECT ON DATABASE "${name}" TO prism_backup, prism_app`));
    const c = superuser(name);
    await c.connect();
    try {
      await c.query('CREATE TABLE which (says text)');
      await c.query('INSERT INTO which VALUES ($1)', [says]);
    } finally {
      await c.end();
    }
  }

  /** A live database ('before'), a restored one ('restored') and the name the live one is kept under. */
  async function databases() {
    const id = testId('swap');
    const [live, scratch, kept] = [`${id}_live`, `${id}_scratch`, `${id}_kept`];
    await database(live, 'before');
    await database(scratch, 'restored');
    made.push(kept);
    return { live, scratch, kept };
  }

  async function says(name: string): Promise<string> {
    const c = superuser(name);
    await c.connect();
    try {
      return (await c.query<{ says: string }>('SELECT says FROM which')).rows[0]!.says;
    } finally {
      await c.end();
    }
  }

  const state = (names: string[]) =>
    admin(async (c) => {
      const { rows } = await c.query<{ datname: string; allowed: boolean }>(
        'SELECT datname, datallowconn AS allowed FROM pg_database WHERE datname = ANY($1) ORDER BY datname',
        [names],
      );
      return Object.fromEntries(rows.map((r) => [r.datname, r.allowed]));
    });

  afterAll(async () => {
    for (const name of made) await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  });

  it('ends the application’s sessions and swaps, keeping the live one and letting both be connected to', async () => {
    const { live, scratch, kept } = await databases();
    // An application's session on the live database, idle in its pool.
    const appClient = createPgClient({ ...asPostgresRole(env, 'app'), POSTGRES_DB: live });
    appClient.on('error', () => undefined);
    await appClient.connect();

    await swapDatabase(asBackup(env), live, scratch, kept);
    expect(await says(live)).toBe('restored');
    expect(await says(kept)).toBe('before');
    expect(await state([live, scratch, kept])).toEqual({ [live]: true, [kept]: true });
    await expect(appClient.query('SELECT 1')).rejects.toThrow();
  });

  it('leaves the live database as it was, accepting connections, when a session it may not end stays', async () => {
    const { live, scratch, kept } = await databases();
    // A superuser's session: the backup role (pg_signal_backend) may not end it.
    const held = superuser(live);
    await held.connect();
    try {
      const error = await swapDatabase(asBackup(env), live, scratch, kept).then(
        () => null,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(error?.code).toBe('55006');
      expect(error?.message).toMatch(new RegExp(`${live} and ${scratch} still in use after 3 attempts`));
      expect(error?.message).toMatch(/may not end: pid \d+ in .*_live: a session of /);
      // Nothing changed: the live database is the one it was, and it, and the scratch one, take connections.
      expect(await state([live, scratch, kept])).toEqual({ [live]: true, [scratch]: true });
      expect(await says(live)).toBe('before');
      expect((await held.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n).toBe(1);
    } finally {
      await held.end();
    }
  });
});
