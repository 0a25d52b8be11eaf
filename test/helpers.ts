import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig, type Env } from '../src/config.ts';

export const env: Env = loadConfig();

/** A unique, recognisable id for data a test creates (and later deletes). */
export function testId(prefix: string): string {
  return `test_${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

/**
 * Polls `check` until it returns a value (anything but undefined, null or false) and returns it; fails
 * naming what was awaited.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** `count` TCP ports that were free a moment ago (for a scratch service of a test's own). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/**
 * A self-signed CA of no one the stack knows, made in `dir` with openssl: the certificate a TLS client is
 * given to check that it refuses a server this CA did not sign. Returns the certificate's path.
 */
export async function otherCa(dir: string): Promise<string> {
  const cert = join(dir, 'other-ca.crt');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    join(dir, 'other-ca.key'),
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=Someone else',
  ]);
  return cert;
}

/**
 * A TCP port that is free together with the ports at the given offsets from it (a service that binds
 * several, such as the Temporal server: test/integration/temporal-server.test.ts), in 20000–32000, below
 * Linux's ephemeral range.
 */
export async function freePortWithOffsets(offsets: number[]): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let tries = 0; tries < 200; tries++) {
    const base = 20_400 + Math.floor(Math.random() * 11_000);
    const ports = [base, ...offsets.map((o) => base + o)];
    if ((await Promise.all(ports.map(free))).every(Boolean)) return base;
  }
  throw new Error(`no free port with ports free at offsets ${offsets.join(', ')}`);
}
