import pg from 'pg';
import type { Env } from '../config.ts';

/** Where the database is, and the login of this process (its component's role: src/identity.ts). */
export type PgEnv = Pick<
  Env,
  'POSTGRES_HOST' | 'POSTGRES_PORT' | 'POSTGRES_LOGIN_USER' | 'POSTGRES_LOGIN_PASSWORD' | 'POSTGRES_DB'
> &
  Partial<Pick<Env, 'POSTGRES_SSL_MODE' | 'POSTGRES_SSL_ROOT_CERT'>>;

/**
 * The servers of POSTGRES_HOST: one, or a primary and its standbys (comma-separated), in the order given.
 * Every one listens on POSTGRES_PORT.
 */
export function postgresHosts(env: Pick<Env, 'POSTGRES_HOST'>): string[] {
  return env.POSTGRES_HOST.split(',')
    .map((h) => h.trim())
    .filter(Boolean);
}

/**
 * The connection URL of this login. TLS (POSTGRES_SSL_MODE) with libpq's meaning of each mode, which `pg`
 * follows with `uselibpqcompat`: every client of the product (pg, Prisma's adapter, the schema engine) reads
 * its TLS settings from here.
 *
 * With several hosts it is libpq's multi-host URL (`host1:port,host2:port`) with target_session_attrs=read-write,
 * for libpq's clients: `pg` cannot parse it; its clients take pgPoolConfig or createPgClient instead.
 */
export function postgresUrl(env: PgEnv): string {
  const hosts = postgresHosts(env);
  if (hosts.length <= 1) return hostUrl(env, env.POSTGRES_HOST);
  const params = new URLSearchParams({ target_session_attrs: 'read-write' });
  const mode = env.POSTGRES_SSL_MODE ?? 'disable';
  if (mode !== 'disable') params.set('sslmode', mode);
  if (mode !== 'disable' && env.POSTGRES_SSL_ROOT_CERT) params.set('sslrootcert', env.POSTGRES_SSL_ROOT_CERT);
  const servers = hosts.map((h) => `${h}:${env.POSTGRES_PORT}`).join(',');
  return `postgresql://${credentials(env)}@${servers}/${env.POSTGRES_DB}?${params.toString()}`;
}

function credentials(env: PgEnv): string {
  return `${encodeURIComponent(env.POSTGRES_LOGIN_USER)}:${encodeURIComponent(env.POSTGRES_LOGIN_PASSWORD)}`;
}

/** The URL of one server, as `pg` reads it. */
function hostUrl(env: PgEnv, host: string): string {
  const url = `postgresql://${credentials(env)}@${host}:${env.POSTGRES_PORT}/${env.POSTGRES_DB}`;
  const mode = env.POSTGRES_SSL_MODE ?? 'disable';
  if (mode === 'disable') return url;
  const params = new URLSearchParams({ sslmode: mode, uselibpqcompat: 'true' });
  if (env.POSTGRES_SSL_ROOT_CERT) params.set('sslrootcert', env.POSTGRES_SSL_ROOT_CERT);
  return `${url}?${params.toString()}`;
}

/**
 * How PostgreSQL's own tools (psql, pg_dump, pg_restore) reach `database` as this login: their connection
 * arguments, and their environment (the password and TLS settings as libpq's variables, never arguments).
 */
export function pgToolConnection(
  env: Omit<PgEnv, 'POSTGRES_DB'>,
  database: string,
): { args: string[]; env: NodeJS.ProcessEnv } {
  // Several hosts: libpq tries them in turn and keeps the one that takes writes (PGTARGETSESSIONATTRS).
  const several = postgresHosts(env).length > 1;
  return {
    args: [
      '-h',
      several ? postgresHosts(env).join(',') : env.POSTGRES_HOST,
      '-p',
      String(env.POSTGRES_PORT),
      '-U',
      env.POSTGRES_LOGIN_USER,
      '-d',
      database,
    ],
    env: {
      PGPASSWORD: env.POSTGRES_LOGIN_PASSWORD,
      PGCONNECT_TIMEOUT: '10',
      ...pgToolTls(env),
      ...(several ? { PGTARGETSESSIONATTRS: 'read-write' } : {}),
    },
  };
}

