// Listing tasks (GET /tasks, `prism task list`): one page of tasks, newest first by (created_at, id), under
// filters that each have an index (migration 20261206120000_task_list_indexes), paginated by keyset: the
// next page starts strictly after the last row of this one, so rows inserted meanwhile (newer, hence before
// the page) neither repeat nor shift any row of a later page.
import { Prisma, type AgentType, type TaskPriority, type TaskStatus } from '../../generated/prisma/client.ts';
import type { PrismaClient } from '../../db/prisma.ts';

type Db = Pick<PrismaClient, '$queryRaw'>;

/** Where a page starts: after this row, in (created_at, id) descending. */
export interface TaskListPosition {
  createdAt: Date;
  id: string;
}

export interface TaskListFilter {
  /** Any of these (absent or empty: any). */
  statuses?: readonly TaskStatus[];
  /** Tasks with a step of any of these types. */
  agentTypes?: readonly AgentType[];
  priorities?: readonly TaskPriority[];
  userId?: string;
  /** created_at >= createdFrom */
  createdFrom?: Date;
  /** created_at < createdTo */
  createdTo?: Date;
  /** A case-insensitive substring of the task's query text (ILIKE, through the trigram index). */
  text?: string;
  /**
   * Whether at most `rareTextMatches` queries hold `text` (listTaskRows finds out): then its tasks are found
   * through the trigram index first; otherwise tasks are read newest first until the page is full.
   */
  textIsRare?: boolean;
  /** Rows strictly after this one. */
  after?: TaskListPosition;
  /** Rows to return. */
  limit: number;
}

export interface TaskListRow {
  id: string;
  requestId: string;
  workflowId: string;
  userId: string | null;
  status: TaskStatus;
  priority: TaskPriority;
  queryText: string | null;
  /** The plan's agent types, each once, in the order of the steps. */
  agentTypes: AgentType[];
  errorMessage: string | null;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  totalDurationMs: number | null;
}

/** `text` as an ILIKE pattern that matches it literally anywhere (its `%`, `_` and `\` escaped). */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The WHERE clause of a filter (without the position). */
function conditions(f: TaskListFilter): Prisma.Sql[] {
  const where: Prisma.Sql[] = [];
  if (f.statuses?.length) where.push(Prisma.sql`t.status = ANY(${[...f.statuses]}::"TaskStatus"[])`);
  if (f.priorities?.length) where.push(Prisma.sql`t.priority = ANY(${[...f.priorities]}::"TaskPriority"[])`);
  if (f.userId) where.push(Prisma.sql`t.user_id = ${f.userId}::uuid`);
  if (f.createdFrom) where.push(Prisma.sql`t.created_at >= ${f.createdFrom}::timestamptz`);
  if (f.createdTo) where.push(Prisma.sql`t.created_at < ${f.createdTo}::timestamptz`);
  if (f.text && f.textIsRare) {
    // Few queries hold it: their tasks, found through the trigram index once, then looked up by id.
    where.push(Prisma.sql`t.id = ANY(ARRAY(SELECT uq.task_id FROM user_queries uq
      WHERE uq.query_text ILIKE ${containsPattern(f.text)}))`);
  } else if (f.text) {
    // Many do: the newest tasks are read in order, and the first ones that match fill the page quickly.
    where.push(Prisma.sql`EXISTS (SELECT 1 FROM user_queries uq
      WHERE uq.task_id = t.id AND uq.query_text ILIKE ${containsPattern(f.text)})`);
  }
  if (f.agentTypes?.length) {
    where.push(Prisma.sql`EXISTS (SELECT 1 FROM execution_plans p JOIN agent_subtasks s ON s.plan_id = p.id
      WHERE p.task_id = t.id AND s.agent_type = ANY(${[...f.agentTypes]}::"AgentType"[]))`);
  }
  if (f.after)
    where.push(Prisma.sql`(t.created_at, t.id) < (${f.after.createdAt}::timestamptz, ${f.after.id}::uuid)`);
  return where;
}

