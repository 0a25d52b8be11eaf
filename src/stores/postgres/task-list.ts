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
  if (f.text) {
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

/** One page of tasks: at most `limit` rows, newest first. */
export async function listTaskRows(db: Db, f: TaskListFilter): Promise<TaskListRow[]> {
  return db.$queryRaw<TaskListRow[]>(taskListStatement(f));
}

/** The plan PostgreSQL chooses for a page (EXPLAIN ANALYZE, as JSON), to check it uses the indexes. */
export async function explainTaskList(db: Db, f: TaskListFilter): Promise<unknown> {
  const statement = taskListStatement(f);
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
