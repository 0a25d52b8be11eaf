// The cluster topology's Redis as configuration (pure: no process, no connection; test/unit/redis-replication):
// which node a starting node replicates, and what each node's and each sentinel's configuration says.
//
// A node's replication is state, not configuration: a failover moves the primary, and Sentinel writes the
// change into each node's redis.conf (CONFIG REWRITE) and its own sentinel.conf. So a node that starts again
// asks the sentinels who the primary is now; when none answers it keeps what its file last said; only a node
// that never ran takes the initial layout (node 1 the primary, the others its replicas).
import type { HostPort } from '../../clients/redis.ts';

export interface SentinelSettings {
  address: string;
  port: number;
  dir: string;
  /** REDIS_SENTINEL_MASTER. */
  master: string;
  /** Where the master is now: its last known place, or the initial primary. */
  primary: HostPort;
  quorum: number;
  downAfterMs: number;
  failoverTimeoutMs: number;
  /** The sentinels' own password (clients and the other sentinels log in with it). */
  password: string;
  /** How the sentinels log in to the Redis nodes (INFO, REPLICAOF, CONFIG REWRITE, CLIENT KILL). */
  nodeUser: string;
  nodePassword: string;
  /** This sentinel's id, kept across a regenerated file: the others know it by it. */
  myid?: string;
}

/** Two of three sentinels must agree that the primary is down, and a majority must elect the leader. */
export const sentinelQuorum = (sentinels: number): number => Math.floor(sentinels / 2) + 1;
/** Sentinel's down-after: the primary is failed over after this long without an answer. */
export const sentinelDownAfterMs = 5_000;
export const sentinelFailoverTimeoutMs = 60_000;

/** `replicaof <host> <port>` (or the older `slaveof`) of a redis.conf, as CONFIG REWRITE leaves it. */
export function replicaOfIn(conf: string): HostPort | null {
  const m = /^(?:replicaof|slaveof)\s+"?([^\s"]+)"?\s+"?(\d+)"?\s*$/m.exec(conf);
  return m ? { host: m[1]!, port: Number(m[2]) } : null;
}

/** The `sentinel monitor <master> <host> <port> <quorum>` line of a sentinel.conf. */
export function monitoredIn(conf: string, master: string): HostPort | null {
  for (const line of conf.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] === 'sentinel' && words[1] === 'monitor' && words[2] === master && words[4])
      return { host: words[3]!, port: Number(words[4]) };
  }
  return null;
}

/** `sentinel myid <id>` of a sentinel.conf (Sentinel writes it on its first start). */
export function sentinelIdIn(conf: string): string | undefined {
  return /^sentinel myid ([0-9a-f]{40})\s*$/m.exec(conf)?.[1];
}

const same = (a: HostPort, b: HostPort) => a.host === b.host && a.port === b.port;

/** The answer most sentinels give (the first of equals); null when none answered. */
export function agreedPrimary(answers: HostPort[]): HostPort | null {
  let best: HostPort | null = null;
  let bestCount = 0;
  for (const answer of answers) {
    const count = answers.filter((a) => same(a, answer)).length;
    if (count > bestCount) [best, bestCount] = [answer, count];
  }
  return best;
}

/**
 * Whom a starting node replicates (null: it starts as the primary). The sentinels' word first, where any
 * answered; else its own file's last word (a node that ran before); else the initial layout.
 */
export function replicationAtStart(options: {
  self: HostPort;
  /** What the sentinels that answered say the primary is. */
  sentinelsSay: HostPort[];
  /** The node's redis.conf as it last ran (CONFIG REWRITE keeps its replicaof there), if it ran. */
  lastConf: string | null;
  initialPrimary: HostPort;
}): { replicaOf: HostPort | null; because: string } {
  const { self, sentinelsSay, lastConf, initialPrimary } = options;
  const agreed = agreedPrimary(sentinelsSay);
  if (agreed) {
    return same(agreed, self)
      ? { replicaOf: null, because: 'the sentinels name it the primary' }
      : { replicaOf: agreed, because: `the sentinels name ${agreed.host}:${agreed.port} the primary` };
  }
  if (lastConf !== null) {
    const last = replicaOfIn(lastConf);
    return last && !same(last, self)
      ? {
          replicaOf: last,
          because: `no sentinel answered; it replicated ${last.host}:${last.port} when it last ran`,
        }
      : { replicaOf: null, because: 'no sentinel answered; it was the primary when it last ran' };
  }
  return same(initialPrimary, self)
    ? { replicaOf: null, because: 'first start: the initial primary' }
    : { replicaOf: initialPrimary, because: 'first start: a replica of the initial primary' };
}

/**
 * What every node of the cluster adds to the single node's redis.conf: how it logs in to the primary when it
 * replicates, the address it is known by, and how far a primary may run ahead of its replicas.
 */
export function replicationConf(options: { address: string; user: string; password: string }): string[] {
  return [
    // Replication logs in as the stack's admin (the default user is off, stack/redis/users.acl).
    `masteruser ${options.user}`,
    `masterauth ${quoted(options.password)}`,
    `replica-announce-ip ${options.address}`,
    // A primary cut off from both replicas stops taking writes after 10 s: a partitioned old primary cannot
    // go on acknowledging writes the promoted replica will never see (Sentinel's documented guard).
    'min-replicas-to-write 1',
    'min-replicas-max-lag 10',
  ];
}

/** A sentinel.conf: the sentinel itself, then the master it monitors and how. */
export function sentinelConf(s: SentinelSettings): string {
  return [
    `port ${s.port}`,
    `bind ${s.address}`,
    `dir ${s.dir}`,
    'daemonize no',
    `sentinel announce-ip ${s.address}`,
    `sentinel announce-port ${s.port}`,
    // Clients and the other sentinels log in with the sentinels' password (every sentinel has the same).
    `requirepass ${quoted(s.password)}`,
    `sentinel sentinel-pass ${quoted(s.password)}`,
    ...(s.myid ? [`sentinel myid ${s.myid}`] : []),
    `sentinel monitor ${s.master} ${s.primary.host} ${s.primary.port} ${s.quorum}`,
    `sentinel auth-user ${s.master} ${s.nodeUser}`,
    `sentinel auth-pass ${s.master} ${quoted(s.nodePassword)}`,
    `sentinel down-after-milliseconds ${s.master} ${s.downAfterMs}`,
    `sentinel failover-timeout ${s.master} ${s.failoverTimeoutMs}`,
    `sentinel parallel-syncs ${s.master} 1`,
    '',
  ].join('\n');
}

/** A value in a Redis configuration file, quoted (the generated passwords are base64url: nothing to escape). */
function quoted(value: string): string {
  if (/["\\\s]/.test(value))
    throw new Error('a Redis configuration value cannot hold quotes, backslashes or spaces');
  return `"${value}"`;
}
