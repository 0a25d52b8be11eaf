// No secret and no internal detail leaves the system: a short flow (the API, the worker and an agent of the
// tests' deployment as processes of their own, one task through them, and the answers a client meets on
// the way: 401, 403, 404, 400, 413, the webhook without its token), then every line those processes logged
// and every HTTP answer is searched for the generated passwords, tokens and API keys. The answers may carry
// no stack trace and no address of a store either.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueApiKey, type IssuedKey } from '../../src/api/keys.ts';
import { createKafka, kafkaName } from '../../src/clients/kafka.ts';
import { createRedis } from '../../src/clients/redis.ts';
import { rawEnvironment } from '../../src/config.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { silentProgress } from '../../src/progress.ts';
import { provisionKafka } from '../../src/stores/kafka/provision.ts';
import { keys as redisKeys } from '../../src/stores/redis/keys.ts';
import { deleteTestTopics } from '../integration/kafka/support.ts';
import { env, freePorts, testId } from '../helpers.ts';
import { waitFor } from './support.ts';

const id = testId('secrets');
const prefix = `${id}.`;
const agentId = `${id.replaceAll('_', '-')}-analysis`;

interface Answer {
  request: string;
  status: number;
  headers: string;
  body: string;
}

/** A `prism` command as a process of its own, its whole output kept. */
function prism(args: string[], extraEnv: Record<string, string>) {
  const child = spawn(process.execPath, ['bin/prism.js', ...args], {
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = { child, name: args.slice(0, 2).join(' '), output: '' };
  child.stdout.on('data', (d: Buffer) => void (proc.output += d.toString()));
  child.stderr.on('data', (d: Buffer) => void (proc.output += d.toString()));
  return proc;
}
type Proc = ReturnType<typeof prism>;

/** SIGTERM, then SIGKILL after 20 s; resolves to how it ended ('SIGKILL': it did not stop when asked). */
const stop = (child: ChildProcess) =>
  new Promise<string>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve('exited before');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(signal ?? `exit ${code}`);
    });
    child.kill('SIGTERM');
  });

