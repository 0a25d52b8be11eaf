// Command-line values the task commands share, checked where they are read.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { agentTypes, isAgentType, priorities, type AgentType, type Priority } from '../task/index.ts';

/** An agent type, in any case: one of the four of the spec. */
export function agentTypeArg(value: string): AgentType {
  const type = value.toUpperCase();
  if (!isAgentType(type)) throw new InvalidArgumentError(`use one of ${agentTypes.join(', ')}`);
  return type;
}

export function priorityArg(value: string): Priority {
  const priority = value.toUpperCase();
  if (!(priorities as readonly string[]).includes(priority))
    throw new InvalidArgumentError(`use one of ${priorities.join(', ')}`);
  return priority as Priority;
}

export function portArg(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new InvalidArgumentError('a TCP port, 1 to 65535');
  return port;
}

/**
 * `--topology single|cluster` (or PRISM_TOPOLOGY) on a command: the topology is a setting like any other, so
 * the command, and every process it starts, sees the one asked for (docs/scaling.md).
 */
export function withTopology(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--topology <topology>',
        'single: one of each service; cluster: every engine a cluster over PRISM_CLUSTER_MACHINES (docs/scaling.md)',
      )
        .choices(['single', 'cluster'])
        .env('PRISM_TOPOLOGY'),
    )
    .hook('preAction', (_cmd, action) => {
      const topology = action.opts<{ topology?: string }>().topology;
      if (topology) process.env.PRISM_TOPOLOGY = topology;
    });
}
