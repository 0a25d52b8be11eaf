import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { connectTemporal } from '../clients/temporal.ts';
import { loadConfig } from '../config.ts';
import { withPrisma } from '../db/prisma.ts';
import {
  agentTimeoutLimitsMs,
  agentTypes,
  priorities,
  requestDefaults,
  taskNotFound,
  taskNotRunning,
  type AgentType,
  type Priority,
} from '../task/index.ts';
import { agentTypeArg, decimalArg, priorityArg } from './args.ts';
import { registerTaskListCommand } from './task-list.ts';
import { registerTaskWatchCommand } from './task-watch.ts';
import { cancelTask, startTask, temporalRunUrl, waitForTask } from '../task/client.ts';
import { findTask, locateTask } from '../task/view.ts';
import { registerTaskSteeringCommands } from './task-steering.ts';
import { ValidationError } from '../validation.ts';

function print(json: boolean, value: unknown, human: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human}\n`);
}

export function registerTaskCommands(program: Command): void {
  const task = program.command('task').description('submit, inspect and cancel agent tasks');
  registerTaskListCommand(task);
  registerTaskWatchCommand(task);

  task
    .command('submit')
    .description('start an agent task (once per request id)')
    .requiredOption('--type <TYPE>', `agent type: ${agentTypes.join(', ')}`, agentTypeArg)
    .requiredOption('--query <text>', 'what the agent should do')
    .option('--priority <p>', `one of ${priorities.join(', ')}`, priorityArg, 'NORMAL')
    .option('--request-id <id>', 'idempotency key (default: a new UUID)')
    .option('--param <key=value...>', 'parameters for the agent (repeatable)')
    .option(
      '--timeout <seconds>',
      'how long each step waits for its agent',
      decimalArg(agentTimeoutLimitsMs.min / 1000, agentTimeoutLimitsMs.max / 1000),
      requestDefaults.agentTimeoutMs / 1000,
    )
    .option('--wait', 'wait until the task ends and print its outcome')
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        type: AgentType;
        query: string;
        priority: Priority;
        requestId?: string;
        param?: string[];
        timeout: number;
        wait?: boolean;
        json?: boolean;
      }) => {
        const env = loadConfig();
        const parameters = Object.fromEntries(
          (opts.param ?? []).map((p) => {
            const i = p.indexOf('=');
            if (i < 1) throw new ValidationError([{ field: '--param', message: `"${p}": use key=value` }]);
            const raw = p.slice(i + 1);
            return [p.slice(0, i), raw !== '' && !Number.isNaN(Number(raw)) ? Number(raw) : raw];
          }),
        );
        const client = await connectTemporal(env);
        try {
          const started = await startTask(client, env, {
            requestId: opts.requestId ?? randomUUID(),
            query: opts.query,
            agentType: opts.type,
            priority: opts.priority,
            parameters,
            agentTimeoutMs: Math.round(opts.timeout * 1000),
          });
          const url = temporalRunUrl(env, started.workflowId);
          if (!opts.wait) {
            print(
              Boolean(opts.json),
              { ...started, temporalUrl: url },
              `task ${started.taskId} ${started.started ? 'started' : 'already exists'}\n  Temporal UI: ${url}`,
            );
            return;
          }
          if (!opts.json)
            process.stderr.write(`[task] ${started.taskId} running — follow it in the Temporal UI: ${url}\n`);
          const outcome = await waitForTask(client, started.workflowId);
          print(
            Boolean(opts.json),
            { ...outcome, temporalUrl: url },
            `task ${outcome.taskId}: ${outcome.status}${outcome.error ? ` — ${outcome.error}` : ''} in ${outcome.durationMs} ms\n` +
              Object.entries(outcome.results)
                .map(([step, r]) => `  ${step} (${r.agentId}): ${JSON.stringify(r.result)}`)
                .join('\n') +
              `\n  Temporal UI: ${url}`,
          );
          if (outcome.status !== 'COMPLETED') process.exitCode = 1;
        } finally {
          await client.connection.close();
        }
      },
    );

  task
    .command('status <id>')
    .description('a task by task id, request id or workflow id: its progress or outcome')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const env = loadConfig();
      const temporal = await connectTemporal(env);
      try {
        const view = await withPrisma(env, (prisma) => findTask({ prisma, temporal, env }, id));
        if (!view) throw taskNotFound(id);
        const steps =
          view.live?.progress?.steps ?? view.record?.subtasks.map((s) => ({ ...s, key: s.stepKey }));
        const error = view.live?.outcome?.error ?? view.record?.errorMessage;
        print(
          Boolean(opts.json),
          view,
          `task ${view.taskId}: ${view.status}${error ? ` — ${error}` : ''}\n` +
            (steps ?? []).map((s) => `  ${s.key} (${s.agentType}): ${s.status}`).join('\n') +
            `\n  Temporal UI: ${view.temporalUrl}` +
            (view.traceUrl ? `\n  trace:       ${view.traceUrl}` : '') +
            (view.warning ? `\n  note: ${view.warning}` : ''),
        );
      } finally {
        await temporal.connection.close();
      }
    });

  task
    .command('cancel <id>')
    .description('cancel a running task; it ends CANCELLED with the reason recorded')
    .action(async (id: string) => {
      const env = loadConfig();
      const temporal = await connectTemporal(env);
      try {
        const located = await withPrisma(env, (prisma) => locateTask({ prisma, temporal }, id));
        if (!located) throw taskNotFound(id);
        if (!(await cancelTask(temporal, located.workflowId))) {
          throw taskNotRunning(id, located.runStatus ?? located.record?.status ?? 'unknown');
        }
        process.stdout.write(`cancelling ${located.workflowId}\n`);
      } finally {
        await temporal.connection.close();
      }
    });

  registerTaskSteeringCommands(task);
}