/** The same TLS settings for PostgreSQL's own tools (psql, pg_dump, pg_restore), as libpq's variables. */
export function pgToolTls(
  env: Partial<Pick<Env, 'POSTGRES_SSL_MODE' | 'POSTGRES_SSL_ROOT_CERT'>>,
): NodeJS.ProcessEnv {
  return {
    PGSSLMODE: env.POSTGRES_SSL_MODE ?? 'disable',
    ...(env.POSTGRES_SSL_ROOT_CERT ? { PGSSLROOTCERT: env.POSTGRES_SSL_ROOT_CERT } : {}),
  };
}

/**
 * Finds the primary among several servers for the clients of one pool: asks each (in parallel) whether it is
 * in recovery, keeps the answer, and asks again once a client finds it wrong (the server refused the
 * connection, dropped it, or turned out to be a standby). During a failover no server is primary for a few
 * seconds: it asks again every `retryMs` until the caller's deadline.
 */
export class PrimaryLocator {
  private primary: string | null = null;
  private search: Promise<string> | null = null;

  constructor(
    readonly hosts: string[],
    private readonly configOf: (host: string) => pg.ClientConfig,
    private readonly retryMs = 250,
  ) {}

  /** The primary as last found (null: unknown, the next client looks). */
  get current(): string | null {
    return this.primary;
  }

  /** Forgets `host` as the primary (any host when none is given). */
  forget(host?: string): void {
    if (host === undefined || host === this.primary) this.primary = null;
  }

  /** The primary: the one found before, or the first server that answers and is not in recovery. */
  async locate(deadline: number): Promise<string> {
    if (this.primary) return this.primary;
    this.search ??= this.find(deadline).finally(() => (this.search = null));
    return this.search;
  }

  private async find(deadline: number): Promise<string> {
    for (;;) {
      const answers = await Promise.all(this.hosts.map((h) => this.isPrimary(h, deadline)));
      const found = this.hosts.find((_, i) => answers[i] === true);
      if (found) return (this.primary = found);
      if (Date.now() + this.retryMs >= deadline) {
        // SQLSTATE 08001 (the client could not establish a connection): every caller's retry treats it as
        // the transient outage it is (src/retry.ts) — the API answers 503, an activity or an agent retries.
        throw Object.assign(
          new Error(
            `no primary among the PostgreSQL servers ${this.hosts.join(', ')} (POSTGRES_HOST): none is up and ` +
              'taking writes; during a failover one is promoted within seconds, so try again. ' +
              // What each said: a database that refuses connections on every server is not a failover.
              this.hosts.map((h, i) => `${h}: ${answers[i] === false ? 'a standby' : answers[i]}`).join('; '),
          ),
          { code: '08001' },
        );
      }
      await new Promise((r) => setTimeout(r, this.retryMs));
    }
  }

