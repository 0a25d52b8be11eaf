import type { Command } from 'commander';
import { appStatus, stopApp, systemUp } from '../app/index.ts';
import { loadConfig, type Env } from '../config.ts';
import { clusterMachines, isCluster } from '../stack/topology.ts';
import { withTopology } from './args.ts';
import { dataRemovalPlan, stackDown, stackDownRemovingData } from '../stack/index.ts';
import { PrismError } from '../errors.ts';
import { confirmRemoval, withRemoveData, type RemoveDataFlags } from './remove-data.ts';
import { consoleProgress } from '../progress.ts';
import { ensureSecrets } from '../stack/secrets.ts';

/** Where the API answers: this machine, or on the cluster topology each machine. */
function apiUrls(env: Env): string {
  const hosts = isCluster(env) ? clusterMachines(env).map((m) => m.address) : [env.PRISM_BIND_ADDRESS];
  return hosts.map((h) => `http://${h}:${env.API_PORT}`).join(', ');
}

export function registerSystemCommands(program: Command): void {
  withTopology(program.command('up'))
    .description(
      'the whole system: services, migrations, provisioning, demo data, then the workers, agents and API in the background',
    )
    .option('--clean', 'start the services from empty data')
    .option('--no-demo', 'do not load the demo data set')
    .action(async (opts: { clean?: boolean; demo: boolean }) => {
      ensureSecrets();
      const env = loadConfig();
      const progress = consoleProgress('up');
      const started = Date.now();
      await systemUp(env, progress, { clean: opts.clean, demo: opts.demo });
      progress.step(`everything is up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
      process.stdout.write(
        `PRISM is running.\n  API:         ${apiUrls(env)} (OpenAPI at /docs)\n` +
          `  Temporal UI: ${env.TEMPORAL_UI_URL}\n  Prometheus:  ${env.PROMETHEUS_URL}\n` +
          `  Try: prism task submit --type MONITORING --query "check spindle temperature on cnc-02" --param machine=cnc-02 --param sensorType=spindle_temperature_c --param since=-1h --wait\n`,
      );
    });

  withRemoveData(withTopology(program.command('down')))
    .description('stop the workers, agents and API, then the services (data stays, unless --remove-data)')
    .option('--keep-stack', 'leave the services running')
    .action(async (opts: { keepStack?: boolean } & RemoveDataFlags) => {
      const env = loadConfig();
      const progress = consoleProgress('down');
      if (opts.removeData && opts.keepStack)
        throw new PrismError(
          'INVALID_INPUT',
          '--remove-data stops the services: it cannot go with --keep-stack',
        );
      // What --remove-data deletes is shown, and confirmed, before anything is stopped.
      const plan = opts.removeData ? await dataRemovalPlan(env) : undefined;
      if (plan) await confirmRemoval(plan.what, plan.where, opts);
      await stopApp(env, progress);
      if (plan) await stackDownRemovingData(env, plan, progress);
      else if (!opts.keepStack) await stackDown(env, progress);
    });

  withTopology(program.command('ps'))
    .description('the application processes started by `prism up`')
    .action(() => {
      for (const p of appStatus(loadConfig())) {
        process.stdout.write(
          `${p.name.padEnd(20)} ${p.pid === null ? 'stopped' : `pid ${p.pid}`}  ${p.logFile}\n`,
        );
      }
    });
}
