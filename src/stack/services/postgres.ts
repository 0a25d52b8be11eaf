// PostgreSQL, natively: its cluster (initdb as the bootstrap superuser), TLS and tuning on pg_ctl's command line,
// and the product's roles and database once it is ready.
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { provisionRoles, rolesUpToDate } from '../../db/roles.ts';
import { binaries } from '../install.ts';
import { commandLine, isAlive, readPidFile, run } from '../process.ts';
import type { NativeService } from '../services.ts';
import { ensureServerTls, stackCaDir } from '../tls.ts';

/** As root, the `postgres` OS user that PostgreSQL runs as (it refuses root); nothing when not root. */
export function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line)
    throw new Error('PostgreSQL refuses to run as root and there is no `postgres` user to run it as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export const postgres: NativeService = {
  name: 'postgres',
  serves: ['postgres'],
  marker: 'postgres',
  ports: (env) => [env.POSTGRES_PORT],
  stopSignal: 'SIGINT', // "fast" shutdown: SIGTERM would wait for every client to disconnect
  async start({ env, paths, dataDir, logFile, pidFile }) {
    const bin = binaries(paths).postgresBin;
    const owner = postgresUser();
    const chown = (path: string) => owner && chownSync(path, owner.uid, owner.gid);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chown(dataDir);
    if (!existsSync(logFile)) writeFileSync(logFile, '');
    chown(logFile);
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      if (!env.POSTGRES_PASSWORD) throw new Error('POSTGRES_PASSWORD (the bootstrap superuser) is not set');
      const pwfile = join(dataDir, '..', `.pg-pw-${process.pid}`);
      writeFileSync(pwfile, `${env.POSTGRES_PASSWORD}\n`, { mode: 0o600 });
      chown(pwfile);
      try {
        await run(
          join(bin, 'initdb'),
          [
            '-D',
            dataDir,
            '-U',
            env.POSTGRES_USER,
            `--pwfile=${pwfile}`,
            '--auth=scram-sha-256',
            '-E',
            'UTF8',
            '--locale=C.UTF-8',
          ],
          owner ?? {},
        );
      } finally {
        rmSync(pwfile, { force: true });
      }
    }
    // A postmaster.pid left by a killed server blocks a new one only when its pid is alive again as
    // something else; remove it when it does not name a running postgres.
    const lock = join(dataDir, 'postmaster.pid');
    const stale = readPidFile(lock);
    if (stale !== null && !(isAlive(stale) && commandLine(stale)?.includes('postgres')))
      rmSync(lock, { force: true });
    // PostgreSQL offers TLS to every client that asks for it (POSTGRES_SSL_MODE); the local default does not.
    const tls = await ensureServerTls(paths, stackCaDir(paths), owner);
    const options = [
      `-p ${env.POSTGRES_PORT}`,
      `-k ${dataDir}`,
      `-c listen_addresses=${env.PRISM_BIND_ADDRESS}`,
      // TLS for the clients that ask for it (POSTGRES_SSL_MODE; docs/security.md), TLS 1.2 at least.
      '-c ssl=on',
      `-c ssl_cert_file=${tls.cert}`,
      `-c ssl_key_file=${tls.key}`,
      '-c ssl_min_protocol_version=TLSv1.2',
      // spec section 7 tuning, sized for a 24 GiB machine shared with every other service
      '-c shared_buffers=256MB',
      '-c effective_cache_size=1GB',
      '-c work_mem=8MB',
      '-c maintenance_work_mem=64MB',
      '-c max_connections=200',
    ].join(' ');
    await run(
      join(bin, 'pg_ctl'),
      ['-D', dataDir, '-l', logFile, '-o', options, '-w', '-t', '120', 'start'],
      owner ?? {},
    );
    const pid = readPidFile(lock);
    if (pid === null) throw new Error(`PostgreSQL started but wrote no ${lock}`);
    writeFileSync(pidFile, `${pid}\n`);
    return pid;
  },
  // The product's roles and database (stack/postgres/roles.sql), as the bootstrap superuser.
  async afterReady({ env }) {
    await provisionRoles(env);
  },
  current: ({ env }) => rolesUpToDate(env),
};
