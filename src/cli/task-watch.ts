// `prism task watch <id>`: a task's events as they happen, read from its Temporal history as
// GET /tasks/:id/events serves them (src/task/events.ts) — the same events, with the same ids.
import type { Command } from 'commander';
import { connectTemporal } from '../clients/temporal.ts';
import { loadConfig } from '../config.ts';
import { withPrisma } from '../db/prisma.ts';
import { PrismError } from '../errors.ts';
import { taskNotFound } from '../task/index.ts';
import {
  describeTaskEvent,
  parseLastEventId,
  runToWatch,
  watchRunEvents,
  type TaskEvent,
} from '../task/events.ts';
import { locateTask } from '../task/view.ts';
import { ValidationError } from '../validation.ts';

export function registerTaskWatchCommand(task: Command): void {
  task
    .command('watch <id>')
    .description(
      'print a task’s events as they happen (step started, dispatched, answered, approvals, ended); ' +
        'exits 0 when the task completed, 1 when it failed or was cancelled',
    )
    .option('--json', 'one JSON object per line')
    .option('--after <eventId>', 'only events after this id (resume)')
    .option('--run <runId>', 'follow this run of the task (default: the latest)')
    .action(async (id: string, opts: { json?: boolean; after?: string; run?: string }) => {
      if (opts.after !== undefined && parseLastEventId(opts.after) === undefined) {
        throw new ValidationError([
          { field: '--after', message: 'an event id: a non-negative integer, or one + .5' },
        ]);
      }
      const env = loadConfig();
      const temporal = await connectTemporal(env);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      try {
        const located = await withPrisma(env, (prisma) => locateTask({ prisma, temporal }, id));
        if (!located) throw taskNotFound(id);
        const run = await runToWatch(temporal, located.workflowId, opts.run);
        if (!run) {
          throw new PrismError(
            'TASK_NOT_FOUND',
            opts.run
              ? `task ${id} has no run ${opts.run}: leave out --run to follow its latest run`
              : `task ${id} has no run in Temporal (not started yet, or past the namespace's retention)`,
            { details: { id } },
          );
        }
        if (!opts.json) {
          process.stderr.write(`[watch] ${located.workflowId} run ${run.runId} (${run.status})\n`);
        }
        let ended: TaskEvent | undefined;
        try {
          for await (const event of watchRunEvents(temporal, located.workflowId, run.runId, {
            ...(opts.after !== undefined ? { after: Number(opts.after) } : {}),
            signal: stop.signal,
            // How the run ended decides the exit code, even when --after is past task.ended (not printed).
            onEnded: (event) => (ended = event),
          })) {
            process.stdout.write(`${opts.json ? JSON.stringify(event) : describeTaskEvent(event)}\n`);
          }
        } catch (err) {
          if (!stop.signal.aborted) throw err;
          process.stderr.write('[watch] stopped (the task goes on)\n');
          process.exitCode = 130;
          return;
        }
        const status = ended?.data.status;
        if (status !== 'COMPLETED') {
          const reason = ended
            ? `task ${id} ${String(status)}${ended.data.reason ? `: ${String(ended.data.reason)}` : ''}`
            : `task ${id}: its run ended without an end event`;
          process.stderr.write(`${reason}\n`);
          process.exitCode = 1;
        }
      } finally {
        process.off('SIGINT', onSignal);
        await temporal.connection.close();
      }
    });
}
