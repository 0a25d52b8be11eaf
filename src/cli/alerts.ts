// `prism alerts list|ack|resolve`: what an operator does with the alerts the alert handler keeps (the same
// as the API's /alerts routes, straight from the stores).
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { alertEnvelope, manualResolution } from '../alerts/event.ts';
import type { AlertState } from '../alerts/decide.ts';
import { AlertNotFiringError, AlertNotFoundError, createAlertStore } from '../alerts/store.ts';
import { createKafka } from '../clients/kafka.ts';
import { createRedis } from '../clients/redis.ts';
import { loadConfig, type Env } from '../config.ts';
import { createPublisher } from '../stores/kafka/producer.ts';
import { Topic } from '../stores/kafka/topics.ts';

async function withStore<T>(
  env: Env,
  work: (store: ReturnType<typeof createAlertStore>) => Promise<T>,
): Promise<T> {
  const redis = createRedis(env);
  try {
    return await work(createAlertStore(redis));
  } finally {
    redis.disconnect();
  }
}

function line(a: AlertState): string {
  const ack = a.acknowledgedBy ? ` (acknowledged by ${a.acknowledgedBy})` : '';
  const escalated = a.escalatedAt ? ' ESCALATED' : '';
  return `${a.status.padEnd(8)} ${a.severity.padEnd(8)} ${a.name} ${a.fingerprint}${escalated}${ack}\n  ${a.message}\n  since ${a.startsAt}, last change ${a.changedAt} (${a.lastChange ?? '-'})`;
}

const operator = () => process.env.PRISM_OPERATOR ?? userInfo().username;

export function registerAlertCommands(program: Command): void {
  const alerts = program
    .command('alerts')
    .description('the alerts of the monitoring flow: list, acknowledge, resolve');

  alerts
    .command('list')
    .description('firing alerts, the most recently changed first')
    .option('--all', 'resolved ones of the last week too')
    .option('--json', 'print JSON')
    .action(async (opts: { all?: boolean; json?: boolean }) => {
      const list = await withStore(loadConfig(), (store) => store.list(opts.all ? {} : { status: 'FIRING' }));
      if (opts.json) process.stdout.write(`${JSON.stringify({ alerts: list }, null, 2)}\n`);
      else process.stdout.write(list.length === 0 ? 'no alerts\n' : `${list.map(line).join('\n')}\n`);
    });

  alerts
    .command('ack <fingerprint>')
    .description('acknowledge a firing alert: not raised again unless it worsens, and not escalated')
    .option('--by <name>', 'who acknowledges (default $PRISM_OPERATOR or your user name)')
    .action(async (fingerprint: string, opts: { by?: string }) => {
      const alert = await withStore(loadConfig(), (store) =>
        store.acknowledge(fingerprint, opts.by ?? operator()),
      );
      process.stdout.write(`${line(alert)}\n`);
    });

  alerts
    .command('resolve <fingerprint>')
    .description('resolve a firing alert by hand (the alert queue gets a resolved entry)')
    .option('--reason <text>', 'why it is resolved')
    .option('--by <name>', 'who resolves (default $PRISM_OPERATOR or your user name)')
    .action(async (fingerprint: string, opts: { reason?: string; by?: string }) => {
      const env = loadConfig();
      const alert = await withStore(env, (store) => store.get(fingerprint));
      if (!alert) throw new AlertNotFoundError(fingerprint);
      if (alert.status !== 'FIRING') throw new AlertNotFiringError(fingerprint, 'resolved');
      const publisher = createPublisher(createKafka(env));
      await publisher.connect();
      try {
        const event = manualResolution(alert, opts.by ?? operator(), opts.reason);
        await publisher.publish(Topic.MonitoringAlerts, alertEnvelope(event), { key: fingerprint });
      } finally {
        await publisher.disconnect();
      }
      process.stdout.write(`resolving ${fingerprint}: the alert handler records it\n`);
    });
}
