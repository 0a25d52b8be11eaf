// Command-line values the task commands share, checked where they are read.
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { z } from 'zod';
import { decimal, wholeNumber } from '../config-fields.ts';
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

/**
 * A whole-number option from `min` (to `max`), written in decimal digits as the configuration's variables are
 * (src/config-fields.ts): Number() would also take "1.", "1e3", "0x10" and "" (as 0).
 */
export const wholeNumberArg =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (value: string): number =>
    checked(wholeNumber(min, max), value, range('a whole number', min, max));

/** A decimal option ("0.5", "30") from `min` (to `max`): no exponent, no sign, no hex. */
export const decimalArg =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (value: string): number =>
    checked(decimal(min, max), value, range('a number', min, max));

export const portArg = wholeNumberArg(1, 65535);

const range = (kind: string, min: number, max: number) =>
  max === Number.MAX_SAFE_INTEGER ? `${kind} of at least ${min}` : `${kind} from ${min} to ${max}`;

function checked(schema: z.ZodType<number, unknown>, value: string, expected: string): number {
  const parsed = schema.safeParse(value);
  // commander prints: option '--tasks <n>' argument '1e3' is invalid. <this>
  if (!parsed.success) throw new InvalidArgumentError(`Use ${expected}, in decimal digits.`);
  return parsed.data;
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
