// `prism agent run --type <TYPE>`: runs the reference agent of a type until SIGINT or SIGTERM.
import { Option, type Command } from 'commander';
import { defaultAgentId, runAgent, transports, type Transport } from '../agents/index.ts';
import { referenceAgents } from '../agents/reference/index.ts';
import { createAgentMetrics } from '../agents/metrics.ts';
import { loadConfig } from '../config.ts';
import { serveMetrics } from '../metrics.ts';
import { portArg } from './args.ts';
import { agentTypes, isAgentType, type AgentType } from '../task/index.ts';

function agentType(value: string): AgentType {
  const type = value.toUpperCase();
  if (!isAgentType(type)) {
    throw new Error(`--type "${value}" is unknown: use one of ${agentTypes.join(', ')}`);
  }
  return type;
}

export function registerAgentCommands(program: Command): void {
  const agent = program
    .command('agent')
    .description('the reference agents: MONITORING, PREDICTION, CONTROL, ANALYSIS');

  agent
    .command('run')
    .description(
      'run the reference agent of a type until SIGINT or SIGTERM (registers it, then takes commands)',
    )
    .requiredOption('--type <TYPE>', `the agent type: ${agentTypes.join(', ')}`)
    .addOption(
      new Option('--transport <transport>', 'how commands arrive: Kafka topics or a Temporal task queue')
        .choices(transports)
        .default('kafka'),
    )
    .option('--id <agentId>', 'the agent id (default <type>-agent-<hostname>)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port (/metrics)', portArg)
    .action(async (opts: { type: string; transport: Transport; id?: string; metricsPort?: number }) => {
      const type = agentType(opts.type);
      const env = loadConfig('agent');
      const metrics = createAgentMetrics();
      const server =
        opts.metricsPort === undefined
          ? null
          : await serveMetrics(metrics.registry, env.PRISM_BIND_ADDRESS, opts.metricsPort);
      const running = await runAgent({
        ...referenceAgents[type],
        transport: opts.transport,
        env,
        agentId: opts.id ?? defaultAgentId(type),
        metrics,
      });
      void running.done.finally(() => server?.close());
      process.stdout.write(
        `${type} agent ${running.agentId} ready (${opts.transport}: ${running.source}); Ctrl-C stops it\n`,
      );
      await running.done;
      process.stdout.write(`${type} agent ${running.agentId} stopped (OFFLINE)\n`);
    });
}
