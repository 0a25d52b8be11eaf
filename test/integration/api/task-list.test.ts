// Finding tasks (GET /tasks, `prism task list`, the SDK's listTasks) against the real PostgreSQL and
// Temporal: each filter narrows to exactly the tasks it should, pages return every task once while new
// tasks arrive, invalid filters are refused naming the field, and the Temporal link's query is one Temporal
// runs. The tasks are recorded as step 2 records them (openTask), with ids of their own, and deleted after.
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrismClient } from '../../../src/sdk/index.ts';
import type { TaskPage } from '../../../src/task/list.ts';
import { closeTask, openTask } from '../../../src/stores/postgres/flow.ts';
import { deleteTasksByRequestId } from '../../../src/stores/postgres/tasks.ts';
import { listTaskRows } from '../../../src/stores/postgres/task-list.ts';
import { testId } from '../../helpers.ts';
import { apiFixture, type ApiFixture } from './fixture.ts';

type AgentType = 'MONITORING' | 'PREDICTION' | 'CONTROL' | 'ANALYSIS';
type Priority = 'HIGH' | 'NORMAL' | 'LOW';
type Ended = 'COMPLETED' | 'FAILED' | 'CANCELLED';

interface Seed {
  types: AgentType[];
  priority: Priority;
  status: 'ACTIVE' | Ended;
  user: 'a' | 'b' | null;
  text: string;
}

type ErrorBody = { code: string; message: string; fields: { field: string; message: string }[] };

const mainCli = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

