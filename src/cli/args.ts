// Command-line values the task commands share, checked where they are read.
import { InvalidArgumentError } from 'commander';
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
