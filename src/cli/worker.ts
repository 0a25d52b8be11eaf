import type { Command } from 'commander';
import { stopOnSignals } from '../agents/index.ts';
import { loadConfig } from '../config.ts';
import { startWorker } from '../worker/index.ts';
import { startMaintenanceWorker } from '../worker/maintenance.ts';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'run the task worker: the agent task flow on TEMPORAL_TASK_QUEUE, with the user.queries ingress, the agent-answer bridge and the alert handler',
    )
    .option('--no-ingress', 'do not consume user.queries')
    .option('--no-bridge', 'do not deliver agent answers from Kafka')
    .action(async (opts: { ingress: boolean; bridge: boolean }) => {
      const worker = await startWorker(loadConfig('worker'), {
        withIngress: opts.ingress,
        withBridge: opts.bridge,
      });
      stopOnSignals(worker);
      await worker.done;
    });

  program
    .command('maintenance-worker')
    .description(
      'run the maintenance worker: backups, restore drills, retention, sensor-rule scans and alert escalation on TEMPORAL_MAINTENANCE_TASK_QUEUE',
    )
    .action(async () => {
      const worker = await startMaintenanceWorker(loadConfig('maintenance'));
      stopOnSignals(worker);
      await worker.done;
    });
}
