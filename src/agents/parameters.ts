// Reading a command's parameters with a zod schema, failing with a message that names the parameter.
import type { z } from 'zod';
import type { AgentCommand } from '../task/schemas.ts';
import { describeIssues } from './issues.ts';

export class InvalidParametersError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidParametersError';
  }
}

/**
 * A task's parameters are shared by every step of its plan. Keys under the agent type in lower case
 * (`{ "machine": "cnc-7", "prediction": { "since": "-2h" } }`) apply to that type only, over the shared ones.
 */
export function effectiveParameters(command: AgentCommand): Record<string, unknown> {
  const own = command.parameters[command.agentType.toLowerCase()];
  const overrides = typeof own === 'object' && own !== null && !Array.isArray(own) ? own : {};
  return { ...command.parameters, ...overrides };
}

/** The command's parameters as the schema reads them. Throws InvalidParametersError naming each bad one. */
export function parseParameters<S extends z.ZodType>(command: AgentCommand, schema: S): z.output<S> {
  const result = schema.safeParse(effectiveParameters(command));
  if (result.success) return result.data;
  throw new InvalidParametersError(describeIssues('parameters', result.error.issues));
}