describe('secrets and internals stay inside', () => {
  const prisma = createPrisma(env);
  const kafka = createKafka({ ...env, KAFKA_TOPIC_PREFIX: `${env.KAFKA_TOPIC_PREFIX}${prefix}` });
  const admin = kafka.admin();
  const procs: Proc[] = [];
  const answers: Answer[] = [];
  const issued: IssuedKey[] = [];
  const requestIds: string[] = [];
  let baseUrl: string;

  beforeAll(async () => {
    // Topics and a task queue of this test's own: no other worker or agent takes this test's task.
    await provisionKafka(
      { ...env, KAFKA_TOPIC_PREFIX: `${env.KAFKA_TOPIC_PREFIX}${prefix}` },
      silentProgress,
      {
        kafka,
      },
    );
    await admin.connect();
    const [workerMetrics, agentMetrics] = await freePorts(2);
    const processEnv = {
      KAFKA_TOPIC_PREFIX: `${env.KAFKA_TOPIC_PREFIX}${prefix}`,
      TEMPORAL_TASK_QUEUE: id,
      WORKER_METRICS_PORT: String(workerMetrics),
    };
    const worker = prism(['worker'], processEnv);
    const agent = prism(
      ['agent', 'run', '--type', 'ANALYSIS', '--id', agentId, '--metrics-port', String(agentMetrics)],
      processEnv,
    );
    const api = prism(['api', '--port', '0'], processEnv);
    procs.push(worker, agent, api);
    for (const [proc, ready] of [
      [worker, /\[worker\] ready/],
      [agent, /ANALYSIS agent \S+ ready/],
      [api, /listening on (http:\/\/\S+)/],
    ] as const) {
      await waitFor(
        `${proc.name} ready`,
        () => ready.test(proc.output) || proc.child.exitCode !== null,
        120_000,
      );
      if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited:\n${proc.output}`);
    }
    baseUrl = /listening on (http:\/\/\S+)/.exec(api.output)![1]!;
    for (const role of ['admin', 'viewer']) {
      issued.push(await issueApiKey(prisma, { username: testId(`secrets_${role}`), role }));
    }
  }, 300_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => stop(p.child)));
    await prisma.task.deleteMany({ where: { requestId: { in: requestIds } } });
    await prisma.agent.deleteMany({ where: { id: agentId } });
    await prisma.user.deleteMany({ where: { id: { in: issued.map((k) => k.userId) } } });
    const redis = createRedis(env);
    await redis.del(redisKeys.agentState(agentId));
    await redis.zrem(redisKeys.agentHeartbeats(), agentId);
    await redis.quit();
    const groups = (await admin.listGroups()).groups
      .map((g) => g.groupId)
      .filter((g) => g.startsWith(kafkaName(kafka, '')));
    await admin.deleteGroups(groups).catch(() => undefined);
    await deleteTestTopics(admin, prefix);
    await admin.disconnect();
    await prisma.$disconnect();
  }, 120_000);

  async function call(
    method: string,
    path: string,
    options: { key?: string; body?: string; headers?: Record<string, string> } = {},
  ) {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
        ...(options.body ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      ...(options.body ? { body: options.body } : {}),
    });
    const headers: string[] = [];
    res.headers.forEach((value, name) => void headers.push(`${name}: ${value}`));
    const answer = {
      request: `${method} ${path}`,
      status: res.status,
      headers: headers.join('\n'),
      body: await res.text(),
    };
    answers.push(answer);
    return answer;
  }

  it('runs a task through the API, the worker and the agent, and meets the usual refusals on the way', async () => {
    const [adminKey, viewerKey] = issued.map((k) => k.key) as [string, string];
    const requestId = testId('secrets_task');
    requestIds.push(requestId);
    const submitted = await call('POST', '/tasks', {
      key: adminKey,
      body: JSON.stringify({ requestId, query: 'summarise the shift', agentType: 'ANALYSIS' }),
    });
    expect(submitted.status).toBe(202);
    const done = await waitFor(
      'the task to complete',
      async () => {
        const res = await call('GET', `/tasks/${requestId}`, { key: viewerKey });
        return res.status === 200 && JSON.parse(res.body).status === 'COMPLETED' ? res : undefined;
      },
      120_000,
    );
    expect(JSON.parse(done.body)).toMatchObject({ status: 'COMPLETED' });
    // The refusals a client meets.
    expect((await call('GET', '/agents')).status).toBe(401);
    expect((await call('GET', '/agents', { key: `${adminKey.slice(0, -4)}AAAA` })).status).toBe(401);
    expect((await call('POST', '/tasks', { key: viewerKey, body: '{}' })).status).toBe(403);
    expect((await call('GET', '/tasks/no-such-task', { key: adminKey })).status).toBe(404);
    expect((await call('POST', '/tasks', { key: adminKey, body: '{"query": ""}' })).status).toBe(400);
    expect((await call('POST', '/tasks', { key: adminKey, body: '{"query": ' })).status).toBe(400);
    expect(
      (await call('POST', '/knowledge', { key: adminKey, body: `"${'x'.repeat(5 * 1024 * 1024)}"` })).status,
    ).toBe(413);
    expect((await call('POST', '/alerts/alertmanager', { key: adminKey, body: '{}' })).status).toBe(400);
    const webhook = await call('POST', '/alerts/alertmanager', {
      key: 'not-the-token',
      body: JSON.stringify({ version: '4', status: 'firing', receiver: 'prism', alerts: [] }),
    });
    expect(webhook.status).toBe(401);
    for (const path of ['/healthz', '/readyz', '/metrics', '/docs/json', '/no-such-route'])
      await call('GET', path);
  }, 180_000);

  it('leaves no secret in any log line or answer, and no stack trace or store address in an answer', async () => {
    // Asked to stop, each stops (an open connection left behind would keep it alive: then it is killed).
    expect(await Promise.all(procs.map((p) => stop(p.child)))).not.toContain('SIGKILL');
    const raw = rawEnvironment();
    const secrets: [string, string][] = [
      ...Object.entries(raw)
        .filter(
          ([name, value]) =>
            /PASSWORD|TOKEN|SECRET|ACCESS_KEY|API_KEY/.test(name) && (value?.length ?? 0) >= 8,
        )
        .map(([name, value]): [string, string] => [name, value!]),
      ...issued.flatMap((k): [string, string][] => [
        [`API key of ${k.username}`, k.key],
        [`secret part of the API key of ${k.username}`, k.key.slice(`prism_${k.prefix}_`.length)],
      ]),
    ];
    expect(secrets.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'POSTGRES_PASSWORD',
        'REDIS_PASSWORD',
        'INFLUX_PASSWORD',
        'ALERTMANAGER_WEBHOOK_TOKEN',
      ]),
    );
    const places = [
      ...procs.map((p) => ({ where: `the log of prism ${p.name}`, text: p.output })),
      ...answers.map((a) => ({ where: `the answer to ${a.request}`, text: `${a.headers}\n${a.body}` })),
    ];
    expect(procs.every((p) => p.output.length > 0)).toBe(true);
    const leaks = places.flatMap(({ where, text }) =>
      secrets.filter(([, value]) => text.includes(value)).map(([name]) => `${name} in ${where}`),
    );
    expect(leaks).toEqual([]);

    // Where the stores are is nobody's business but the processes'.
    const internal = [
      `${env.POSTGRES_HOST}:${env.POSTGRES_PORT}`,
      `${env.REDIS_HOST}:${env.REDIS_PORT}`,
      ...env.KAFKA_BROKERS.split(','),
      env.TEMPORAL_ADDRESS,
      `${env.WEAVIATE_HOST}:${env.WEAVIATE_HTTP_PORT}`,
      `${env.WEAVIATE_HOST}:${env.WEAVIATE_GRPC_PORT}`,
      env.INFLUX_URL,
    ];
    const exposed = answers.flatMap((a) => {
      const found = internal.filter((address) => a.body.includes(address) || a.headers.includes(address));
      if (/\n\s+at .+:\d+:\d+/.test(a.body)) found.push('a stack trace');
      return found.map((what) => `${what} in the answer to ${a.request} (${a.status})`);
    });
    expect(exposed).toEqual([]);
  }, 60_000);
});
