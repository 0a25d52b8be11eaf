import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { loadDemoData } from '../provision/demo.ts';
import { provisionAll } from '../provision/index.ts';
import { consoleProgress } from '../progress.ts';

export function registerProvisionCommand(program: Command): void {
  program
    .command('provision')
    .description(
      'create Kafka topics, Weaviate collections, the InfluxDB bucket and roles; adds what is missing, never deletes',
    )
    .option(
      '--demo',
      'also load the demo data set (agents, constraints, process knowledge, an hour of sensor series)',
    )
    .option('--json', 'print what was created, updated and left unchanged as JSON')
    .action(async (opts: { demo?: boolean; json?: boolean }) => {
      const env = loadConfig();
      const progress = consoleProgress('provision');
      const summary = await provisionAll(env, progress);
      const demo = opts.demo ? await loadDemoData(env, progress) : undefined;
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ...summary, ...(demo ? { demo } : {}) }, null, 2)}\n`);
        return;
      }
      progress.step(
        `Kafka: ${summary.kafka.created.length} created, ${summary.kafka.updated.length} updated, ${summary.kafka.unchanged.length} unchanged; ` +
          `Weaviate: ${summary.weaviate.created.length} created, ${summary.weaviate.updated.length} updated, ${summary.weaviate.unchanged.length} unchanged; ` +
          `InfluxDB bucket ${summary.influx.bucket} ${summary.influx.action} (retention ${summary.influx.retention}); ` +
          `${summary.accessControl.roles} roles`,
      );
      if (demo)
        progress.step(
          `demo data: ${demo.agents} agents, ${demo.documents} documents, ${demo.points} sensor points`,
        );
    });
}
