// The installer's configuration: the product's variables and the installer's own settings (their schema:
// src/stack-settings.ts), each validated — `prism stack` and the scratch stacks stop on a bad one, naming it.
import { ConfigError, parseConfig, rawEnvironment, type Env } from '../config.ts';
import { stackSchema } from '../stack-settings.ts';
import { problemsOf, type FieldProblem } from '../validation.ts';

export { stackSchema, type StackSettings } from '../stack-settings.ts';

/**
 * The installer's configuration: every variable of the product (it provisions them all) and its own, each
 * validated; a ConfigError names every bad one.
 */
export function parseStackConfig(raw: Record<string, string | undefined>): Env {
  const cleaned = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''));
  let env: Env | undefined;
  const problems: FieldProblem[] = [];
  try {
    env = parseConfig(cleaned, 'operator');
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(...e.problems);
  }
  const own = stackSchema.safeParse(cleaned, { reportInput: true });
  if (!own.success)
    problems.push(
      ...problemsOf(own.error.issues).map((p) => ({ field: p.field.split('.')[0]!, message: p.message })),
    );
  if (!env || problems.length > 0) throw new ConfigError(problems);
  return env;
}

let cached: Env | undefined;

/** The validated configuration of `prism stack` (and the scratch stacks): the product's and the installer's. */
export function loadStackConfig(): Env {
  return (cached ??= parseStackConfig(rawEnvironment()));
}
