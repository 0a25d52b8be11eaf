// Finding tasks, for every edge (GET /tasks, `prism task list`, the SDK's listTasks): the filters as clients
// send them (one zod schema: the API's query string and the CLI's options), the opaque keyset cursor, the
// page as it is answered, and the same filters as a Temporal visibility query (a link to the Temporal UI's
// list of those runs). The rows come from PostgreSQL (src/stores/postgres/task-list.ts).
import { z } from 'zod';
import type { Env } from '../config.ts';
import type { PrismaClient } from '../db/prisma.ts';
import { listTaskRows, type TaskListFilter, type TaskListRow } from '../stores/postgres/task-list.ts';
import { storable } from '../validation.ts';
import { agentTypes, priorities, workflowType, type AgentType, type Priority } from './contract.ts';
import { temporalRunUrl } from './client.ts';

/** The statuses PostgreSQL records (a task waiting for a person's approval is ACTIVE there). */
export const listedStatuses = ['PENDING', 'ACTIVE', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type ListedStatus = (typeof listedStatuses)[number];

export const taskListLimits = { default: 50, max: 200, textMin: 3, textMax: 200 } as const;

/** A comma-separated list of values of `values`, any case, each once: `failed,CANCELLED`. */
function valuesOf<const V extends readonly string[]>(values: V, what: string) {
  return z
    .string()
    .max(200)
    .transform((text, ctx) => {
      const picked = [
        ...new Set(
          text
            .split(',')
            .map((v) => v.trim().toUpperCase())
            .filter(Boolean),
        ),
      ];
      const unknown = picked.filter((v) => !values.includes(v));
      if (picked.length === 0 || unknown.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `${unknown.length ? `unknown ${what} ${unknown.map((v) => `"${v}"`).join(', ')}: ` : ''}use one or more of ${values.join(', ')}, separated by commas`,
        });
        return z.NEVER;
      }
      return picked as V[number][];
    })
    .describe(`One or more of ${values.join(', ')}, comma-separated (any of them matches)`);
}

const cursorVersion = 'v1';

/** The opaque cursor of a page that ends at this row. */
export function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(`${cursorVersion}|${row.createdAt.toISOString()}|${row.id}`).toString('base64url');
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The row a cursor ends at, or null when it is not one this API gave out. */
export function decodeCursor(cursor: string): { createdAt: Date; id: string } | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  const [version, at, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (version !== cursorVersion || rest.length > 0 || !at || !id || !uuidPattern.test(id)) return null;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(at)) return null;
  const createdAt = new Date(at);
  return Number.isNaN(createdAt.getTime()) || !storableInstant(createdAt)
    ? null
    : { createdAt, id: id.toLowerCase() };
}

/** Whether PostgreSQL can hold this instant (years 1 to 9999, UTC). */
const storableInstant = (d: Date) => d.getUTCFullYear() >= 1 && d.getUTCFullYear() <= 9999;

const instant = z.iso
  .datetime({ offset: true })
  .transform((s, ctx) => {
    const at = new Date(s);
    if (!storableInstant(at)) {
      ctx.addIssue({ code: 'custom', message: 'must be between the years 1 and 9999 (UTC)' });
      return z.NEVER;
    }
    return at;
  })
  .describe('ISO 8601 with a time zone, e.g. 2026-12-06T08:00:00Z');

