// `prism task list`: find tasks in PostgreSQL with the API's filters and pages (src/task/list.ts).
import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { withPrisma } from '../db/prisma.ts';
import { userIdByName } from '../stores/postgres/task-list.ts';
import {
  decodeCursor,
  listTasks,
  listedStatuses,
  taskListLimits,
  taskListQuery,
  type TaskPage,
} from '../task/list.ts';
import { agentTypes, priorities } from '../task/index.ts';
import { problemsOf, ValidationError } from '../validation.ts';

interface ListOptions {
  status?: string;
  type?: string;
  priority?: string;
  user?: string;
  from?: string;
  to?: string;
  query?: string;
  limit?: string;
  cursor?: string;
  all?: boolean;
  json?: boolean;
}

/** The option each field of the query comes from, so that an error names what the user typed. */
const optionOf: Record<string, string> = {
  status: '--status',
  agentType: '--type',
  priority: '--priority',
  userId: '--user',
  createdFrom: '--from',
  createdTo: '--to',
  q: '--query',
  limit: '--limit',
  cursor: '--cursor',
};

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function line(t: TaskPage['tasks'][number]): string {
  const query = (t.query ?? '').replace(/\s+/g, ' ');
  return [
    t.createdAt,
    t.status.padEnd(9),
    t.priority.padEnd(6),
    t.agentTypes.join(',').padEnd(10),
    t.requestId,
    query.length > 60 ? `${query.slice(0, 59)}…` : query,
  ].join('  ');
}

export function registerTaskListCommand(task: Command): void {
  task
    .command('list')
    .description('find tasks, newest first: filters narrow, pages follow with --cursor (or --all)')
    .option('--status <s,...>', `any of ${listedStatuses.join(', ')}`)
    .option('--type <t,...>', `tasks with a step of any of ${agentTypes.join(', ')}`)
    .option('--priority <p,...>', `any of ${priorities.join(', ')}`)
    .option('--user <name or id>', 'tasks of this user (username or user id)')
    .option('--from <time>', 'created at or after (ISO 8601 with a zone, e.g. 2026-12-06T08:00:00Z)')
    .option('--to <time>', 'created before (ISO 8601 with a zone)')
    .option(
      '--query <text>',
      `text in the task's query (case-insensitive, at least ${taskListLimits.textMin} characters)`,
    )
    .option('--limit <n>', `tasks per page (1 to ${taskListLimits.max})`, String(taskListLimits.default))
    .option('--cursor <cursor>', 'the next page: the nextCursor a previous page printed')
    .option('--all', 'every page, one after another')
    .option('--json', 'print each page as the API answers it (GET /tasks)')
    .action(async (opts: ListOptions) => {
      const env = loadConfig();
      await withPrisma(env, async (prisma) => {
        let userId = opts.user;
        if (userId !== undefined && !uuidPattern.test(userId)) {
          const found = await userIdByName(prisma, userId);
          if (!found) {
            throw new ValidationError([{ field: '--user', message: `no user is named "${opts.user}"` }]);
          }
          userId = found;
        }
        const raw = {
          status: opts.status,
          agentType: opts.type,
          priority: opts.priority,
          userId,
          createdFrom: opts.from,
          createdTo: opts.to,
          q: opts.query,
          limit: opts.limit,
          cursor: opts.cursor,
        };
        const parsed = taskListQuery.safeParse(
          Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)),
          { reportInput: true },
        );
        if (!parsed.success) {
          const problems = problemsOf(parsed.error.issues).map((p) => ({
            ...p,
            field: optionOf[p.field] ?? p.field,
          }));
          throw new ValidationError(problems, 'invalid filter');
        }
        let params = parsed.data;
        const all: TaskPage['tasks'] = [];
        for (;;) {
          const page = await listTasks({ prisma, env }, params);
          if (opts.all) all.push(...page.tasks);
          else if (opts.json) process.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
          if (!opts.json) for (const t of page.tasks) process.stdout.write(`${line(t)}\n`);
          const after = page.nextCursor && opts.all ? decodeCursor(page.nextCursor) : null;
          if (after) {
            params = { ...params, cursor: after };
            continue;
          }
          // --all --json: one document, every task in it.
          if (opts.all && opts.json) {
            process.stdout.write(`${JSON.stringify({ ...page, tasks: all }, null, 2)}\n`);
          } else if (!opts.json) {
            process.stdout.write(
              `${opts.all ? all.length : page.tasks.length} task(s)` +
                (page.nextCursor ? `; next page: --cursor ${page.nextCursor}` : '') +
                `\n  Temporal UI: ${page.temporalUrl}` +
                (page.temporalQueryOmits.length
                  ? ` (not filtered by ${page.temporalQueryOmits.join(', ')}: no search attribute holds them)`
                  : '') +
                '\n',
            );
          }
          return;
        }
      });
    });
}
