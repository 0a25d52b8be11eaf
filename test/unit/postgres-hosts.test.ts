// POSTGRES_HOST as one server or several (src/clients/postgres.ts): one host gives exactly the URL and tool
// arguments it always did; several give libpq's multi-host form with target_session_attrs=read-write, and a
// pg pool configuration whose client finds the primary.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  createPgClient,
  pgPoolConfig,
  pgToolConnection,
  postgresHosts,
  postgresUrl,
  PrimaryLocator,
  type PgEnv,
} from '../../src/clients/postgres.ts';
import { patroniConfig } from '../../src/stack/services/postgres-cluster.ts';
import { transientReason } from '../../src/retry.ts';
import type { Env } from '../../src/config.ts';
import type { StackPaths } from '../../src/stack/paths.ts';

const login: PgEnv = {
  POSTGRES_HOST: '127.0.0.1',
  POSTGRES_PORT: 15432,
  POSTGRES_LOGIN_USER: 'prism_app',
  POSTGRES_LOGIN_PASSWORD: 'p@ss/word',
  POSTGRES_DB: 'prism_orchestration',
};
const cluster: PgEnv = { ...login, POSTGRES_HOST: '127.0.1.1,127.0.1.2,127.0.1.3' };

describe('postgresHosts', () => {
  it('lists the servers in order, without blanks or spaces', () => {
    expect(postgresHosts(login)).toEqual(['127.0.0.1']);
    expect(postgresHosts({ POSTGRES_HOST: 'db-a, db-b,,db-c' })).toEqual(['db-a', 'db-b', 'db-c']);
  });
});

describe('postgresUrl', () => {
  it('is unchanged for one host', () => {
    expect(postgresUrl(login)).toBe(
      'postgresql://prism_app:p%40ss%2Fword@127.0.0.1:15432/prism_orchestration',
    );
    expect(
      postgresUrl({ ...login, POSTGRES_SSL_MODE: 'verify-full', POSTGRES_SSL_ROOT_CERT: '/ca.crt' }),
    ).toBe(
      'postgresql://prism_app:p%40ss%2Fword@127.0.0.1:15432/prism_orchestration' +
        '?sslmode=verify-full&uselibpqcompat=true&sslrootcert=%2Fca.crt',
    );
  });

  it("is libpq's multi-host URL, asking for the server that takes writes, for several", () => {
    expect(postgresUrl(cluster)).toBe(
      'postgresql://prism_app:p%40ss%2Fword@127.0.1.1:15432,127.0.1.2:15432,127.0.1.3:15432/prism_orchestration' +
        '?target_session_attrs=read-write',
    );
    const tls = postgresUrl({ ...cluster, POSTGRES_SSL_MODE: 'require' });
    expect(new URLSearchParams(tls.split('?')[1]).get('sslmode')).toBe('require');
    // libpq refuses parameters it does not know: pg's own switch stays out of the multi-host form.
    expect(tls).not.toContain('uselibpqcompat');
  });
});

describe('pgToolConnection', () => {
  it('is unchanged for one host', () => {
    const c = pgToolConnection(login, 'postgres');
    expect(c.args).toEqual(['-h', '127.0.0.1', '-p', '15432', '-U', 'prism_app', '-d', 'postgres']);
    expect(c.env).toEqual({ PGPASSWORD: 'p@ss/word', PGCONNECT_TIMEOUT: '10', PGSSLMODE: 'disable' });
  });

  it('gives libpq every host and asks for the read-write one', () => {
    const c = pgToolConnection(cluster, 'postgres');
    expect(c.args.slice(0, 4)).toEqual(['-h', '127.0.1.1,127.0.1.2,127.0.1.3', '-p', '15432']);
    expect(c.env.PGTARGETSESSIONATTRS).toBe('read-write');
  });
});

describe('pgPoolConfig', () => {
  it("is one server's URL and pg's own client for one host", () => {
    expect(pgPoolConfig(login)).toEqual({ connectionString: postgresUrl(login) });
    expect(createPgClient(login)).toBeInstanceOf(pg.Client);
    expect(createPgClient(login).constructor).toBe(pg.Client);
  });

  it('connects with a client that finds the primary for several', () => {
    const config = pgPoolConfig(cluster);
    expect(config.Client).toBeDefined();
    expect(config.Client).not.toBe(pg.Client);
    // the login, database and TLS as the first server's URL says; the client picks the host
    expect(config.connectionString).toBe(postgresUrl({ ...cluster, POSTGRES_HOST: '127.0.1.1' }));
    const client = createPgClient(cluster);
    expect(client).toBeInstanceOf(pg.Client);
    expect(client.constructor).not.toBe(pg.Client);
  });
});

describe('PrimaryLocator', () => {
  it('forgets the primary only when told about that one (or any)', async () => {
    const locator = new PrimaryLocator(['a', 'b'], () => ({}));
    (locator as unknown as { primary: string }).primary = 'b';
    expect(await locator.locate(Date.now() + 1_000)).toBe('b');
    locator.forget('a');
    expect(locator.current).toBe('b');
    locator.forget('b');
    expect(locator.current).toBeNull();
  });
});

describe("Patroni's configuration", () => {
  const machines = [1, 2, 3].map((index) => ({ index, address: `127.0.1.${index}` }));
  const config = patroniConfig(
    { POSTGRES_PORT: 15432, POSTGRES_PASSWORD: 'secret-superuser' } as Env,
    { data: '/d', bin: '/b', lib: '/l' } as StackPaths,
    {
      name: 'postgres-2',
      dataDir: '/d/postgres-2',
      machine: machines[1]!,
      machines,
      tls: '/d/postgres-2/tls',
    },
  );

  it("binds the node to its machine's address and knows every etcd member", () => {
    expect(config).toMatchObject({
      name: 'postgres-2',
      restapi: { listen: '127.0.1.2:18008' },
      etcd3: { hosts: ['127.0.1.1:12379', '127.0.1.2:12379', '127.0.1.3:12379'] },
      postgresql: { listen: '127.0.1.2:15432', connect_address: '127.0.1.2:15432' },
    });
  });

  it('makes commits wait for a standby, and holds no secret', () => {
    expect(config).toMatchObject({ bootstrap: { dcs: { synchronous_mode: true } } });
    expect(JSON.stringify(config)).not.toContain('secret-superuser');
  });
});

describe('PrimaryLocator', () => {
  it('says no primary was found as a transient outage (a failover), which every caller retries', async () => {
    // Nothing listens on port 1: no server answers, as while Patroni promotes a standby.
    const locator = new PrimaryLocator(['127.0.0.1', '127.0.0.2'], (host) => ({ host, port: 1 }), 50);
    const err = await locator.locate(Date.now() + 300).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/no primary among the PostgreSQL servers 127\.0\.0\.1, 127\.0\.0\.2/);
    expect(transientReason(err)).toBeDefined();
  });
});