/** The filters and page of a task list, as the query string (and the CLI's options) give them. */
export const taskListQuery = z
  .strictObject({
    status: valuesOf(listedStatuses, 'status').optional(),
    agentType: valuesOf(agentTypes, 'agent type')
      .optional()
      .describe('Tasks with a step of any of these agent types, comma-separated'),
    priority: valuesOf(priorities, 'priority').optional(),
    userId: z.uuid().optional().describe('Tasks of this user (a users row id)'),
    createdFrom: instant.optional().describe('Tasks created at or after this instant (ISO 8601)'),
    createdTo: instant.optional().describe('Tasks created before this instant (ISO 8601)'),
    q: storable(z.string().trim().min(taskListLimits.textMin).max(taskListLimits.textMax))
      .optional()
      .describe(
        `Text in the task's query: a case-insensitive substring, ${taskListLimits.textMin} to ${taskListLimits.textMax} characters`,
      ),
    limit: z.coerce
      .number<number>()
      .int()
      .min(1)
      .max(taskListLimits.max)
      .default(taskListLimits.default)
      .describe(`Tasks per page, 1 to ${taskListLimits.max}`),
    cursor: z
      .string()
      .max(200)
      .transform((text, ctx) => {
        const position = decodeCursor(text);
        if (!position) {
          ctx.addIssue({
            code: 'custom',
            message: 'not a cursor this API gave out: pass a page’s nextCursor back unchanged',
          });
          return z.NEVER;
        }
        return position;
      })
      .optional()
      .describe('The `nextCursor` of the previous page (absent: the first page)'),
  })
  .superRefine((f, ctx) => {
    if (f.createdFrom && f.createdTo && f.createdFrom >= f.createdTo) {
      ctx.addIssue({ code: 'custom', path: ['createdTo'], message: 'must be after createdFrom' });
    }
  });
export type TaskListQuery = z.input<typeof taskListQuery>;
export type TaskListParams = z.output<typeof taskListQuery>;

const timestamp = z.iso.datetime().describe('ISO 8601, UTC');

export const taskSummarySchema = z.object({
  id: z.uuid(),
  requestId: z.string(),
  workflowId: z.string(),
  userId: z.string().nullable(),
  status: z.enum(listedStatuses),
  priority: z.enum(priorities),
  query: z.string().nullable().describe('The task’s query text'),
  agentTypes: z.array(z.enum(agentTypes)).describe('The agent types of its steps, each once'),
  errorMessage: z.string().nullable(),
  createdAt: timestamp,
  startedAt: timestamp.nullable(),
  completedAt: timestamp.nullable(),
  totalDurationMs: z.number().nullable(),
  statusUrl: z.string().describe('The task: GET this path'),
  temporalUrl: z.string().describe('Its run in the Temporal UI'),
});
export type TaskSummary = z.infer<typeof taskSummarySchema>;

export const taskPageSchema = z.object({
  tasks: z.array(taskSummarySchema).describe('Newest first, by (createdAt, id)'),
  nextCursor: z.string().nullable().describe('Pass it as `cursor` for the next page; null on the last page'),
  limit: z.number(),
  temporalQuery: z.string().describe('The same filters as a Temporal visibility query'),
  temporalUrl: z.string().describe('The Temporal UI’s list of the runs that query finds'),
  temporalQueryOmits: z
    .array(z.string())
    .describe('Filters Temporal cannot express (no search attribute holds them): its list is wider'),
});
export type TaskPage = z.infer<typeof taskPageSchema>;

/** Every order of distinct agent types that contains one of `wanted` (the AgentType attribute's values). */
function agentTypeValues(wanted: readonly AgentType[]): string[] {
  const values: string[] = [];
  const grow = (prefix: AgentType[]) => {
    if (prefix.some((t) => wanted.includes(t))) values.push(prefix.join(','));
    for (const t of agentTypes) if (!prefix.includes(t)) grow([...prefix, t]);
  };
  grow([]);
  return values;
}

const quote = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const inList = (attribute: string, values: readonly string[]) =>
  values.length === 1
    ? `${attribute} = ${quote(values[0]!)}`
    : `${attribute} IN (${values.map(quote).join(', ')})`;

/**
 * The filters as a Temporal visibility query over the task workflow's search attributes
 * (src/task/search-attributes.ts): TaskStatus, TaskPriority, AgentType (a plan's types in step order,
 * comma-joined: every such value containing a wanted type), and StartTime for the creation range (the run
 * starts a moment before PostgreSQL records the task). A user and query text have no attribute.
 */
