// The native stack's TLS: a CA of the stack's own, made on its first start, and a server certificate it signs
// for each service that offers TLS (PostgreSQL, Redis, Kafka), for 127.0.0.1 and localhost (ECDSA P-256,
// openssl). Clients that ask for TLS verify the servers with the CA's certificate, `<data>/postgres-tls/ca.crt`
// (where the first of them, PostgreSQL's, put it). docs/security.md shows the clients' configuration.
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StackPaths } from './paths.ts';
import { run } from './process.ts';

/** Where the stack's CA lives: its certificate (`ca.crt`) is what clients verify the services with. */
export function stackCaDir(paths: Pick<StackPaths, 'data'>): string {
  return join(paths.data, 'postgres-tls');
}

/** The CA certificate clients verify the native stack's TLS services with. */
export function stackCaCertificate(paths: Pick<StackPaths, 'data'>): string {
  return join(stackCaDir(paths), 'ca.crt');
}

const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
// The services start in parallel: one CA, made once per process.
const making = new Map<string, Promise<{ ca: string; caKey: string }>>();

async function ensureCa(dir: string): Promise<{ ca: string; caKey: string }> {
  const files = { ca: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key') };
  if (existsSync(files.ca) && existsSync(files.caKey)) return files;
  let pending = making.get(dir);
  if (!pending) {
    pending = (async () => {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      await run('openssl', [
        'req',
        '-x509',
        ...ec,
        '-keyout',
        files.caKey,
        '-out',
        files.ca,
        '-days',
        '3650',
        '-subj',
        '/CN=PRISM stack PostgreSQL CA',
      ]);
      return files;
    })();
    making.set(dir, pending);
  }
  try {
    return await pending;
  } finally {
    making.delete(dir);
  }
}

export interface ServerTls {
  cert: string;
  key: string;
  ca: string;
}

/**
 * A certificate and its key (`files.key`: PKCS#8, ECDSA P-256) for `commonName`, signed by the stack's CA
 * (made if need be), with these X.509 v3 extensions (openssl's `-extfile` syntax, one per line).
 */
export async function issueCertificate(
  paths: Pick<StackPaths, 'data'>,
  files: { cert: string; key: string },
  options: { commonName: string; extensions: string; days: number },
): Promise<void> {
  const { ca, caKey } = await ensureCa(stackCaDir(paths));
  const csr = `${files.cert}.csr`;
  const ext = `${files.cert}.ext`;
  await run('openssl', [
    'req',
    ...ec,
    '-keyout',
    files.key,
    '-out',
    csr,
    '-subj',
    `/CN=${options.commonName}`,
  ]);
  writeFileSync(ext, `${options.extensions}\n`);
  try {
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca,
      '-CAkey',
      caKey,
      // A random serial of its own (no shared serial file: certificates are issued in parallel).
      '-set_serial',
      `0x${randomBytes(16).toString('hex')}`,
      '-out',
      files.cert,
      '-days',
      String(options.days),
      '-extfile',
      ext,
    ]);
  } finally {
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
}

/**
 * A server certificate for 127.0.0.1 and localhost in `dir` (`server.crt`, `server.key`: a PKCS#8 key, 0600),
 * signed by the stack's CA; made once. `owner`: the user the service runs as (it reads its key only if no one
 * else may).
 */
export async function ensureServerTls(
  paths: Pick<StackPaths, 'data'>,
  dir: string,
  owner?: { uid: number; gid: number },
): Promise<ServerTls> {
  const files = {
    cert: join(dir, 'server.crt'),
    key: join(dir, 'server.key'),
    ca: stackCaCertificate(paths),
  };
  if (existsSync(files.cert) && existsSync(files.key)) return files;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await issueCertificate(paths, files, {
    commonName: '127.0.0.1',
    extensions: 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth',
    days: 825,
  });
  for (const file of [files.key, files.cert]) if (owner) chownSync(file, owner.uid, owner.gid);
  if (owner) chownSync(dir, owner.uid, owner.gid);
  return files;
}