/** The statement of one page (exported for EXPLAIN: the bench checks which indexes it uses). */
export function taskListStatement(f: TaskListFilter): Prisma.Sql {
  const where = conditions(f);
  // The page is chosen on `tasks` alone (the filters' indexes), then each of its rows gets its query and types.
  return Prisma.sql`
    WITH page AS (
      SELECT t.id, t.request_id, t.workflow_id, t.user_id, t.status, t.priority, t.error_message,
             t.created_at, t.started_at, t.completed_at, t.total_duration_ms
      FROM tasks t
      ${where.length ? Prisma.sql`WHERE ${Prisma.join(where, ' AND ')}` : Prisma.empty}
      ORDER BY t.created_at DESC, t.id DESC
      LIMIT ${f.limit}
    )
    SELECT page.id::text AS id, page.request_id AS "requestId", page.workflow_id AS "workflowId",
           page.user_id::text AS "userId", page.status::text AS status, page.priority::text AS priority,
           q.query_text AS "queryText",
           coalesce(types.agent_types, '{}') AS "agentTypes",
           page.error_message AS "errorMessage", page.created_at AS "createdAt",
           page.started_at AS "startedAt", page.completed_at AS "completedAt",
           page.total_duration_ms AS "totalDurationMs"
    FROM page
    LEFT JOIN LATERAL (
      SELECT uq.query_text FROM user_queries uq WHERE uq.task_id = page.id ORDER BY uq.created_at LIMIT 1
    ) q ON true
    LEFT JOIN LATERAL (
      SELECT array_agg(x.agent_type ORDER BY x.first) AS agent_types
      FROM (SELECT s.agent_type::text AS agent_type, min(s.sequence_order) AS first
            FROM execution_plans p JOIN agent_subtasks s ON s.plan_id = p.id
            WHERE p.task_id = page.id GROUP BY s.agent_type) x
    ) types ON true
    ORDER BY page.created_at DESC, page.id DESC`;
}

/**
 * Text held by more queries than this is common: reading the newest tasks in order finds a page of them
 * within a few thousand rows. Rarer text is looked up through the trigram index first (PostgreSQL's own
 * estimate of how many rows a `%…%` pattern matches is too rough to choose between the two).
 */
export const rareTextMatches = 5_000;

/** Whether at most `rareTextMatches` queries contain `text` (through the trigram index). */
export async function isRareText(db: Db, text: string): Promise<boolean> {
  const rows = await db.$queryRaw<{ n: bigint }[]>`
    SELECT count(*) AS n FROM (
      SELECT 1 FROM user_queries WHERE query_text ILIKE ${containsPattern(text)} LIMIT ${rareTextMatches + 1}::int
    ) x`;
  return Number(rows[0]?.n ?? 0) <= rareTextMatches;
}

/** The filter with `textIsRare` decided (a look through the trigram index when there is text). */
export async function withTextPlan(db: Db, f: TaskListFilter): Promise<TaskListFilter> {
  return f.text && f.textIsRare === undefined ? { ...f, textIsRare: await isRareText(db, f.text) } : f;
}

/** One page of tasks: at most `limit` rows, newest first. */
export async function listTaskRows(db: Db, f: TaskListFilter): Promise<TaskListRow[]> {
  return db.$queryRaw<TaskListRow[]>(taskListStatement(await withTextPlan(db, f)));
}

/** The plan PostgreSQL chooses for a page (EXPLAIN ANALYZE, as JSON), to check it uses the indexes. */
export async function explainTaskList(db: Db, f: TaskListFilter): Promise<unknown> {
  const statement = taskListStatement(await withTextPlan(db, f));
  const rows = await db.$queryRaw<{ 'QUERY PLAN': unknown }[]>(
    Prisma.sql`EXPLAIN (ANALYZE, FORMAT JSON) ${statement}`,
  );
  return rows[0]?.['QUERY PLAN'];
}

/** The id of the user with this username, or null. */
export async function userIdByName(prisma: PrismaClient, username: string): Promise<string | null> {
  const user = await prisma.user.findUnique({ where: { username }, select: { id: true } });
  return user?.id ?? null;
}

/**
 * `prism bench --list-tasks`: `count` synthetic tasks (rows i in [from, to) of a run), each with its query,
 * plan and one or two steps, created over the `spanMs` before `until`, spread over these users. Request ids
 * are `<prefix><i>`, so deleteTasksByRequestId({ startsWith: prefix }) removes them (their rows cascade).
 * The mix: 70 % COMPLETED, 10 % FAILED, 5 % CANCELLED, 15 % ACTIVE; 20 % HIGH, 60 % NORMAL, 20 % LOW; a
 * quarter of them two steps; each query names one of 500 machines (e.g. cnc-17) on one of 8 lines.
 */