export function temporalTaskQuery(f: TaskListParams): { query: string; omits: string[] } {
  const parts = [`WorkflowType = ${quote(workflowType)}`];
  if (f.status) {
    // A running task waiting for a person is ACTIVE in PostgreSQL and WAITING_APPROVAL in Temporal.
    const statuses = f.status.flatMap((s) => (s === 'ACTIVE' ? ['ACTIVE', 'WAITING_APPROVAL'] : [s]));
    parts.push(inList('TaskStatus', statuses));
  }
  if (f.priority) parts.push(inList('TaskPriority', f.priority));
  if (f.agentType) parts.push(inList('AgentType', agentTypeValues(f.agentType)));
  if (f.createdFrom) parts.push(`StartTime >= ${quote(f.createdFrom.toISOString())}`);
  if (f.createdTo) parts.push(`StartTime < ${quote(f.createdTo.toISOString())}`);
  const omits = [...(f.userId ? ['userId'] : []), ...(f.q ? ['q'] : [])];
  return { query: parts.join(' AND '), omits };
}

/** The Temporal UI's list of workflows found by a visibility query. */
export function temporalListUrl(
  env: Pick<Env, 'TEMPORAL_UI_URL' | 'TEMPORAL_NAMESPACE'>,
  query: string,
): string {
  return `${env.TEMPORAL_UI_URL}/namespaces/${encodeURIComponent(env.TEMPORAL_NAMESPACE)}/workflows?query=${encodeURIComponent(query)}`;
}

/** The store's filter of the parameters (one more row than the page, to know whether another follows). */
export function storeFilter(f: TaskListParams): TaskListFilter {
  return {
    ...(f.status ? { statuses: f.status } : {}),
    ...(f.agentType ? { agentTypes: f.agentType } : {}),
    ...(f.priority ? { priorities: f.priority as Priority[] } : {}),
    ...(f.userId ? { userId: f.userId } : {}),
    ...(f.createdFrom ? { createdFrom: f.createdFrom } : {}),
    ...(f.createdTo ? { createdTo: f.createdTo } : {}),
    ...(f.q ? { text: f.q } : {}),
    ...(f.cursor ? { after: f.cursor } : {}),
    limit: f.limit + 1,
  };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function summary(env: Pick<Env, 'TEMPORAL_UI_URL' | 'TEMPORAL_NAMESPACE'>, row: TaskListRow): TaskSummary {
  return {
    id: row.id,
    requestId: row.requestId,
    workflowId: row.workflowId,
    userId: row.userId,
    status: row.status,
    priority: row.priority,
    query: row.queryText,
    agentTypes: row.agentTypes,
    errorMessage: row.errorMessage,
    createdAt: row.createdAt.toISOString(),
    startedAt: iso(row.startedAt),
    completedAt: iso(row.completedAt),
    totalDurationMs: row.totalDurationMs,
    statusUrl: `/tasks/${encodeURIComponent(row.workflowId)}`,
    temporalUrl: temporalRunUrl(env, row.workflowId),
  };
}

/** One page of tasks under validated parameters (taskListQuery's output). */
export async function listTasks(
  deps: { prisma: PrismaClient; env: Pick<Env, 'TEMPORAL_UI_URL' | 'TEMPORAL_NAMESPACE'> },
  params: TaskListParams,
): Promise<TaskPage> {
  const rows = await listTaskRows(deps.prisma, storeFilter(params));
  const page = rows.slice(0, params.limit);
  const last = page.at(-1);
  const { query, omits } = temporalTaskQuery(params);
  return {
    tasks: page.map((row) => summary(deps.env, row)),
    nextCursor: rows.length > params.limit && last ? encodeCursor(last) : null,
    limit: params.limit,
    temporalQuery: query,
    temporalUrl: temporalListUrl(deps.env, query),
    temporalQueryOmits: omits,
  };
}
