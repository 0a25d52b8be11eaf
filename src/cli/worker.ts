import type { Command } from 'commander';
import { stopOnSignals } from '../agents/index.ts';
import { loadConfig } from '../config.ts';
import { startWorker } from '../worker/index.ts';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'run the Temporal worker of the agent task flow, with the user.queries ingress and the agent-answer bridge',
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
}