export async function insertSyntheticTasks(
  db: Db,
  s: { prefix: string; from: number; to: number; until: Date; spanMs: number; userIds: string[] },
): Promise<void> {
  const stepMs = s.spanMs / Math.max(1, s.to);
  await db.$queryRaw`
    WITH s AS (
      SELECT i, gen_random_uuid() AS task_id, gen_random_uuid() AS plan_id, gen_random_uuid() AS query_id,
             ${s.prefix} || i AS request_id,
             ${s.until}::timestamptz - make_interval(secs => i * ${stepMs}::float8 / 1000) AS created_at,
             abs(hashint4(i)) % 100 AS r_status, abs(hashint4(i + 1000003)) % 100 AS r_priority,
             abs(hashint4(i + 2000003)) % 4 AS r_type, abs(hashint4(i + 3000017)) % 4 = 0 AS two_steps,
             (${s.userIds}::uuid[])[1 + abs(hashint4(i + 4000037)) % ${s.userIds.length}::int] AS user_id,
             (ARRAY['MONITORING','PREDICTION','CONTROL','ANALYSIS']) AS types
      FROM generate_series(${s.from}::int, ${s.to - 1}::int) AS i
    ), t AS (
      INSERT INTO tasks (id, request_id, workflow_id, user_id, status, priority, created_at, updated_at,
                         started_at, completed_at, total_duration_ms, error_message)
      SELECT task_id, request_id, 'task-' || request_id, user_id,
             (CASE WHEN r_status < 70 THEN 'COMPLETED' WHEN r_status < 80 THEN 'FAILED'
                   WHEN r_status < 85 THEN 'CANCELLED' ELSE 'ACTIVE' END)::"TaskStatus",
             (CASE WHEN r_priority < 20 THEN 'HIGH' WHEN r_priority < 80 THEN 'NORMAL' ELSE 'LOW' END)::"TaskPriority",
             created_at, created_at, created_at,
             CASE WHEN r_status < 85 THEN created_at + interval '2 seconds' END,
             CASE WHEN r_status < 85 THEN 2000 END,
             CASE WHEN r_status BETWEEN 70 AND 79 THEN 'agent timed out' END
      FROM s
    ), q AS (
      INSERT INTO user_queries (id, task_id, query_text, query_type, created_at)
      SELECT query_id, task_id,
             (ARRAY['Check spindle temperature on', 'Forecast the load of', 'Slow down the feed of',
                    'Why did vibration rise on', 'Inspect the coolant flow of', 'Predict tool wear of',
                    'Analyse the scrap rate of', 'Monitor bearing noise on'])[1 + abs(hashint4(i + 7)) % 8]
             || ' ' || (ARRAY['cnc', 'press', 'robot', 'conveyor', 'oven'])[1 + abs(hashint4(i + 11)) % 5]
             || '-' || lpad((abs(hashint4(i + 13)) % 100)::text, 2, '0')
             || ', line ' || (1 + abs(hashint4(i + 17)) % 8) || ' (ticket ' || left(md5(i::text), 10) || ')',
             types[1 + r_type]::"AgentType", created_at
      FROM s
    ), p AS (
      INSERT INTO execution_plans (id, task_id, query_id, task_graph, status, created_at)
      SELECT plan_id, task_id, query_id, '{}'::jsonb, 'COMPLETED', created_at FROM s
    )
    INSERT INTO agent_subtasks (id, plan_id, step_key, agent_type, sequence_order, status, created_at)
    SELECT gen_random_uuid(), plan_id, 'step-' || k, types[1 + (r_type + k) % 4]::"AgentType", k, 'SUCCESS',
           created_at
    FROM s, generate_series(0, CASE WHEN two_steps THEN 1 ELSE 0 END) AS k`;
}

/** Deletes up to `batch` tasks whose request id starts with `prefix` (rows cascade); returns how many. */
export async function deleteTaskBatch(db: Db, prefix: string, batch: number): Promise<number> {
  const rows = await db.$queryRaw<{ n: bigint }[]>`
    WITH d AS (
      DELETE FROM tasks WHERE id IN (
        SELECT id FROM tasks WHERE request_id LIKE ${containsPattern(prefix).slice(1)} LIMIT ${batch}::int)
      RETURNING 1
    )
    SELECT count(*) AS n FROM d`;
  return Number(rows[0]?.n ?? 0);
}

/** Rows changed in these tables since PostgreSQL last analysed them (0 once statistics are fresh). */
export async function rowsSinceAnalyze(db: Db, tables: string[]): Promise<number> {
  const rows = await db.$queryRaw<{ n: bigint | null }[]>`
    SELECT sum(n_mod_since_analyze) AS n FROM pg_stat_user_tables WHERE relname = ANY(${tables}::text[])`;
  return Number(rows[0]?.n ?? 0);
}

/** Users named `<prefix>user-<i>` (the bench's own), created; returns their ids. */
export async function createNamedUsers(prisma: PrismaClient, prefix: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let u = 0; u < n; u++) {
    ids.push((await prisma.user.create({ data: { username: `${prefix}user-${u}` } })).id);
  }
  return ids;
}

export async function deleteUsers(prisma: PrismaClient, ids: string[]): Promise<void> {
  await prisma.user.deleteMany({ where: { id: { in: ids } } });
}

export async function countTasks(prisma: PrismaClient): Promise<number> {
  return prisma.task.count();
}
