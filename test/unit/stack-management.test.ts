// `prism stack logs / restart / down --remove-data` without the services: which names resolve to which
// services and processes in both topologies (the cluster one is not started here), the time of a line in
// each service's log format, `--since`, following a file across truncation and rotation, what data
// removal names, and its confirmation. test/integration/stack-management.test.ts runs them for real.
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { getEventListeners } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { confirmRemoval } from '../../src/cli/remove-data.ts';
import { composeLogsArgs } from '../../src/cli/stack.ts';
import { parseConfig, rawEnvironment, type Env } from '../../src/config.ts';
import { exitCodeOf, PrismError } from '../../src/errors.ts';
import { dataToRemove, isInside } from '../../src/stack/data.ts';
import { followLogs, lineTime, parseSince, readLog } from '../../src/stack/logs.ts';
import { managedTargets, resolveTargets } from '../../src/stack/targets.ts';

const dir = mkdtempSync(join(tmpdir(), 'prism-stack-management-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const envOf = (topology: 'single' | 'cluster', data = dir): Env =>
  parseConfig({
    ...rawEnvironment(),
    PRISM_STACK_DATA: data,
    PRISM_TOPOLOGY: topology,
    TEMPORAL_NAMESPACE: 'default',
  });

function failure(work: () => unknown): PrismError {
  try {
    work();
  } catch (err) {
    return err as PrismError;
  }
  throw new PrismError('INTERNAL', 'it did not fail');
}

describe('service names', () => {
  const single = managedTargets(envOf('single'));
  const cluster = managedTargets(envOf('cluster'));
  const names = (targets: { name: string }[]) => targets.map((t) => t.name);

  it('single: each service and each process of `prism up`, with its log file', () => {
    expect(resolveTargets(single, 'redis')).toEqual([
      expect.objectContaining({ name: 'redis', kind: 'service', logFile: join(dir, 'logs', 'redis.log') }),
    ]);
    expect(resolveTargets(single, 'worker')).toEqual([
      expect.objectContaining({
        name: 'worker',
        kind: 'process',
        logFile: join(dir, 'logs', 'app-worker.log'),
      }),
    ]);
    expect(names(resolveTargets(single))).toEqual(names(single));
    expect(new Set(names(single)).size).toBe(single.length); // no name stands for two
  });

  it('cluster: a node by its name, every node of a service or process by the group name', () => {
    expect(resolveTargets(cluster, 'temporal-2')).toEqual([
      expect.objectContaining({
        name: 'temporal-2',
        kind: 'service',
        group: 'temporal',
        logFile: join(dir, 'cluster', 'logs', 'temporal-2.log'),
      }),
    ]);
    expect(names(resolveTargets(cluster, 'kafka'))).toEqual(['kafka-1', 'kafka-2', 'kafka-3']);
    expect(names(resolveTargets(cluster, 'redis'))).toEqual(['redis-1', 'redis-2', 'redis-3']);
    expect(names(resolveTargets(cluster, 'redis-sentinel'))).toEqual([
      'redis-sentinel-1',
      'redis-sentinel-2',
      'redis-sentinel-3',
    ]);
    expect(names(resolveTargets(cluster, 'influxdb'))).toEqual(['influxdb']); // one, on the first machine
    expect(names(resolveTargets(cluster, 'worker'))).toEqual(['worker-1', 'worker-2', 'worker-3']);
    expect(resolveTargets(cluster, 'api-3')).toEqual([
      expect.objectContaining({
        name: 'api-3',
        kind: 'process',
        logFile: join(dir, 'cluster', 'logs', 'app-api-3.log'),
      }),
    ]);
    expect(new Set(names(cluster)).size).toBe(cluster.length);
  });

  it("an unknown name is the caller's mistake (exit 2) and lists the known ones", () => {
    const err = failure(() => resolveTargets(single, 'redsi'));
    expect(err).toBeInstanceOf(PrismError);
    expect(err.code).toBe('UNKNOWN_SERVICE');
    expect(exitCodeOf(err)).toBe(2);
    expect(err.message).toMatch(/no service or process named "redsi"/);
    expect(err.message).toMatch(/services: postgres, redis, kafka,.*processes of `prism up`: worker,/);
    const inCluster = failure(() => resolveTargets(cluster, 'temporal-4'));
    expect(inCluster.message).toContain('temporal-3');
    expect(inCluster.message).toMatch(/every node of one: .*\btemporal\b.*\bworker\b/);
    // A single stack's name that is only a node in the cluster: `temporal-1` does not exist there.
    expect(failure(() => resolveTargets(single, 'temporal-1')).code).toBe('UNKNOWN_SERVICE');
  });
});

describe('the time of a log line', () => {
  const utc = (iso: string) => Date.parse(iso);
  it.each([
    [
      'alertmanager, exporters',
      'ts=2026-12-06T18:41:27.773Z caller=notify.go:732 level=warn',
      '2026-12-06T18:41:27.773Z',
    ],
    [
      'Temporal, etcd',
      '{"level":"warn","ts":"2026-12-06T18:39:58.938Z","msg":"Schedule missed"}',
      '2026-12-06T18:39:58.938Z',
    ],
    [
      'Weaviate',
      '{"action":"startup","level":"info","msg":"x","time":"2026-12-06T18:40:04Z"}',
      '2026-12-06T18:40:04Z',
    ],
    [
      'PostgreSQL',
      '2026-12-06 12:28:12.820 UTC [15535] LOG:  starting PostgreSQL 15.20',
      '2026-12-06T12:28:12.820Z',
    ],
    ['InfluxDB', 'ts=2026-12-06T18:39:56.964105Z lvl=info msg="Listening"', '2026-12-06T18:39:56.964Z'],
    ['an offset', '2026-12-06T20:00:00+02:00 something', '2026-12-06T18:00:00Z'],
    [
      'pino (the API)',
      '{"level":30,"time":1796574793769,"pid":8371,"msg":"stopping"}',
      new Date(1796574793769).toISOString(),
    ],
  ])('%s', (_, line, iso) => {
    expect(lineTime(line)).toBe(utc(iso));
  });

  it('local-time formats (Kafka, Redis, Go, glog) as the machine wrote them', () => {
    const local = (y: number, mo: number, d: number, h: number, mi: number, s: number, ms = 0) =>
      new Date(y, mo - 1, d, h, mi, s, ms).getTime();
    expect(lineTime('[2026-12-06 18:40:01,142] INFO Loaded member')).toBe(local(2026, 12, 6, 18, 40, 1, 142));
    expect(lineTime('9743:C 06 Dec 2026 18:40:57.052 * DB saved on disk')).toBe(
      local(2026, 12, 6, 18, 40, 57, 52),
    );
    expect(lineTime('2026/12/06 18:40:00 Loading config')).toBe(local(2026, 12, 6, 18, 40, 0));
    expect(lineTime('I1206 18:41:02.928147 masterclient.go:480 LockRing', 2026)).toBe(
      local(2026, 12, 6, 18, 41, 2, 928),
    );
  });

  it('none on a line that carries none, and the first time of a line that quotes another', () => {
    expect(lineTime('\tat org.apache.kafka.Foo.bar(Foo.java:12)')).toBeNull();
    expect(lineTime('ANALYSIS agent analysis-agent-1 ready')).toBeNull();
    expect(lineTime('{"ts":"2026-12-06T18:00:00Z","now":"2026-12-06T19:00:00Z"}')).toBe(
      utc('2026-12-06T18:00:00Z'),
    );
  });
});

describe('--since', () => {
  const now = Date.parse('2026-12-06T18:00:00Z');
  it('takes a duration back from now, or a time', () => {
    expect(parseSince('10m', now)).toBe(now - 600_000);
    expect(parseSince('1h30m', now)).toBe(now - 5_400_000);
    expect(parseSince('90s', now)).toBe(now - 90_000);
    expect(parseSince('2d', now)).toBe(now - 2 * 86_400_000);
    expect(parseSince('2026-12-06T17:00:00Z', now)).toBe(Date.parse('2026-12-06T17:00:00Z'));
  });
  it('refuses anything else, saying what it takes', () => {
    for (const bad of ['yesterday', '10', '10 minutes', '-5m', ''])
      expect(() => parseSince(bad, now), bad).toThrow(/--since .*: use a duration \(90s, 10m/);
  });
});

describe('reading a log', () => {
  it('keeps the lines since a time, continuation lines with the line they continue, and the last N', async () => {
    const file = join(dir, 'kafka.log');
    writeFileSync(
      file,
      [
        'starting', // before any time: not shown with --since
        '[2026-12-06 10:00:00,000] INFO old',
        '\tat old.Trace',
        '[2026-12-06 12:00:00,000] ERROR new one',
        '\tat new.Trace',
        '[2026-12-06 12:00:01,000] INFO new two',
        '',
      ].join('\n'),
    );
    const since = new Date(2026, 11, 6, 11, 0, 0).getTime();
    expect((await readLog(file, { since })).lines).toEqual([
      '[2026-12-06 12:00:00,000] ERROR new one',
      '\tat new.Trace',
      '[2026-12-06 12:00:01,000] INFO new two',
    ]);
    expect((await readLog(file, { since, grep: /Trace/ })).lines).toEqual(['\tat new.Trace']);
    expect((await readLog(file, { lines: 2 })).lines).toEqual([
      '\tat new.Trace',
      '[2026-12-06 12:00:01,000] INFO new two',
    ]);
    expect((await readLog(file, { lines: 0 })).lines).toEqual([]);
    expect(await readLog(join(dir, 'none.log'), {})).toEqual(
      expect.objectContaining({ missing: true, lines: [] }),
    );
  });

  it("decides --since by the file's last change when its lines carry no time, and says so", async () => {
    const file = join(dir, 'agent.log');
    writeFileSync(file, 'agent ready\nanswered one\n');
    const recent = await readLog(file, { since: Date.now() - 60_000 });
    expect(recent).toEqual(
      expect.objectContaining({ untimed: true, lines: ['agent ready', 'answered one'] }),
    );
    const future = await readLog(file, { since: Date.now() + 60_000 });
    expect(future).toEqual(expect.objectContaining({ untimed: true, lines: [] }));
  });
});

describe('prism stack logs under Compose', () => {
  it('gives docker compose logs --since as a time: it takes Go durations, without days', () => {
    const now = Date.parse('2026-12-06T12:00:00.000Z');
    expect(composeLogsArgs('redis', { since: '7d', follow: true }, now)).toEqual([
      'logs',
      '--follow',
      '--since',
      '2026-11-29T12:00:00.000Z',
      'redis',
    ]);
    expect(composeLogsArgs(undefined, {}, now)).toEqual(['logs', '--tail', '100']);
  });
});

describe('following a log', () => {
  it('keeps one abort listener on its signal however long it follows (none piled up a tick)', async () => {
    const file = join(dir, 'quiet.log');
    writeFileSync(file, '');
    const stop = new AbortController();
    const following = followLogs([{ name: 'svc', file, from: 0 }], () => undefined, stop.signal, {
      intervalMs: 2,
    });
    await new Promise((r) => setTimeout(r, 200)); // dozens of ticks
    expect(getEventListeners(stop.signal, 'abort').length).toBeLessThanOrEqual(1);
    stop.abort();
    await following;
  });

  it('passes on new lines, and goes on across truncation and rotation', async () => {
    const file = join(dir, 'follow.log');
    writeFileSync(file, 'old line\n');
    const seen: string[] = [];
    const notes: string[] = [];
    const stop = new AbortController();
    const wait = async (line: string) => {
      for (let i = 0; i < 200 && !seen.includes(line); i++) await new Promise((r) => setTimeout(r, 20));
      expect(seen).toContain(line);
    };
    const following = followLogs(
      [{ name: 'svc', file, from: 9 }],
      (name, line) => seen.push(`${name}:${line}`),
      stop.signal,
      { intervalMs: 20, grep: /^(?!skip)/, onNote: (_, note) => notes.push(note) },
    );
    appendFileSync(file, 'first\nskip me\nsec');
    await wait('svc:first');
    appendFileSync(file, 'ond\n');
    await wait('svc:second');
    truncateSync(file, 0);
    await new Promise((r) => setTimeout(r, 100));
    appendFileSync(file, 'after truncation\n');
    await wait('svc:after truncation');
    appendFileSync(file, 'last of the old file\n');
    renameSync(file, `${file}.1`);
    writeFileSync(file, 'in the new file\n');
    await wait('svc:in the new file');
    stop.abort();
    await following;
    expect(seen).toEqual([
      'svc:first',
      'svc:second',
      'svc:after truncation',
      'svc:last of the old file',
      'svc:in the new file',
    ]);
    expect(notes.join('\n')).toMatch(/truncated[\s\S]*rotated/);
  });

  it('waits for a log that does not exist yet', async () => {
    const file = join(dir, 'later', 'x.log');
    const seen: string[] = [];
    const stop = new AbortController();
    const following = followLogs([{ name: 'x', file, from: 0 }], (_, l) => seen.push(l), stop.signal, {
      intervalMs: 20,
    });
    await new Promise((r) => setTimeout(r, 60));
    mkdirSync(join(dir, 'later'));
    writeFileSync(file, 'hello\n');
    for (let i = 0; i < 200 && !seen.length; i++) await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    await following;
    expect(seen).toEqual(['hello']);
  });
});

describe('--remove-data', () => {
  it("names only each service's own data directory, never the logs, secrets, backups or the other topology's", () => {
    const data = mkdtempSync(join(dir, 'data-'));
    for (const d of [
      'redis',
      'postgres',
      'logs',
      'run',
      'backups',
      'postgres-tls',
      'cluster/redis-1',
      'cluster/logs',
    ])
      mkdirSync(join(data, d), { recursive: true });
    writeFileSync(join(data, 'secrets.env'), 'X=1\n');
    expect(dataToRemove(envOf('single', data))).toEqual([join(data, 'postgres'), join(data, 'redis')]);
    expect(dataToRemove(envOf('cluster', data))).toEqual([join(data, 'cluster', 'redis-1')]);
  });

  it('checks a directory lies strictly inside the data directory', () => {
    expect(isInside('/var/lib/prism-stack/redis', '/var/lib/prism-stack')).toBe(true);
    expect(isInside('/var/lib/prism-stack', '/var/lib/prism-stack')).toBe(false);
    expect(isInside('/var/lib/prism-stack/../other', '/var/lib/prism-stack')).toBe(false);
    expect(isInside('/var/lib/prism-stack-2/redis', '/var/lib/prism-stack')).toBe(false);
  });

  it('refuses without a terminal and without --yes; --yes needs no terminal', async () => {
    const output = new PassThrough();
    const input = new PassThrough() as unknown as NodeJS.ReadStream; // a pipe: no isTTY
    const err = await confirmRemoval(['/tmp/x/redis'], 'under /tmp/x', {}, { input, output }).catch((e) => e);
    expect(err).toBeInstanceOf(PrismError);
    expect((err as PrismError).code).toBe('CONFIRMATION_REQUIRED');
    expect(exitCodeOf(err)).toBe(2);
    expect((err as Error).message).toMatch(/pass --yes/);
    expect(String(output.read())).toContain('/tmp/x/redis');
    await expect(
      confirmRemoval(['/tmp/x/redis'], 'under /tmp/x', { yes: true }, { input, output }),
    ).resolves.toBeUndefined();
  });

  it('at a terminal, removes only on "yes"', async () => {
    const ask = async (answer: string) => {
      const input = Object.assign(new PassThrough(), { isTTY: true }) as unknown as NodeJS.ReadStream;
      const output = new PassThrough();
      const confirmed = confirmRemoval(['/tmp/x/redis'], 'under /tmp/x', {}, { input, output });
      input.write(`${answer}\n`);
      return confirmed;
    };
    await expect(ask('yes')).resolves.toBeUndefined();
    await expect(ask('y')).rejects.toThrow(/not confirmed/);
  });
});