/** Runs the real `prism` (main.ts) to completion. */
async function prism(...args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', mainCli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

describe('finding tasks', { timeout: 120_000 }, () => {
  let fx: ApiFixture;
  let key: string;
  const users: Record<'a' | 'b', string> = { a: '', b: '' };
  // Every task of this file has the tag in its request id and its query text, so concurrent tests' tasks
  // never enter its pages (each query below filters by the tag).
  const tag = testId('lst');
  const prefix = `${tag}-`;
  const recorded: { id: string; requestId: string; seed: Seed; createdAt: Date }[] = [];

  async function record(seed: Seed) {
    const requestId = `${prefix}${recorded.length}-${randomUUID().slice(0, 8)}`;
    const taskId = randomUUID();
    const planId = randomUUID();
    const steps = seed.types.map((type, i) => ({ key: `s${i}`, agentType: type }));
    await openTask(fx.deps.prisma, {
      taskId,
      requestId,
      workflowId: `task-${requestId}`,
      userId: seed.user ? users[seed.user] : null,
      priority: seed.priority,
      query: { text: `${seed.text} ${tag}`, type: seed.types[0]!, constraints: null },
      planId,
      taskGraph: { steps: steps.map((s) => ({ ...s, dependsOn: [] })) },
      subtasks: steps.map((s, i) => ({
        id: randomUUID(),
        stepKey: s.key,
        agentType: s.agentType,
        sequenceOrder: i,
        dependsOn: [],
        input: null,
      })),
    });
    if (seed.status !== 'ACTIVE') {
      await closeTask(fx.deps.prisma, {
        taskId,
        planId,
        status: seed.status,
        result: null,
        error: seed.status === 'FAILED' ? 'agent timed out' : null,
      });
    }
    const row = await fx.deps.prisma.task.findUniqueOrThrow({ where: { id: taskId } });
    const entry = { id: taskId, requestId, seed, createdAt: row.createdAt };
    recorded.push(entry);
    return entry;
  }

  const seeds: Seed[] = [
    {
      types: ['MONITORING'],
      priority: 'NORMAL',
      status: 'COMPLETED',
      user: 'a',
      text: 'Check spindle temperature',
    },
    { types: ['CONTROL'], priority: 'HIGH', status: 'FAILED', user: 'a', text: 'Slow down conveyor 2' },
    {
      types: ['PREDICTION'],
      priority: 'LOW',
      status: 'ACTIVE',
      user: 'b',
      text: 'Forecast the load of press 4',
    },
    {
      types: ['MONITORING', 'CONTROL'],
      priority: 'HIGH',
      status: 'COMPLETED',
      user: 'b',
      text: 'Watch then cool SPINDLE 3',
    },
    {
      types: ['ANALYSIS'],
      priority: 'NORMAL',
      status: 'CANCELLED',
      user: null,
      text: 'Why did line 3 stop? 100%_done',
    },
    {
      types: ['ANALYSIS', 'PREDICTION'],
      priority: 'LOW',
      status: 'FAILED',
      user: 'a',
      text: 'Explain and forecast scrap',
    },
  ];

  async function list(query: string) {
    return fx.call<TaskPage & ErrorBody>('GET', `/tasks?q=${encodeURIComponent(tag)}&${query}`, { key });
  }
  const idsOf = (page: TaskPage) => page.tasks.map((t) => t.id);
  /** The recorded tasks that satisfy `pick`, newest first (as the API orders them). */
  const expected = (pick: (s: Seed, createdAt: Date) => boolean) =>
    recorded
      .filter((r) => pick(r.seed, r.createdAt))
      .sort((x, y) => y.createdAt.getTime() - x.createdAt.getTime() || (y.id > x.id ? 1 : -1))
      .map((r) => r.id);

  beforeAll(async () => {
    fx = await apiFixture();
    ({ key, userId: users.a } = await fx.keyFor('viewer'));
    ({ userId: users.b } = await fx.keyFor('viewer'));
    for (const seed of seeds) await record(seed);
  });
  afterAll(async () => {
    if (fx) await deleteTasksByRequestId(fx.deps.prisma, { startsWith: prefix });
    await fx?.close();
  });

  it('lists the tasks newest first, each with its query, types and links', async () => {
    const res = await list('');
    expect(res.status, res.text).toBe(200);
    expect(idsOf(res.body)).toEqual(expected(() => true));
    expect(res.body.nextCursor).toBeNull();
    const both = res.body.tasks.find((t) => t.query?.startsWith('Watch then cool'))!;
    expect(both).toMatchObject({
      status: 'COMPLETED',
      priority: 'HIGH',
      agentTypes: ['MONITORING', 'CONTROL'],
      userId: users.b,
      statusUrl: `/tasks/${encodeURIComponent(both.workflowId)}`,
      temporalUrl: expect.stringContaining(`/workflows/${encodeURIComponent(both.workflowId)}`),
    });
    expect(res.body.tasks.find((t) => t.status === 'FAILED')!.errorMessage).toBe('agent timed out');
  });

  it.each([
    ['status', 'status=FAILED', (s: Seed) => s.status === 'FAILED'],
    [
      'several statuses, any case',
      'status=completed,Cancelled',
      (s: Seed) => ['COMPLETED', 'CANCELLED'].includes(s.status),
    ],
    ['agent type (any step)', 'agentType=CONTROL', (s: Seed) => s.types.includes('CONTROL')],
    [
      'agent types',
      'agentType=PREDICTION,ANALYSIS',
      (s: Seed) => s.types.some((t) => ['PREDICTION', 'ANALYSIS'].includes(t)),
    ],
    ['priority', 'priority=LOW', (s: Seed) => s.priority === 'LOW'],
    [
      'several filters at once',
      'status=COMPLETED&priority=HIGH&agentType=MONITORING',
      (s: Seed) => s.status === 'COMPLETED' && s.priority === 'HIGH' && s.types.includes('MONITORING'),
    ],
  ])('narrows by %s', async (_what, query, pick) => {
    const res = await list(query);
    expect(res.status, res.text).toBe(200);
    const want = expected(pick);
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(recorded.length);
    expect(idsOf(res.body)).toEqual(want);
  });

  it('narrows by user', async () => {
    const res = await list(`userId=${users.a}`);
    expect(idsOf(res.body)).toEqual(expected((s) => s.user === 'a'));
    const none = await list(`userId=${randomUUID()}`);
    expect(none.body.tasks).toEqual([]);
  });

  it('narrows by text in the query: a case-insensitive substring, wildcards taken literally', async () => {
    const mineOf = (page: TaskPage) =>
      page.tasks.filter((t) => t.requestId.startsWith(prefix)).map((t) => t.id);
    const find = (q: string) =>
      fx.call<TaskPage>('GET', `/tasks?limit=200&q=${encodeURIComponent(q)}`, { key });
    // Other tests' tasks may mention spindles too: this file's are the ones with the tag.
    expect(mineOf((await find('spindle')).body)).toEqual(expected((s) => /spindle/i.test(s.text)));
    expect(idsOf((await find(tag.toUpperCase())).body)).toEqual(expected(() => true));
    expect(mineOf((await find('100%_done')).body)).toEqual(expected((s) => s.text.includes('100%_done')));
    // `%` and `_` are no wildcards: as such, each would match "Why did line 3 stop?".
    expect(mineOf((await find('line_3')).body)).toEqual([]);
    expect(mineOf((await find('did%stop')).body)).toEqual([]);
    expect(mineOf((await find('line 3')).body)).toEqual(expected((s) => s.text.includes('line 3')));
  });

  it('finds text the same way whether it is rare (trigram index first) or common (newest tasks first)', async () => {
    const filter = { text: 'spindle', limit: 200 };
    const rare = await listTaskRows(fx.deps.prisma, { ...filter, textIsRare: true });
    const common = await listTaskRows(fx.deps.prisma, { ...filter, textIsRare: false });
    expect(common.map((r) => r.id)).toEqual(rare.map((r) => r.id));
    expect(rare.filter((r) => r.requestId.startsWith(prefix)).map((r) => r.id)).toEqual(
      expected((s) => /spindle/i.test(s.text)),
    );
  });

  it('narrows by creation time: from inclusive, to exclusive', async () => {
    const third = recorded[2]!.createdAt;
    const from = await list(`createdFrom=${third.toISOString()}`);
    expect(idsOf(from.body)).toEqual(expected((_s, at) => at >= third));
    const to = await list(`createdTo=${third.toISOString()}`);
    expect(idsOf(to.body)).toEqual(expected((_s, at) => at < third));
    expect(from.body.tasks.length + to.body.tasks.length).toBe(recorded.length);
  });

  it('returns every task once across pages while new tasks keep arriving', async () => {
    const before = expected(() => true);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: Awaited<ReturnType<typeof list>> = await list(
        `limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(res.status, res.text).toBe(200);
      expect(res.body.tasks.length).toBeLessThanOrEqual(2);
      seen.push(...idsOf(res.body));
      cursor = res.body.nextCursor;
      pages++;
      // A task created between pages is newer than every page's rows: it belongs before the first page.
      await record({
        types: ['MONITORING'],
        priority: 'NORMAL',
        status: 'ACTIVE',
        user: null,
        text: `arrived after page ${pages}`,
      });
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(before);
    expect(pages).toBe(Math.ceil(before.length / 2));
    // A new first page starts with the newcomers.
    const fresh = await list('limit=200');
    expect(idsOf(fresh.body)).toEqual(expected(() => true));
    expect(fresh.body.tasks[0]!.query).toMatch(/^arrived after page/);
  });

  it.each([
    ['a cursor it did not give out', 'cursor=bm90LWEtY3Vyc29y', 'query.cursor', /nextCursor/],
    ['garbage as a cursor', 'cursor=%25%25%25', 'query.cursor', /nextCursor/],
    ['an unknown status', 'status=DONE', 'query.status', /unknown status "DONE".*PENDING/],
    ['an unknown agent type', 'agentType=WELDING', 'query.agentType', /WELDING/],
    ['an unknown priority', 'priority=URGENT', 'query.priority', /URGENT/],
    ['a user id that is not a UUID', 'userId=alice', 'query.userId', /UUID/i],
    ['a time without a zone', 'createdFrom=2026-12-06T08:00:00', 'query.createdFrom', /datetime/i],
    [
      'an empty range',
      'createdFrom=2026-12-06T08:00:00Z&createdTo=2026-12-06T07:00:00Z',
      'query.createdTo',
      /after createdFrom/,
    ],
    [
      'a year PostgreSQL cannot hold',
      'createdFrom=0000-06-01T00:00:00Z',
      'query.createdFrom',
      /years 1 and 9999/,
    ],
    ['a limit over the maximum', 'limit=500', 'query.limit', /200/],
    ['text too short for the index', 'q=ab', 'query.q', /3/],
    ['an unknown filter', 'state=FAILED', 'query.state', /unknown field/],
  ])('refuses %s with 400 naming the field', async (_what, query, field, message) => {
    const res = await fx.call<ErrorBody>('GET', `/tasks?${query}`, { key });
    expect(res.status, res.text).toBe(400);
    expect(res.body.code).toBe('INVALID_INPUT');
    expect(res.body.fields).toContainEqual({ field, message: expect.stringMatching(message) });
  });

  it('links to the Temporal UI with the same filters as a query Temporal runs', async () => {
    const res = await list(
      'status=FAILED,ACTIVE&agentType=CONTROL&priority=HIGH&createdFrom=2026-01-01T00:00:00Z',
    );
    expect(res.status, res.text).toBe(200);
    const { temporalQuery, temporalUrl, temporalQueryOmits } = res.body;
    expect(temporalQuery).toContain(`WorkflowType = 'agentTask'`);
    expect(temporalQuery).toContain(`TaskStatus IN ('FAILED', 'ACTIVE', 'WAITING_APPROVAL')`);
    expect(temporalQuery).toContain(`TaskPriority = 'HIGH'`);
    expect(temporalQuery).toMatch(/AgentType IN \('MONITORING,PREDICTION,CONTROL', .*'MONITORING,CONTROL'/);
    expect(temporalQuery).not.toMatch(/'MONITORING'[,)]/); // a plan without CONTROL is not asked for
    expect(temporalQuery).toContain(`StartTime >= '2026-01-01T00:00:00.000Z'`);
    expect(temporalQueryOmits).toEqual(['q']);
    expect(temporalUrl).toBe(
      `${fx.deps.env.TEMPORAL_UI_URL}/namespaces/${fx.deps.env.TEMPORAL_NAMESPACE}/workflows?query=${encodeURIComponent(temporalQuery)}`,
    );
    // Temporal parses and runs it (an unknown attribute or bad syntax would throw).
    const { count } = await fx.deps.temporal.workflow.count(temporalQuery);
    expect(count).toBeGreaterThanOrEqual(0);
  });

  it('pages through the SDK: listTasks, and tasks() over every page', async () => {
    const sdk = new PrismClient({ baseUrl: fx.baseUrl, apiKey: key, retryForMs: 0 });
    const page = await sdk.listTasks({ q: tag, status: ['FAILED', 'COMPLETED'], limit: 1 });
    expect(idsOf(page)).toEqual(
      expected((s) => s.status === 'FAILED' || s.status === 'COMPLETED').slice(0, 1),
    );
    expect(page.nextCursor).toEqual(expect.any(String));
    const all: string[] = [];
    for await (const t of sdk.tasks({ q: tag, limit: 3 })) all.push(t.id);
    expect(all).toEqual(expected(() => true));
    const bad = await sdk.listTasks({ q: tag, cursor: 'nope' }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 400, fields: [{ field: 'query.cursor' }] });
  });

  it('lists from the CLI as JSON, and exits 2 naming a bad filter', async () => {
    const json = await prism(
      'task',
      'list',
      '--query',
      tag,
      '--type',
      'control',
      '--user',
      users.a,
      '--json',
    );
    expect(json.code, json.stderr).toBe(0);
    const page = JSON.parse(json.stdout) as TaskPage;
    expect(idsOf(page)).toEqual(expected((s) => s.types.includes('CONTROL') && s.user === 'a'));
    expect(page.temporalQueryOmits).toEqual(['userId', 'q']);

    const all = await prism('task', 'list', '--query', tag, '--limit', '2', '--all', '--json');
    expect(all.code, all.stderr).toBe(0);
    expect(idsOf(JSON.parse(all.stdout) as TaskPage)).toEqual(expected(() => true));

    const bad = await prism('task', 'list', '--status', 'DONE', '--cursor', 'nope');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--status: unknown status "DONE"/);
    expect(bad.stderr).toMatch(/--cursor: not a cursor/);
    expect(bad.stdout).toBe('');
  });
});
