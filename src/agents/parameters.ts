// Reading a command's parameters with a zod schema, failing with a message that names the parameter.
import type { z } from 'zod';
import type { AgentCommand } from '../task/index.ts';
import { problemsOf, ValidationError, type FieldProblem } from '../validation.ts';

/** A command whose parameters the agent cannot use: names each bad one (`parameters.machine: required`). */
export class InvalidParametersError extends ValidationError {
  constructor(problems: FieldProblem[]) {
    super(problems, 'invalid parameters', 'INVALID_PARAMETERS');
    this.name = 'InvalidParametersError';
    this.message = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
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
  const result = schema.safeParse(effectiveParameters(command), { reportInput: true });
  if (result.success) return result.data;
  throw new InvalidParametersError(problemsOf(result.error.issues, 'parameters'));
}
