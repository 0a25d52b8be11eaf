// TLS to PostgreSQL (POSTGRES_SSL_MODE, POSTGRES_SSL_ROOT_CERT; docs/security.md), against the stack's own
// server, which offers TLS with a certificate of the stack's CA: every client of the product — pg, Prisma's
// adapter, PostgreSQL's tools — encrypts when told to, verifies the server when told to, and refuses a
// server its CA did not sign.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgPool, pgToolConnection } from '../../../src/clients/postgres.ts';
import { ConfigError, parseConfig, rawEnvironment, type Env } from '../../../src/config.ts';
import { createPrisma } from '../../../src/db/prisma.ts';
import { binaries } from '../../../src/stack/install.ts';
import { stackPaths } from '../../../src/stack/paths.ts';
import { stackCaCertificate } from '../../../src/stack/tls.ts';
import { env, otherCa } from '../../helpers.ts';

const run = promisify(execFile);
const stackCa = stackCaCertificate(stackPaths(env));
const sslQuery = 'SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()';

async function session(settings: Partial<Env>): Promise<{ ssl: boolean; version: string | null }> {
  const pool = createPgPool({ ...env, ...settings }, { max: 1 });
  try {
    const { rows } = await pool.query<{ ssl: boolean; version: string | null }>(sslQuery);
    return rows[0]!;
  } finally {
    await pool.end();
  }
}

describe('TLS to PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prism-pg-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('encrypts and verifies the server with verify-full and the CA that signed it', async () => {
    const verified = await session({ POSTGRES_SSL_MODE: 'verify-full', POSTGRES_SSL_ROOT_CERT: stackCa });
    expect(verified.ssl).toBe(true);
    expect(verified.version).toMatch(/^TLSv1\.[23]$/);
    // `require` encrypts without verifying; `disable` (the local default) does not encrypt.
    expect((await session({ POSTGRES_SSL_MODE: 'require' })).ssl).toBe(true);
    expect((await session({ POSTGRES_SSL_MODE: 'disable' })).ssl).toBe(false);
  });

  it('refuses a server that the given CA did not sign', async () => {
    const other = await otherCa(dir);
    await expect(
      session({ POSTGRES_SSL_MODE: 'verify-full', POSTGRES_SSL_ROOT_CERT: other }),
    ).rejects.toThrow(/self[- ]signed|unable to (get|verify)|certificate/i);
  });

  it("takes Prisma's adapter and PostgreSQL's own tools over TLS as well", async () => {
    const tls: Partial<Env> = { POSTGRES_SSL_MODE: 'verify-full', POSTGRES_SSL_ROOT_CERT: stackCa };
    const prisma = createPrisma({ ...env, ...tls }, { poolSize: 1 });
    try {
      const [row] = await prisma.$queryRawUnsafe<{ ssl: boolean }[]>(sslQuery);
      expect(row!.ssl).toBe(true);
    } finally {
      await prisma.$disconnect();
    }
    const psql = pgToolConnection({ ...env, ...tls }, env.POSTGRES_DB);
    const { stdout } = await run(
      join(binaries(stackPaths(env)).postgresBin, 'psql'),
      ['-X', '-At', ...psql.args, '-c', sslQuery],
      { env: { PATH: process.env.PATH, ...psql.env } },
    );
    expect(stdout.trim()).toMatch(/^t\|TLSv1\.[23]$/);
  });

  it('stops start-up when verification is asked for without a CA, naming the variable', () => {
    const raw = { ...rawEnvironment(), POSTGRES_SSL_MODE: 'verify-full', POSTGRES_SSL_ROOT_CERT: '' };
    expect(() => parseConfig(raw)).toThrow(ConfigError);
    expect(() => parseConfig(raw)).toThrow(/POSTGRES_SSL_ROOT_CERT/);
    expect(() => parseConfig({ ...raw, POSTGRES_SSL_ROOT_CERT: join(dir, 'missing.crt') })).toThrow(
      /POSTGRES_SSL_ROOT_CERT.*no such file/,
    );
  });
});
