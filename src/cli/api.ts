// `prism api` (the HTTP API) and `prism apikey create|revoke|list` (its keys).
import { InvalidArgumentError, type Command } from 'commander';
import { decimalArg, wholeNumberArg } from './args.ts';
import { issueApiKey, listKeys, revokeKey } from '../api/keys.ts';
import { startApi } from '../api/server.ts';
import { loadConfig } from '../config.ts';
import { withPrisma } from '../db/prisma.ts';

export function registerApiCommands(program: Command): void {
  program
    .command('api')
    .description('run the HTTP API until SIGINT or SIGTERM (OpenAPI at /docs)')
    .option(
      '--port <port>',
      'listen on this port instead of API_PORT (0: any free port)',
      wholeNumberArg(0, 65535),
    )
    .action(async (opts: { port?: number }) => {
      const running = await startApi(loadConfig('api'), opts.port !== undefined ? { port: opts.port } : {});
      process.stderr.write(`[api] listening on ${running.url} — API description at ${running.url}/docs\n`);
      await running.stopped;
      process.stderr.write('[api] stopped\n');
    });

  const apikey = program
    .command('apikey')
    .description('API keys of the HTTP API (their roles live in PostgreSQL)');

  apikey
    .command('create')
    .description('create a key for a user (created if missing) with a role; prints the key once')
    .requiredOption('--user <username>', 'the user the key acts as')
    .requiredOption('--role <role>', 'admin, operator, agent or viewer (granted to the user)')
    .option('--name <name>', 'what the key is for, e.g. "grafana" or "line-3 agent"')
    .option('--expires-in-days <days>', 'the key stops working after this many days', (v) => {
      const days = decimalArg(0)(v);
      if (days === 0) throw new InvalidArgumentError('Use a number of days above 0.');
      return days;
    })
    .action(async (opts: { user: string; role: string; name?: string; expiresInDays?: number }) => {
      const issued = await withPrisma(loadConfig(), (prisma) =>
        issueApiKey(prisma, {
          username: opts.user,
          role: opts.role,
          ...(opts.name ? { name: opts.name } : {}),
          ...(opts.expiresInDays
            ? { expiresAt: new Date(Date.now() + opts.expiresInDays * 86_400_000) }
            : {}),
        }),
      );
      process.stderr.write(
        `[apikey] ${issued.createdUser ? 'created user' : 'user'} ${issued.username} with role ${issued.role}; ` +
          `key id ${issued.keyId}. The key follows: store it now, it is not shown again.\n`,
      );
      process.stdout.write(`${issued.key}\n`);
    });

  apikey
    .command('revoke <id>')
    .description('revoke a key by its id (requests with it get 401 from then on)')
    .action(async (id: string) => {
      const revoked = await withPrisma(loadConfig(), (prisma) => revokeKey(prisma, id));
      process.stderr.write(`[apikey] revoked key ${revoked.keyId} of user ${revoked.username}\n`);
    });

  apikey
    .command('list')
    .description('list keys (never the keys themselves: their ids, prefixes and users)')
    .option('--user <username>', 'only this user')
    .option('--json', 'print JSON')
    .action(async (opts: { user?: string; json?: boolean }) => {
      const keys = await withPrisma(loadConfig(), (prisma) => listKeys(prisma, opts.user));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
        return;
      }
      for (const k of keys) {
        const state = k.revokedAt
          ? 'revoked'
          : k.expiresAt && k.expiresAt <= new Date()
            ? 'expired'
            : 'active';
        process.stdout.write(
          `${k.keyId}  prism_${k.prefix}_…  ${state.padEnd(7)}  ${k.username} (${k.roles.join(', ')})  ${k.name}\n`,
        );
      }
    });
}