  /** true: the primary; false: a standby; otherwise why it could not say (the server's or the socket's error). */
  private async isPrimary(host: string, deadline: number): Promise<boolean | string> {
    const timeoutMs = Math.max(200, Math.min(2_000, deadline - Date.now()));
    const client = new pg.Client({ ...this.configOf(host), connectionTimeoutMillis: timeoutMs });
    client.on('error', () => undefined); // a server that goes away mid-question is simply not the answer
    try {
      await client.connect();
      const { rows } = await client.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
      return rows[0]?.standby === false;
    } catch (err) {
      const { message, code } = err as { message?: string; code?: string };
      return `${message ?? String(err)}${code ? ` (${code})` : ''}`;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

// Errors that say the server is not (or no longer) the primary: a write on a standby, or a server going
// down. The connection is of no further use and the primary must be found again.
const notPrimaryCodes = new Set(['25006', '57P01', '57P02', '57P03']);

type Callback = (err: Error | null, ...rest: unknown[]) => void;

/**
 * A `pg.Client` that connects to the primary among several servers (`pg` has no multi-host connection
 * strings or target_session_attrs): `pg.Pool` builds its connections with it (its `Client` option). Each new
 * connection is checked (pg_is_in_recovery() false) before it is handed out; one that meets a read-only or
 * shutdown error ends itself, so the pool discards it, and the primary is found again.
 */
export function primaryClient(locator: PrimaryLocator, connectTimeoutMs: number): typeof pg.Client {
  return class PrimaryClient extends pg.Client {
    override connect(): Promise<pg.Client>;
    override connect(callback: (err: Error | null, client?: pg.Client) => void): void;
    override connect(callback?: (err: Error | null, client?: pg.Client) => void): Promise<pg.Client> | void {
      const connecting = this.connectToPrimary().then(() => this);
      if (!callback) return connecting;
      connecting.then((client) => callback(null, client), callback);
    }

    private async connectToPrimary(): Promise<void> {
      const host = await locator.locate(Date.now() + connectTimeoutMs);
      this.host = host;
      // A connection that fails or ends unexpectedly (the server was killed) makes the pool look again.
      this.on('error', () => locator.forget(host));
      this.on('end', () => {
        if (!(this as unknown as { _ending?: boolean })._ending) locator.forget(host);
      });
      try {
        await super.connect();
      } catch (err) {
        locator.forget(host);
        throw err;
      }
      const { rows } = await super.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
      if (rows[0]?.standby !== false) {
        locator.forget(host);
        await this.end().catch(() => undefined);
        // SQLSTATE 08001, as when no primary is found: a transient outage every caller retries (src/retry.ts).
        throw Object.assign(
          new Error(`the PostgreSQL server ${host} is no longer the primary (a failover); try again`),
          { code: '08001' },
        );
      }
    }

    // Every form of query (promise, callback, config object) passes through here; a not-primary error
    // reaches the caller as it is, and the connection ends once the caller has it.
    override query(...args: unknown[]): never {
      const last = args.at(-1);
      if (typeof last === 'function') {
        args[args.length - 1] = (err: Error | null, ...rest: unknown[]) => {
          this.noteError(err);
          (last as Callback)(err, ...rest);
        };
      }
      const result = (super.query as (...a: unknown[]) => unknown).apply(this, args);
      if (result instanceof Promise) result.catch((err: Error) => this.noteError(err));
      return result as never;
    }

    private noteError(err: Error | null): void {
      const code = (err as { code?: string } | null)?.code;
      if (!code || !notPrimaryCodes.has(code)) return;
      locator.forget(this.host);
      setImmediate(() => void this.end().catch(() => undefined));
    }
  };
}

/**
 * The `pg` pool configuration of this login: one server's URL, or, with several, the first one's (for the
 * login, database and TLS) and a client that connects to whichever is the primary (primaryClient). Prisma's
 * adapter takes the same, so every client of the product finds the primary the same way.
 */
export function pgPoolConfig(env: PgEnv, connectTimeoutMs = 5_000): pg.PoolConfig {
  const hosts = postgresHosts(env);
  if (hosts.length <= 1) return { connectionString: postgresUrl(env) };
  const configOf = (host: string): pg.ClientConfig => ({ connectionString: hostUrl(env, host) });
  const locator = new PrimaryLocator(hosts, configOf);
  return {
    ...configOf(hosts[0]!),
    Client: primaryClient(locator, connectTimeoutMs) as unknown as pg.PoolConfig['Client'],
  };
}

/** One client of this login (connect it, then `end()` it), to the primary where there are several servers. */
export function createPgClient(env: PgEnv, config: pg.ClientConfig = {}): pg.Client {
  const timeoutMs = config.connectionTimeoutMillis || 5_000;
  const { Client, ...pool } = pgPoolConfig(env, timeoutMs) as pg.PoolConfig & {
    Client?: typeof pg.Client;
  };
  return new (Client ?? pg.Client)({ ...pool, ...config });
}

/**
 * A connection pool for the product's database. Close it with `end()`.
 *
 * An idle connection that the server drops (a restart, an admin kill) makes `pg` emit `error` on the pool;
 * unhandled, that would crash the process although the pool simply discards the connection and opens a
 * new one on the next query. So the pool reports it (`onIdleError`, by default a warning) and carries on.
 * With several servers (POSTGRES_HOST), it connects to the primary and finds the new one after a failover.
 */
export function createPgPool(
  env: PgEnv,
  options: pg.PoolConfig & { onIdleError?: (err: Error) => void } = {},
): pg.Pool {
  const { onIdleError, ...config } = options;
  const connectionTimeoutMillis = config.connectionTimeoutMillis ?? 5_000;
  const pool = new pg.Pool({
    ...pgPoolConfig(env, connectionTimeoutMillis),
    max: 10,
    connectionTimeoutMillis,
    ...config,
  });
  pool.on(
    'error',
    onIdleError ?? ((err: Error) => console.warn(`postgres: an idle connection was lost (${err.message})`)),
  );
  return pool;
}
