import { Redis, type RedisOptions } from 'ioredis';
import type { Env } from '../config.ts';
import { tlsOptions } from './tls.ts';

export type RedisEnv = Pick<Env, 'REDIS_HOST' | 'REDIS_PORT' | 'REDIS_LOGIN_USER' | 'REDIS_LOGIN_PASSWORD'> &
  Partial<
    Pick<
      Env,
      | 'REDIS_DB'
      | 'REDIS_TLS'
      | 'REDIS_TLS_CA_FILE'
      | 'REDIS_SENTINELS'
      | 'REDIS_SENTINEL_MASTER'
      | 'REDIS_SENTINEL_PASSWORD'
    >
  >;

export interface HostPort {
  host: string;
  port: number;
}

/** `a:1,b:2` → [{a,1},{b,2}] (REDIS_SENTINELS; validated by config as host:port pairs). */
export function parseHostPorts(list: string): HostPort[] {
  return list
    .split(',')
    .filter((item) => item !== '')
    .map((item) => {
      const at = item.lastIndexOf(':');
      return { host: item.slice(0, at), port: Number(item.slice(at + 1)) };
    });
}

/** Whether this configuration reaches Redis through Sentinel (REDIS_SENTINELS set). */
export function usesSentinels(env: Pick<RedisEnv, 'REDIS_SENTINELS'>): boolean {
  return Boolean(env.REDIS_SENTINELS);
}

type TargetEnv = Pick<RedisEnv, 'REDIS_HOST' | 'REDIS_PORT' | 'REDIS_SENTINELS' | 'REDIS_SENTINEL_MASTER'>;

/** Where Redis is, as an error or a log line names it: the server, or the sentinels and their master. */
export function redisTarget(env: TargetEnv): string {
  return env.REDIS_SENTINELS
    ? `${env.REDIS_SENTINEL_MASTER ?? 'prism'} via sentinels ${env.REDIS_SENTINELS}`
    : `${env.REDIS_HOST}:${env.REDIS_PORT}`;
}

/** The same as a URL (`stack status`): redis://host:port, or redis+sentinel://sentinels/master. */
export function redisUrl(env: TargetEnv): string {
  return env.REDIS_SENTINELS
    ? `redis+sentinel://${env.REDIS_SENTINELS}/${env.REDIS_SENTINEL_MASTER ?? 'prism'}`
    : `redis://${env.REDIS_HOST}:${env.REDIS_PORT}`;
}

// Through a failover the primary is away for Sentinel's down-after (5 s in the stack) plus the election and
// promotion (about 1 s measured, docs/scaling.md#redis-a-primary-two-replicas-and-three-sentinels): a command waits for the new primary instead of
// failing, about 20 s in all (reconnects 200 ms apart growing to 1 s, 20 of them).
const failoverRetries = 20;
export function failoverRetryDelayMs(attempt: number): number {
  return Math.min(attempt * 200, 1_000);
}

/**
 * A node of the primary's set as a client reaches it. The sentinels report each node at its plain port;
 * a client over TLS (REDIS_TLS, REDIS_PORT set to the TLS port) reaches the same node at REDIS_PORT.
 */
export function nodeAddress(env: Pick<RedisEnv, 'REDIS_TLS' | 'REDIS_PORT'>, reported: HostPort): HostPort {
  return env.REDIS_TLS ? { host: reported.host, port: env.REDIS_PORT } : reported;
}

/** ioredis' options for Sentinel mode: the sentinels, the master's name, their password, the role wanted. */
export function sentinelOptions(env: RedisEnv): RedisOptions {
  return {
    sentinels: parseHostPorts(env.REDIS_SENTINELS ?? ''),
    name: env.REDIS_SENTINEL_MASTER ?? 'prism',
    role: 'master',
    ...(env.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: env.REDIS_SENTINEL_PASSWORD } : {}),
    ...(env.REDIS_TLS
      ? {
          natMap: (key: string) => {
            const [reported] = parseHostPorts(key);
            return reported ? nodeAddress(env, reported) : null;
          },
        }
      : {}),
    // Learn sentinels added later from the ones configured; a +switch-master makes it reconnect at once.
    updateSentinels: true,
    failoverDetector: true,
    retryStrategy: failoverRetryDelayMs,
    maxRetriesPerRequest: failoverRetries,
    // A write that reaches a node just demoted (a connection that outlived the switch) reconnects, through the
    // sentinels, to the new primary and is sent again.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
  };
}

/**
 * An ioredis client for the product's Redis, logged in as this process's ACL user (its component's:
 * src/identity.ts), over TLS where REDIS_TLS says so (the server's certificate verified, its name included).
 * With REDIS_SENTINELS it asks the sentinels for the primary and follows it through a failover, waiting for
 * the new primary rather than failing a command. Close it with `quit()`.
 */
export function createRedis(env: RedisEnv, options: RedisOptions = {}): Redis {
  return new Redis({
    ...(usesSentinels(env) ? {} : { host: env.REDIS_HOST, port: env.REDIS_PORT }),
    username: env.REDIS_LOGIN_USER,
    password: env.REDIS_LOGIN_PASSWORD,
    db: env.REDIS_DB ?? 0,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 3,
    ...(env.REDIS_TLS ? { tls: tlsOptions(env.REDIS_TLS_CA_FILE) } : {}),
    ...(usesSentinels(env) ? sentinelOptions(env) : {}),
    ...options,
  });
}

/**
 * One question to one sentinel on a connection of its own, closed afterwards (no retries: the caller decides
 * what an unanswering sentinel means).
 */
export async function askSentinelAt<T>(
  sentinel: HostPort,
  password: string | undefined,
  ask: (client: Redis) => Promise<T>,
): Promise<T> {
  const client = new Redis({
    ...sentinel,
    ...(password ? { password } : {}),
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableReadyCheck: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await ask(client);
  } finally {
    client.disconnect();
  }
}

/**
 * The server that takes writes now: REDIS_HOST, or the primary the sentinels name (the first that answers),
 * at the address a client of this configuration reaches it (nodeAddress). For tools that need an address
 * rather than a client: redis-cli for a backup, MIGRATE for a restore.
 */
export async function redisPrimary(env: RedisEnv): Promise<HostPort> {
  if (!env.REDIS_SENTINELS) return { host: env.REDIS_HOST, port: env.REDIS_PORT };
  const name = env.REDIS_SENTINEL_MASTER ?? 'prism';
  const problems: string[] = [];
  for (const sentinel of parseHostPorts(env.REDIS_SENTINELS)) {
    try {
      const reply = (await askSentinelAt(sentinel, env.REDIS_SENTINEL_PASSWORD, (client) =>
        client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name),
      )) as [string, string] | null;
      if (reply) return nodeAddress(env, { host: reply[0], port: Number(reply[1]) });
      problems.push(`${sentinel.host}:${sentinel.port} does not monitor "${name}"`);
    } catch (err) {
      problems.push(`${sentinel.host}:${sentinel.port}: ${(err as Error).message}`);
    }
  }
  throw new Error(
    `no sentinel of REDIS_SENTINELS named the primary of "${name}" (${problems.join('; ')}): ` +
      'check REDIS_SENTINELS, REDIS_SENTINEL_MASTER and REDIS_SENTINEL_PASSWORD, and that the sentinels run',
  );
}
