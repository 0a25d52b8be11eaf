// `prism task retry|approve|reject`: a new run of a task from a step, and a decision on a step that waits
// for approval (src/task/actions.ts, the same as the API's). Who asked or decided is `PRISM_OPERATOR`, else
// the OS user, as `cli:<name>`.
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { connectTemporal } from '../clients/temporal.ts';
import { loadConfig } from '../config.ts';
import { withPrisma } from '../db/prisma.ts';
import { decideStep, retryOptionProblems, retryTask } from '../task/actions.ts';
import { ValidationError } from '../validation.ts';

const operator = () => `cli:${process.env.PRISM_OPERATOR ?? userInfo().username}`;

function print(json: boolean, value: unknown, human: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human}\n`);
}

export function registerTaskSteeringCommands(task: Command): void {
  task
    .command('retry <id>')
    .description(
      'run a FAILED or CANCELLED task again from a step, reusing the answers of the steps that succeeded before it',
    )
    .option('--from-step <key>', 'the step to run again from (default: the first step that failed)')
    .option('--reason <text>', 'why (recorded in the history)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { fromStep?: string; reason?: string; json?: boolean }) => {
      // Checked as the API checks them, before anything connects: exit 2 naming the option.
      const requestedBy = operator();
      const problems = retryOptionProblems(
        { ...(opts.reason !== undefined ? { reason: opts.reason } : {}), requestedBy },
        { reason: '--reason', requestedBy: 'PRISM_OPERATOR (cli:<name>)' },
      );
      if (problems.length > 0) throw new ValidationError(problems, 'invalid retry');
      const env = loadConfig();
      const temporal = await connectTemporal(env);
      try {
        const retried = await withPrisma(env, (prisma) =>
          retryTask({ prisma, temporal, env }, id, {
            ...(opts.fromStep ? { fromStep: opts.fromStep } : {}),
            ...(opts.reason ? { reason: opts.reason } : {}),
            requestedBy,
          }),
        );
        print(
          Boolean(opts.json),
          retried,
          `task ${retried.taskId}: run ${retried.attempt} started from step "${retried.fromStep}"\n` +
            `  reused: ${retried.reused.join(', ') || '-'}\n  runs:   ${retried.rerun.join(', ')}\n` +
            `  Temporal UI: ${retried.temporalUrl}`,
        );
      } finally {
        await temporal.connection.close();
      }
    });

  for (const decision of ['approve', 'reject'] as const) {
    task
      .command(`${decision} <id>`)
      .description(
        decision === 'approve'
          ? 'approve a step that waits for approval: its command is sent'
          : 'reject a step that waits for approval: the task fails, or the step is skipped, as its plan says',
      )
      .requiredOption('--step <key>', 'the step waiting for approval (`main` for a single-step task)')
      .requiredOption('--reason <text>', 'why (recorded in the history)')
      .option('--json', 'print JSON')
      .action(async (id: string, opts: { step: string; reason: string; json?: boolean }) => {
        const env = loadConfig();
        const temporal = await connectTemporal(env);
        try {
          const decided = await withPrisma(env, (prisma) =>
            decideStep({ prisma, temporal }, id, decision, {
              stepKey: opts.step,
              reason: opts.reason,
              by: operator(),
            }),
          );
          print(
            Boolean(opts.json),
            decided,
            `task ${decided.taskId}, step "${decided.stepKey}": ${decided.decision} by ${decided.by} — ${decided.reason}`,
          );
        } finally {
          await temporal.connection.close();
        }
      });
  }
}
