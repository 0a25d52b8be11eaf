// `prism backup schedule list|pause|resume|trigger`: the backup, retention and drill schedules in Temporal.
import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { ValidationError } from '../../validation.ts';
import { withTemporal } from './shared.ts';

const scheduleIds = { backup: 'backup', retention: 'backup-retention', drill: 'backup-drill' } as const;
type ScheduleName = keyof typeof scheduleIds;
type ScheduleVerb = 'pause' | 'resume' | 'trigger';

export function registerSchedule(backup: Command): void {
  const schedule = backup
    .command('schedule')
    .description(`the backup schedules (${Object.keys(scheduleIds).join(', ')}) in Temporal`);

  schedule
    .command('list')
    .description('the backup schedules: when, paused or not, the last and next runs')
    .option('--json', 'print JSON')
    .action(listSchedules);

  for (const [verb, description] of [
    ['pause', 'pause a backup schedule (no runs until resumed)'],
    ['resume', 'resume a paused backup schedule'],
    ['trigger', 'start a run of a backup schedule now'],
  ] as const) {
    schedule
      .command(`${verb} <name>`)
      .description(`${description}: ${Object.keys(scheduleIds).join(', ')}`)
      .action((name: string) => actOnSchedule(verb, name));
  }
}

async function listSchedules(opts: { json?: boolean }): Promise<void> {
  const env = loadConfig();
  await withTemporal(env, async (client) => {
    const rows = [];
    for (const [name, scheduleId] of Object.entries(scheduleIds)) {
      const d = await client.schedule.getHandle(scheduleId).describe();
      rows.push({
        name,
        scheduleId,
        paused: d.state.paused,
        note: d.state.note,
        next: d.info.nextActionTimes[0]?.toISOString() ?? null,
        last: d.info.recentActions.at(-1)?.takenAt.toISOString() ?? null,
      });
    }
    if (opts.json) process.stdout.write(`${JSON.stringify({ schedules: rows }, null, 2)}\n`);
    else
      for (const r of rows)
        process.stdout.write(
          `${r.name.padEnd(10)} ${r.paused ? 'PAUSED ' : 'active '} next ${r.next ?? '-'}  last ${r.last ?? '-'}\n  ${r.note}\n`,
        );
  });
}

async function actOnSchedule(verb: ScheduleVerb, name: string): Promise<void> {
  if (!(name in scheduleIds)) {
    throw new ValidationError(
      [
        {
          field: 'name',
          message: `unknown schedule "${name}": use ${Object.keys(scheduleIds).join(', ')}`,
        },
      ],
      'invalid argument',
    );
  }
  const env = loadConfig();
  await withTemporal(env, async (client) => {
    const handle = client.schedule.getHandle(scheduleIds[name as ScheduleName]);
    const by = `prism backup schedule ${verb}`;
    if (verb === 'pause') await handle.pause(by);
    else if (verb === 'resume') await handle.unpause(by);
    else await handle.trigger();
    process.stdout.write(`${verb === 'trigger' ? 'triggered' : `${verb}d`} schedule ${handle.scheduleId}\n`);
  });
}
